"""How ipcs and lsipc write the fields of IPC objects (keys, permissions, status, owners), for
the text and the JSON of ``memlens ipc``."""

from __future__ import annotations

from collections.abc import Callable

from memlens.analysis.ipc import IpcReport
from memlens.models.system import SHM_DEST, SHM_LOCKED

Owner = Callable[[int], str]  # uid -> the user name to show (from the report)


def owner_of(report: IpcReport) -> Owner:
    """Names of the owners' uids as the machine that was read knows them (the number as text
    where it has none), as ipcs shows owners."""
    return lambda uid: report.owners.get(uid, str(uid))


def perms_text(mode: int) -> str:
    """ "rw-r-----": the permission bits as lsipc prints them (ipcs -m prints the octal)."""
    bits = "rwxrwxrwx"
    return "".join(ch if mode & (0o400 >> i) else "-" for i, ch in enumerate(bits))


def key_text(key: int) -> str:
    """The key in hex, as ipcs prints a key_t (a negative key as its 32-bit pattern)."""
    return f"0x{key & 0xFFFFFFFF:08x}"


def shm_status(perms: int) -> str | None:
    """lsipc's STATUS: "dest" after IPC_RMID while attached, "locked" after SHM_LOCK."""
    words = [w for bit, w in ((SHM_DEST, "dest"), (SHM_LOCKED, "locked")) if perms & bit]
    return ",".join(words) or None
