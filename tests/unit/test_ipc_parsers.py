"""/proc/sysvipc/{shm,msg,sem} and the IPC limits, parsed from literals."""

from __future__ import annotations

import pytest
from tests.helpers import SYSVIPC_SHM as SHM

from memlens.errors import ParseError
from memlens.procfs.ipc_parsers import parse_ipc_limits, parse_sysvipc_msg, parse_sysvipc_sem
from memlens.procfs.system_parsers import parse_sysvipc_shm

MSG = (
    b"       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid  "
    b"    stime      rtime      ctime\n"
    b"1095648081          0   600          11          2 12661     0     0     0     0     0 "
    b"1795740890          0 1795740889\n"
)
SEM = (
    b"       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n"
    b"1095648083          0   600          1  1000  1000  1000  1000          0 1795740889\n"
    b"-559038737          1   666          3     0     0     0     0 1795740900 1795740889\n"
)


def test_shm_dest_and_locked_bits() -> None:
    live, dest = parse_sysvipc_shm(SHM)
    assert (live.key, live.shmid, live.nattch, live.rss, live.swap) == (
        0x414E4348,
        5,
        3,
        8 << 20,
        0,
    )
    assert not live.destroyed
    assert dest.destroyed and dest.perms & 0o777 == 0o600
    assert dest.swap == 4096


def test_msg_queue() -> None:
    (q,) = parse_sysvipc_msg(MSG)
    assert q.key == 0x414E4351
    assert (q.msqid, q.perms, q.cbytes, q.qnum, q.lspid, q.lrpid) == (0, 0o600, 11, 2, 12661, 0)
    assert (q.stime, q.rtime, q.ctime) == (1795740890, 0, 1795740889)


def test_sem_sets_with_negative_key() -> None:
    a, b = parse_sysvipc_sem(SEM)
    assert (a.semid, a.nsems, a.uid, a.otime) == (0, 1, 1000, 0)
    assert b.key == -559038737 and b.key & 0xFFFFFFFF == 0xDEADBEEF
    assert b.perms == 0o666 and b.otime == 1795740900


def test_empty_tables_have_only_a_header() -> None:
    assert parse_sysvipc_msg(MSG.split(b"\n")[0] + b"\n") == ()
    assert parse_sysvipc_sem(SEM.split(b"\n")[0] + b"\n") == ()


@pytest.mark.parametrize(
    "data, line",
    [
        (b"", 1),
        (SEM[:-1], 3),  # no final newline: cut short
        (SEM.replace(b"1000  1000  1000", b"1000  x  1000"), 2),
        (SEM.replace(b"      nsems", b""), 1),  # header without nsems
        (SEM + b"1 2 3\n", 4),
    ],
)
def test_malformed_tables_name_the_line(data: bytes, line: int) -> None:
    with pytest.raises(ParseError) as exc:
        parse_sysvipc_sem(data)
    assert exc.value.line == line


def test_limits_from_sysctl_files() -> None:
    limits = parse_ipc_limits(
        {
            "sys/kernel/shmmax": b"18446744073692774399\n",
            "sys/kernel/shmall": b"18446744073692774399\n",
            "sys/kernel/shmmni": b"4096\n",
            "sys/kernel/msgmax": b"8192\n",
            "sys/kernel/msgmnb": b"16384\n",
            "sys/kernel/msgmni": b"32000\n",
            "sys/kernel/sem": b"32000\t1024000000\t500\t32000\n",
            "sys/fs/mqueue/queues_max": b"256\n",
            "sys/fs/mqueue/msg_max": None,  # a kernel without POSIX mqueues
        }
    )
    assert limits.shmmax == 18446744073692774399 and limits.shmmni == 4096
    assert (limits.semmsl, limits.semmns, limits.semopm, limits.semmni) == (
        32000, 1024000000, 500, 32000,
    )  # fmt: skip
    assert limits.mq_queues_max == 256
    assert limits.mq_msg_max is None and limits.mq_msgsize_max is None


def test_bad_sem_limits() -> None:
    with pytest.raises(ParseError):
        parse_ipc_limits({"sys/kernel/sem": b"1 2 3\n"})
