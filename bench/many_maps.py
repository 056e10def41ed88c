"""Load generator: a process with a chosen number of distinct memory mappings (VMAs).

Usage::

    python bench/many_maps.py --count 10000

Once every mapping is in place the script prints its PID on stdout (one line, flushed) and
sleeps until it gets SIGINT, SIGTERM or SIGHUP, then removes its temporary file and exits.
If stdin is a pipe it also exits when the pipe reaches EOF.  With --die-with-parent the
kernel SIGKILLs it when its parent exits, even while it is SIGSTOPped (a temporary file left
behind that way is removed by the next run).  Progress and warnings go to stderr; stdout
carries only the PID.

How the mappings are made (Linux only, standard library only):

* One PROT_NONE region is reserved up front, with a guard page at each end, so that nothing
  outside the region can merge with the mappings inside it.
* The anonymous part is made read-write, some pages are written to (so Rss, Pss and
  Private_Dirty are non-zero), then every odd slot is mprotect()ed to read-only.  Neighbouring
  slots therefore differ in protection and the kernel cannot merge them: each slot is a VMA.
* The last few slots are file mappings (MAP_FIXED over the reservation) of a temporary file:
  shared read-only, private read-only and private read-write (written, so copy-on-write),
  each from a non-contiguous file offset so that neighbours cannot merge either.

The script checks /proc/self/maps afterwards and warns on stderr if the region does not hold
exactly the requested number of VMAs.
"""

import argparse
import contextlib
import ctypes
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from loadlib import (
    END_SIGNALS,
    MADV_NOHUGEPAGE,
    MAP_ANONYMOUS,
    MAP_NORESERVE,
    MAP_PRIVATE,
    PAGE_SIZE,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
    Libc,
    map_file_slot,
    owner_pid,
    pid_alive,
    stdin_is_pipe,
    write_pages,
)

DEFAULT_COUNT = 10_000
DEFAULT_FILE_MAPS = 12
DEFAULT_PAGES = 1
DEFAULT_TOUCH_EVERY = 3


class MappingError(RuntimeError):
    """A system call failed while building the mappings."""


@dataclass(frozen=True)
class Layout:
    """Where the generated mappings live in this process's address space."""

    base: int  # first byte of the first generated mapping (after the leading guard page)
    end: int  # one past the last byte of the last generated mapping
    anon_maps: int
    file_maps: int
    pages_per_map: int
    touched_pages: int
    file_path: str | None

    @property
    def count(self) -> int:
        return self.anon_maps + self.file_maps


def _max_map_count() -> int | None:
    try:
        with open("/proc/sys/vm/max_map_count") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


DATA_FILE_PREFIX = "memlens-many-maps-"
DATA_FILE_SUFFIX = ".dat"


def _remove_stale_data_files() -> None:
    """Remove data files left by earlier runs that were SIGKILLed (their PID is gone)."""
    directory = tempfile.gettempdir()
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if not name.endswith(DATA_FILE_SUFFIX):
            continue
        owner = owner_pid(name, DATA_FILE_PREFIX)
        if owner is not None and not pid_alive(owner):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(directory, name))


def _make_data_file(file_maps: int, pages: int) -> tuple[int, str]:
    """Create a temporary file big enough for every file mapping; return (fd, path)."""
    _remove_stale_data_files()
    fd, path = tempfile.mkstemp(prefix=f"{DATA_FILE_PREFIX}{os.getpid()}-", suffix=DATA_FILE_SUFFIX)
    try:
        stride = (pages + 1) * PAGE_SIZE
        write_pages(fd, file_maps * (pages + 1))
        os.fsync(fd)
        if os.fstat(fd).st_size < file_maps * stride:
            raise MappingError(f"short write to {path}")
    except BaseException:
        os.close(fd)
        os.unlink(path)
        raise
    return fd, path


def create_mappings(
    count: int = DEFAULT_COUNT,
    *,
    file_maps: int = DEFAULT_FILE_MAPS,
    pages: int = DEFAULT_PAGES,
    touch_every: int = DEFAULT_TOUCH_EVERY,
) -> Layout:
    """Create ``count`` distinct VMAs in this process and return where they are.

    ``file_maps`` of them are file mappings of a temporary file (the caller should remove
    ``Layout.file_path`` when done); the rest are anonymous.  Each mapping is ``pages`` pages
    long.  Every ``touch_every``-th anonymous mapping is written to (0 touches none).
    The mappings stay until the process exits.
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    if pages < 1:
        raise ValueError("pages must be at least 1")
    if touch_every < 0:
        raise ValueError("touch_every must not be negative")
    file_maps = max(0, min(file_maps, count))
    anon_maps = count - file_maps
    limit = _max_map_count()
    if limit is not None and count + 1000 > limit:
        raise MappingError(
            f"{count} mappings is too close to vm.max_map_count ({limit}); "
            "lower --count or raise the sysctl"
        )

    libc = Libc()
    slot = pages * PAGE_SIZE
    total = (count + 2) * slot  # one guard slot at each end
    region = libc.mmap(None, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
    base = region + slot
    end = base + count * slot

    touched = 0
    if anon_maps:
        anon_len = anon_maps * slot
        libc.mprotect(base, anon_len, PROT_READ | PROT_WRITE)
        libc.madvise(base, anon_len, MADV_NOHUGEPAGE)  # best effort: 4 KiB pages only
        if touch_every:
            for i in range(0, anon_maps, touch_every):
                start = base + i * slot
                for p in range(pages):
                    ctypes.memset(start + p * PAGE_SIZE, 0x5A, 1)
                    touched += 1
        for i in range(1, anon_maps, 2):
            libc.mprotect(base + i * slot, slot, PROT_READ)

    path: str | None = None
    if file_maps:
        fd, path = _make_data_file(file_maps, pages)
        try:
            file_base = base + anon_maps * slot
            for i in range(file_maps):
                addr = file_base + i * slot
                offset = i * (pages + 1) * PAGE_SIZE  # leave a hole so offsets never line up
                # Shared read-only, private read-only, private copy-on-write in turn.
                map_file_slot(libc, addr, pages, fd, offset, i % 3)
                touched += pages
        except BaseException:
            os.unlink(path)
            raise
        finally:
            os.close(fd)  # the mappings keep the file open

    return Layout(
        base=base,
        end=end,
        anon_maps=anon_maps,
        file_maps=file_maps,
        pages_per_map=pages,
        touched_pages=touched,
        file_path=path,
    )


def _maps_ranges(pid: int | str = "self") -> Iterator[tuple[int, int]]:
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            start, _, rest = line.partition("-")
            stop = rest.split(" ", 1)[0]
            yield int(start, 16), int(stop, 16)


def count_vmas_in(layout: Layout) -> int:
    """How many VMAs of this process lie inside the generated region."""
    return sum(1 for s, e in _maps_ranges() if s >= layout.base and e <= layout.end)


def _wait_for_end() -> int:
    """Wait until SIGINT, SIGTERM or SIGHUP arrives (or stdin, if a pipe, reaches EOF).

    The signals are blocked (see main), so they are taken here by sigwait() rather than by
    handlers: a second signal cannot interrupt the clean-up that follows the first.
    """
    if stdin_is_pipe():
        main_thread = threading.get_ident()

        def watch_stdin() -> None:
            with contextlib.suppress(OSError):
                while os.read(0, 4096):
                    pass
            signal.pthread_kill(main_thread, signal.SIGHUP)

        threading.Thread(target=watch_stdin, name="stdin-watch", daemon=True).start()
    return signal.sigwait(END_SIGNALS)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Create a process with many distinct mappings, print its PID, then sleep.",
    )
    parser.add_argument(
        "--count",
        type=int,
        default=DEFAULT_COUNT,
        help=f"number of distinct mappings to create (default {DEFAULT_COUNT})",
    )
    parser.add_argument(
        "--file-maps",
        type=int,
        default=DEFAULT_FILE_MAPS,
        help=f"how many of them are file mappings (default {DEFAULT_FILE_MAPS})",
    )
    parser.add_argument(
        "--pages",
        type=int,
        default=DEFAULT_PAGES,
        help=f"pages per mapping (default {DEFAULT_PAGES})",
    )
    parser.add_argument(
        "--touch-every",
        type=int,
        default=DEFAULT_TOUCH_EVERY,
        help="write to every Nth anonymous mapping so it is resident; 0 for none "
        f"(default {DEFAULT_TOUCH_EVERY})",
    )
    parser.add_argument(
        "--die-with-parent",
        action="store_true",
        help="ask the kernel to SIGKILL this process when its parent exits",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Blocked for the life of the process (threads inherit the mask); _wait_for_end takes them.
    signal.pthread_sigmask(signal.SIG_BLOCK, END_SIGNALS)
    if args.die_with_parent:
        # SIGKILL rather than SIGTERM: it also ends the process while it is SIGSTOPped.
        Libc().set_parent_death_signal(signal.SIGKILL)

    layout: Layout | None = None
    try:
        try:
            layout = create_mappings(
                args.count,
                file_maps=args.file_maps,
                pages=args.pages,
                touch_every=args.touch_every,
            )
        except (MappingError, OSError, ValueError) as exc:
            print(f"many_maps: {exc}", file=sys.stderr)
            return 1
        found = count_vmas_in(layout)
        if found != layout.count:
            print(
                f"many_maps: warning: asked for {layout.count} mappings, "
                f"the kernel shows {found} in the region",
                file=sys.stderr,
            )
        print(
            f"many_maps: pid {os.getpid()}: {layout.count} mappings "
            f"({layout.anon_maps} anonymous, {layout.file_maps} file), "
            f"{layout.touched_pages} pages touched",
            file=sys.stderr,
        )
        print(os.getpid(), flush=True)
        _wait_for_end()
    finally:
        if layout is not None and layout.file_path is not None:
            with contextlib.suppress(OSError):
                os.unlink(layout.file_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
