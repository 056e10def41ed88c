"""How ipcs and lsipc write the fields of IPC objects (keys, permissions, status, owners), for
the text and the JSON of ``memlens ipc``."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from memlens.analysis.ipc import IpcReport
from memlens.models.record import NamedTuple
from memlens.models.system import SHM_DEST, SHM_LOCKED
from memlens.render.units import Size, compact

Owner = Callable[[int], str]  # uid -> the user name to show (from the report)


def owner_of(report: IpcReport) -> Owner:
    """Names of the owners' uids as the machine that was read knows them (the number as text
    where it has none), as ipcs shows owners."""
    return lambda uid: report.owners.get(uid, str(uid))


def group_of(report: IpcReport) -> Owner:
    """Names of gids, as ``owner_of`` names uids."""
    return lambda gid: report.groups.get(gid, str(gid))


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


def perms_octal(mode: int) -> str:
    """ "0644": the permission bits in octal, as ``lsipc -P`` prints them (the SHM_DEST and
    SHM_LOCKED bits are the status, not permissions)."""
    return f"{mode & 0o777:04o}"


def _default_time(seconds: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))


def _short_time(seconds: int) -> str:
    """lsipc's short style: the time today, the month and day this year, else with the year."""
    then, now = time.localtime(seconds), time.localtime()
    if then.tm_year != now.tm_year:
        return time.strftime("%Y-%b%d", then)
    if then.tm_yday != now.tm_yday:
        return time.strftime("%b%d", then)
    return time.strftime("%H:%M", then)


def _full_time(seconds: int) -> str:
    """As ctime(3) and lsipc's full style: "Wed Dec  2 00:32:17 2026"."""
    return time.strftime("%a %b %e %H:%M:%S %Y", time.localtime(seconds))


def _iso_time(seconds: int) -> str:
    """ISO 8601 with the local offset, as lsipc's iso style: "2026-12-02T00:32:17+00:00"."""
    return datetime.fromtimestamp(seconds).astimezone().isoformat()


TIME_STYLES: dict[str | None, Callable[[int], str]] = {
    None: _default_time, "short": _short_time, "full": _full_time, "iso": _iso_time,
}  # fmt: skip


class Style(NamedTuple):
    """How ``memlens ipc`` writes values and which System V columns it shows."""

    size: Size = compact
    time_style: str | None = None  # --time-format: None (memlens's), short, full, iso
    numeric_perms: bool = False  # -P
    page_size: int = 4096
    width: int | None = None  # the terminal's, to cut lines to; None keeps them whole
    columns: tuple[str, ...] | None = None  # -o: lsipc's column names
    times: bool = False  # -t: the time columns

    def when(self, seconds: int) -> str:
        """A time of the tables, "-" for 0 (never)."""
        return "-" if seconds == 0 else TIME_STYLES[self.time_style](seconds)

    def perms(self, mode: int) -> str:
        return perms_octal(mode) if self.numeric_perms else perms_text(mode)

    def optional(self, value: int | None) -> str:
        return "-" if value is None else self.size(value)
