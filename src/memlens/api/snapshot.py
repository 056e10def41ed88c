"""``memlens snapshot``: capture the /proc files memlens reads into one archive, which every
command reads back with ``ProcRoot.open(path)``; with them the memory cgroup files and the
/sys files memlens reads (THP, KSM, NUMA nodes), under their own prefixes.

    from memlens import ProcRoot, snapshot
    report = snapshot(ProcRoot.live(), "host.tar.gz", pids=[1234])
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from memlens.errors import MemlensError, NoSuchCgroup
from memlens.procfs.root import ProcRoot

if TYPE_CHECKING:
    from memlens.procfs.capture import CaptureReport

LIVE_PROC = "/proc"


def snapshot(
    root: ProcRoot,
    output: str,
    pids: Iterable[int] | None = None,
    cgroup_root: str | None = None,
    note: Callable[[str], None] | None = None,
) -> CaptureReport:
    """Write the snapshot of ``pids`` (every process if None) and the system files to
    ``output`` (a .tar.gz); the report lists the processes captured and those that exited
    or could not be read meanwhile. ``note`` hears what could not be kept (a machine without
    a memory cgroup hierarchy)."""
    from memlens.procfs.capture import capture  # tarfile and friends: only this use case

    refused: dict[str, MemlensError] = {}
    cgroups = _cgroup_files(root, cgroup_root, note or (lambda _: None), refused)
    return capture(root, output, pids, cgroups, _sysfs_files(root), refused)


def script() -> str:
    """A POSIX sh script that writes the same snapshot on a machine without Python."""
    from memlens.procfs.capture_script import capture_script

    return capture_script()


def _reads_live_proc(root: ProcRoot) -> bool:
    return root.is_live and root.description == LIVE_PROC


def _cgroup_files(
    root: ProcRoot,
    cgroup_root: str | None,
    note: Callable[[str], None],
    refused: dict[str, MemlensError],
) -> dict[str, bytes] | None:
    """The memory cgroup files to keep: those below ``cgroup_root``; else those of a snapshot
    being copied, or the live hierarchy when /proc is live (a machine without one is said,
    not an error). Files refused go into ``refused``, by their path in the snapshot."""
    from memlens.procfs.archive import CGROUP_PREFIX
    from memlens.procfs.cgroupfs import LIVE_PATH, CgroupRoot, capture_files

    try:
        if cgroup_root is not None:
            cgroups = CgroupRoot.open(cgroup_root)
        elif root.manifest is not None:
            cgroups = CgroupRoot.for_proc_root(root, None)
        elif _reads_live_proc(root):
            cgroups = CgroupRoot.open(LIVE_PATH)
        else:
            return None
        errors: dict[str, MemlensError] = {}
        files = capture_files(cgroups, errors)
        refused.update((CGROUP_PREFIX + rel, exc) for rel, exc in errors.items())
        return files
    except NoSuchCgroup as exc:
        if cgroup_root is not None:
            raise
        if root.manifest is None:
            note(f"no cgroup files captured: {exc}")
    return None


def _sysfs_files(root: ProcRoot) -> dict[str, bytes] | None:
    """The /sys files memlens reads (THP, KSM, NUMA nodes): a snapshot's own when copying
    one, the live /sys when /proc is live."""
    from memlens.procfs.sysfs import SysRoot, capture_files

    if root.manifest is None and not _reads_live_proc(root):
        return None
    sysfs = SysRoot.for_proc_root(root)
    return None if sysfs is None else capture_files(sysfs)
