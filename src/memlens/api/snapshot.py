"""``memlens snapshot``: capture the /proc files memlens reads into one archive, which every
command reads back with ``ProcRoot.open(path)``.

    from memlens import ProcRoot, snapshot
    report = snapshot(ProcRoot.live(), "host.tar.gz", pids=[1234])
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from memlens.procfs.root import ProcRoot

if TYPE_CHECKING:
    from memlens.procfs.capture import CaptureReport


def snapshot(root: ProcRoot, output: str, pids: Iterable[int] | None = None) -> CaptureReport:
    """Write the snapshot of ``pids`` (every process if None) and the system files to
    ``output`` (a .tar.gz); the report lists the processes captured and those that exited
    or could not be read meanwhile."""
    from memlens.procfs.capture import capture  # tarfile and friends: only this use case

    return capture(root, output, pids)
