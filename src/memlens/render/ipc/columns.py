"""The columns of the System V tables of ``memlens ipc``: lsipc's names (for ``-o``), the
default sets, ``-t``'s time columns, and the table they make."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from memlens.errors import UsageError
from memlens.models.record import NamedTuple
from memlens.render.ipc.words import Owner, Style, key_text, shm_status
from memlens.render.table import Column, layout
from memlens.render.text import safe, short

SHM, MSG, SEM = "shm", "msg", "sem"
KIND_NAMES = {SHM: "shared memory segments", MSG: "message queues", SEM: "semaphore sets"}


class Ctx(NamedTuple):
    style: Style
    owner: Owner
    group: Owner
    creators: Mapping[int, str] = {}  # cpid -> the creator's command line


Get = Callable[[Any, Ctx], str]  # a record (ShmSegment, MsgQueue, SemSet) -> its cell


class Spec(NamedTuple):
    title: str
    numeric: bool
    get: Get
    kinds: frozenset[str] = frozenset({SHM, MSG, SEM})


def _alloc(r: Any, c: Ctx) -> str:
    page = c.style.page_size
    return c.style.size(-(-r.size // page) * page)


def _creator(r: Any, c: Ctx) -> str:
    command = c.creators.get(r.cpid)
    return "-" if command is None else short(command)


def _when(attr: str) -> Get:
    return lambda r, c: c.style.when(getattr(r, attr))


def _num(attr: str) -> Get:
    return lambda r, c: str(getattr(r, attr))


_ALL = frozenset({SHM, MSG, SEM})
_S, _Q, _M = frozenset({SHM}), frozenset({MSG}), frozenset({SEM})

COLUMNS: dict[str, Spec] = {
    "KEY": Spec("key", False, lambda r, c: key_text(r.key)),
    "ID": Spec("id", True, lambda r, c: str(r[1])),  # shmid, msqid, semid
    "OWNER": Spec("owner", False, lambda r, c: safe(c.owner(r.uid))),
    "PERMS": Spec("perms", False, lambda r, c: c.style.perms(r.perms)),
    "CUID": Spec("cuid", True, _num("cuid")),
    "CUSER": Spec("cuser", False, lambda r, c: safe(c.owner(r.cuid))),
    "CGID": Spec("cgid", True, _num("cgid")),
    "CGROUP": Spec("cgroup", False, lambda r, c: safe(c.group(r.cgid))),
    "UID": Spec("uid", True, _num("uid")),
    "USER": Spec("user", False, lambda r, c: safe(c.owner(r.uid))),
    "GID": Spec("gid", True, _num("gid")),
    "GROUP": Spec("group", False, lambda r, c: safe(c.group(r.gid))),
    "CTIME": Spec("changed", False, _when("ctime")),
    "SIZE": Spec("size", True, lambda r, c: c.style.size(r.size), _S),
    "ALLOC": Spec("alloc", True, _alloc, _S),  # memlens: the size in whole pages
    "NATTCH": Spec("nattch", True, _num("nattch"), _S),
    "STATUS": Spec("status", False, lambda r, c: shm_status(r.perms) or "-", _S),
    "ATTACH": Spec("attached", False, _when("atime"), _S),
    "DETACH": Spec("detached", False, _when("dtime"), _S),
    "CPID": Spec("cpid", True, _num("cpid"), _S),
    "COMMAND": Spec("command", False, lambda r, c: _creator(r, c), _S),
    "LPID": Spec("lpid", True, _num("lpid"), _S),
    "RSS": Spec("RSS", True, lambda r, c: c.style.optional(r.rss), _S),  # memlens
    "SWAP": Spec("swap", True, lambda r, c: c.style.optional(r.swap), _S),  # memlens
    "USEDBYTES": Spec("used-bytes", True, lambda r, c: c.style.size(r.cbytes), _Q),
    "MSGS": Spec("messages", True, _num("qnum"), _Q),
    "SEND": Spec("sent", False, _when("stime"), _Q),
    "RECV": Spec("received", False, _when("rtime"), _Q),
    "LSPID": Spec("lspid", True, _num("lspid"), _Q),
    "LRPID": Spec("lrpid", True, _num("lrpid"), _Q),
    "NSEMS": Spec("nsems", True, _num("nsems"), _M),
    "OTIME": Spec("last-op", False, _when("otime"), _M),
}
ID_TITLES = {SHM: "shmid", MSG: "msqid", SEM: "semid"}

DEFAULT = {
    SHM: ("KEY", "ID", "OWNER", "PERMS", "SIZE", "ALLOC", "NATTCH", "STATUS", "CPID", "LPID",
          "RSS", "SWAP", "ATTACH", "CTIME"),
    MSG: ("KEY", "ID", "OWNER", "PERMS", "USEDBYTES", "MSGS", "LSPID", "LRPID", "SEND", "RECV"),
    SEM: ("KEY", "ID", "OWNER", "PERMS", "NSEMS", "OTIME", "CTIME"),
}  # fmt: skip
TIMES = {  # -t, as ipcs -t: who, and when it was last attached, detached, changed...
    SHM: ("KEY", "ID", "OWNER", "ATTACH", "DETACH", "CTIME"),
    MSG: ("KEY", "ID", "OWNER", "SEND", "RECV", "CTIME"),
    SEM: ("KEY", "ID", "OWNER", "OTIME", "CTIME"),
}


def parse_columns(text: str, kinds: Sequence[str]) -> tuple[str, ...]:
    """``-o KEY,ID,SIZE``: lsipc's column names (any case), each of which must apply to
    every System V table shown (``kinds``), as lsipc requires."""
    names = tuple(n.strip().upper() for n in text.split(",") if n.strip())
    if not names:
        raise UsageError("-o needs one or more column names, e.g. -o KEY,ID,SIZE")
    for name in names:
        spec = COLUMNS.get(name)
        if spec is None:
            raise UsageError(f"unknown column: {name!r} (known: {', '.join(COLUMNS)})")
        wrong = [KIND_NAMES[k] for k in kinds if k not in spec.kinds]
        if wrong:
            raise UsageError(
                f"column {name} does not apply to {' or '.join(wrong)} "
                "(choose the table with -m, -q or -s)"
            )
    return names


def names_for(kind: str, style: Style) -> tuple[str, ...]:
    if style.columns is not None:
        return style.columns
    return TIMES[kind] if style.times else DEFAULT[kind]


def table(kind: str, records: Sequence[Any], ctx: Ctx) -> str:
    """The table of one kind of System V object in the columns the style asks for."""
    names = names_for(kind, ctx.style)
    specs = [COLUMNS[n] for n in names]
    cols = [
        Column(ID_TITLES[kind] if n == "ID" else s.title, s.numeric)
        for n, s in zip(names, specs, strict=True)
    ]
    rows = [[s.get(r, ctx) for s in specs] for r in records]
    return layout(cols, rows, ctx.style.width)
