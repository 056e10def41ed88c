"""/proc/kpageflags, opened for reads at offsets: one u64 of KPF_* flags per page frame
(Documentation/admin-guide/mm/pagemap.rst; include/uapi/linux/kernel-page-flags.h). Root only
(mode 0400), like kpagecount."""

from __future__ import annotations

from contextlib import AbstractContextManager

from memlens.procfs.pagemap import Read, kpage_file
from memlens.procfs.root import ProcRoot


def kpageflags_of(root: ProcRoot) -> AbstractContextManager[Read]:
    """/proc/kpageflags, open for reads at offsets; PagesUnavailable when it cannot be."""
    return kpage_file(root, "kpageflags")
