"""The lessons on paging: ``bss`` (demand paging and the zero page), ``faults`` (minor and
major faults, read-ahead) and ``sizes`` (VSS, RSS, PSS and USS on one example)."""

from __future__ import annotations

import os
import tempfile

from memlens.api.demo import Lab, Run, change
from memlens.errors import LessonUnsupported
from memlens.models.demo import COUNT, ID, Lesson

KIB, MIB, GIB = 1 << 10, 1 << 20, 1 << 30


def bss(lab: Lab) -> None:
    """Reserve 1 GiB, write the first 10 %, read the next 10 %."""
    child = lab.start()
    size, part = GIB, GIB // 10
    before = lab.usage(child.pid)
    addr = child.do("reserve", name="bss", size=size)["addr"]
    reserved = lab.usage(child.pid)
    lab.add("reserved", size)
    lab.add("vss_growth", change(reserved.vss, before.vss))
    lab.add("rss_growth_reserve", change(reserved.rss, before.rss))
    child.do("write", name="bss", size=part)
    written = lab.usage(child.pid)
    after_write = lab.vma(child.pid, addr)["rss"]
    lab.add("written", part)
    lab.add("vma_rss_after_write", after_write, source="maps")
    lab.add("rss_growth_write", change(written.rss, reserved.rss))
    lab.add("minflt_write", change(written.minflt, reserved.minflt), COUNT)
    lab.add("pages_written", part // lab.root.machine.page_size, COUNT, "experiment")
    child.do("read", name="bss", offset=part, size=part)
    read = lab.usage(child.pid)
    lab.add("read", part)
    lab.add("vma_rss_after_read", lab.vma(child.pid, addr)["rss"], source="maps")
    lab.add("rss_growth_read", change(read.rss, written.rss))
    lab.add("minflt_read", change(read.minflt, written.minflt), COUNT)


def _folders() -> list[str]:
    """Where the lesson's file may go: TMPDIR (or /tmp), /var/tmp, the working directory."""
    seen: list[str] = []
    for folder in (tempfile.gettempdir(), "/var/tmp", os.getcwd()):
        if folder not in seen and os.access(folder, os.W_OK):
            seen.append(folder)
    return seen


def faults(lab: Lab) -> None:
    """Touch 64 MiB of anonymous memory, then read a 64 MiB file whose pages were dropped
    from the page cache, once with read-ahead and once without (MADV_RANDOM)."""
    child = lab.start()
    size, page = 64 * MIB, lab.root.machine.page_size
    lab.add("pages", size // page, COUNT, "experiment")
    child.do("reserve", name="anon", size=size)
    a = lab.usage(child.pid)
    child.do("write", name="anon")
    b = lab.usage(child.pid)
    lab.add("minflt_anon", change(b.minflt, a.minflt), COUNT)
    lab.add("majflt_anon", b.majflt - a.majflt, COUNT)
    tried = []
    for folder in _folders():
        made = child.do("file_make", name=folder, size=size, folder=folder)
        first = child.do("file_read", name=folder)
        if first["cached_before"] == 0:
            break
        tried.append(f"{made['path']} ({first['cached_before']} pages stayed cached)")
    else:
        raise LessonUnsupported(
            "the page cache of the lesson's own file could not be dropped (tmpfs?): "
            + "; ".join(tried)
        )
    lab.add("file", made["path"], "text", "experiment")
    for how, random_access in (("seq", False), ("random", True)):
        before = lab.usage(child.pid)
        done = child.do("file_read", name=folder, random_access=random_access)
        after = lab.usage(child.pid)
        lab.add(f"cached_before_{how}", done["cached_before"], COUNT, "experiment")
        lab.add(f"cached_after_{how}", done["cached_after"], COUNT, "experiment")
        lab.add(f"majflt_{how}", after.majflt - before.majflt, COUNT)
        lab.add(f"minflt_{how}", change(after.minflt, before.minflt), COUNT)


def sizes(lab: Lab) -> None:
    """One process with 32 MiB shared with a child (MAP_SHARED, both touch it), then 32 MiB
    of its own and 256 MiB reserved, never touched."""
    child = lab.start()
    child.do("reserve", name="shared", size=32 * MIB, shared=True)
    child.do("write", name="shared")
    lab.forked(child.do("fork"))
    child.in_child("read", name="shared")
    child.do("reserve", name="private", size=32 * MIB)
    child.do("write", name="private")
    child.do("reserve", name="untouched", size=256 * MIB)
    for key, part in (("shared", 32 * MIB), ("private", 32 * MIB), ("untouched", 256 * MIB)):
        lab.add(key, part, source="experiment")
    u = lab.usage(child.pid)
    for field in ("vss", "rss", "pss", "uss"):
        lab.add(field, getattr(u, field))
    lab.add("vss_minus_rss", change(u.vss, u.rss))
    lab.add("rss_minus_uss", change(u.rss, u.uss))
    lab.add("pss_minus_uss", change(u.pss, u.uss))
    lab.add("pid", child.pid, ID, "experiment")


LESSONS: tuple[tuple[Lesson, Run], ...] = (
    (Lesson("bss", ("top", "maps")), bss),
    (Lesson("faults", ("top", "maps")), faults),
    (Lesson("sizes", ("top", "shared")), sizes),
)
