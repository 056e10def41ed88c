"""/proc/kpageflags, opened for reads at offsets: one u64 of KPF_* flags per page frame
(Documentation/admin-guide/mm/pagemap.rst; include/uapi/linux/kernel-page-flags.h). Root only
(mode 0400), like kpagecount."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager

from memlens.errors import AccessDenied, PagesUnavailable, ReadError
from memlens.procfs.pagemap import Read
from memlens.procfs.root import ProcRoot, translate


@contextmanager
def kpageflags_of(root: ProcRoot) -> Iterator[Read]:
    """/proc/kpageflags, open; PagesUnavailable (with the reason) when it cannot be."""
    try:
        fd = root.open_fd("kpageflags")
    except AccessDenied:
        raise PagesUnavailable("/proc/kpageflags is readable by root only") from None
    except ReadError as exc:
        if exc.errno != errno.ENOENT:
            raise PagesUnavailable(f"/proc/kpageflags: {os.strerror(exc.errno or 0)}") from None
        where = "a snapshot" if root.manifest is not None else root.description
        raise PagesUnavailable(f"{where} has no kpageflags (a live /proc is needed)") from None
    path = root.shown("kpageflags")

    def read(length: int, offset: int) -> bytes:
        try:
            return os.pread(fd, length, offset)
        except OSError as exc:
            raise translate(exc, path) from None

    try:
        yield read
    finally:
        os.close(fd)
