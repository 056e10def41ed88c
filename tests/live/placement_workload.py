"""A process with huge pages and KSM-mergeable pages, for memlens placement's live tests.

    python placement_workload.py --thp 4M --ksm 256 --anon 16M

--thp SIZE maps SIZE bytes aligned to 2 MiB, asks for huge pages (MADV_HUGEPAGE) and touches
them; --ksm N maps N pages, fills each with the same bytes and marks them MADV_MERGEABLE;
--anon SIZE maps and touches SIZE bytes of ordinary anonymous memory. Prints one JSON line
({"pid", "thp", "ksm", "anon"}: the regions' start addresses) and waits until stdin closes.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import json
import mmap
import os
import sys

PAGE = mmap.PAGESIZE
HUGE = 2 << 20
PRIVATE = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS  # KSM merges private anonymous pages only
MADV_MERGEABLE, MADV_HUGEPAGE = 12, 14
libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]


def size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20}
    return int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text)


def address(m: mmap.mmap) -> int:
    return ctypes.addressof(ctypes.c_char.from_buffer(m))


def madvise(addr: int, length: int, advice: int) -> None:
    if libc.madvise(addr, length, advice) != 0:
        raise OSError(ctypes.get_errno(), f"madvise {advice}")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--thp", type=size, default=0)
    p.add_argument("--ksm", type=int, default=0)
    p.add_argument("--anon", type=size, default=0)
    args = p.parse_args()
    keep: list[mmap.mmap] = []
    info: dict[str, int | None] = {"pid": os.getpid(), "thp": None, "ksm": None, "anon": None}
    if args.thp:
        region = mmap.mmap(-1, args.thp + HUGE, flags=PRIVATE)  # room to align to 2 MiB
        keep.append(region)
        start = (address(region) + HUGE - 1) & ~(HUGE - 1)
        madvise(start, args.thp, MADV_HUGEPAGE)
        ctypes.memset(start, 1, args.thp)
        info["thp"] = start
    if args.ksm:
        region = mmap.mmap(-1, args.ksm * PAGE, flags=PRIVATE)
        keep.append(region)
        region.write(b"memlens-ksm-page" * (args.ksm * PAGE // 16))
        madvise(address(region), args.ksm * PAGE, MADV_MERGEABLE)
        info["ksm"] = address(region)
    if args.anon:
        region = mmap.mmap(-1, args.anon, flags=PRIVATE)
        keep.append(region)
        ctypes.memset(address(region), 2, args.anon)
        info["anon"] = address(region)
    print(json.dumps(info), flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
