"""``memlens layout --json``: addresses as integers, sizes in bytes, null where hidden."""

from __future__ import annotations

import json
from typing import Any, TextIO

from memlens.analysis.allocator import MMAP_THRESHOLD
from memlens.analysis.layout import Layout
from memlens.render.text import json_text


def _text(value: str | None) -> str | None:
    return None if value is None else json_text(value)


def document(layout: Layout) -> dict[str, Any]:
    h = layout.header
    return {
        "header": {
            "pid": h.pid,
            "command": json_text(h.command),
            "executable": _text(h.executable),
            "elf_class": h.elf_class,
            "elf_class_source": h.elf_class_source,
            "machine": h.machine,
            "page_size": h.page_size,
            "address_space": h.address_space,
            "aslr_sysctl": h.aslr_sysctl,
            "personality": h.personality,
            "aslr": h.aslr,
            "aslr_reason": h.aslr_reason,
            "layout_mode": h.layout_mode,
            "layout_reason": h.layout_reason,
        },
        "mm": dict(layout.mm),
        "mm_notes": dict(layout.mm_notes),
        "regions": [
            {
                "start": r.start,
                "end": r.end,
                "role": str(r.role),
                "object": _text(r.object),
                "segment": r.segment,
                "label": json_text(r.label),
                "perms": r.perms,
                "vma_start": r.vma_start,
                "vma_end": r.vma_end,
                "size": r.size,
                "rss": r.rss,
                "pss": r.pss,
                "swap": r.swap,
                "flags": list(r.flags),
            }
            for r in layout.regions
        ],
        "sections": [
            {
                "name": json_text(s.name),
                "object": json_text(s.object),
                "start": s.start,
                "end": s.end,
                "vmas": list(s.vmas),
            }
            for s in layout.sections
        ],
        "objects": [
            {
                "path": json_text(p.obj.path),
                "executable": p.obj.is_executable,
                "elf_class": p.obj.ident.elf_class if p.obj.ident else None,
                "bias": p.bias,
                "bias_source": p.bias_source,
                "end_bss": p.end_bss,
                "bss": [list(b) for b in p.bss],
                "sections": len(p.obj.image.sections) if p.obj.image else None,
                "read_via": p.obj.via,
                "problem": _text(p.obj.problem),
            }
            for p in layout.objects
        ],
        "allocator": _allocator(layout),
        "faults": layout.faults._asdict(),
        "status": dict(layout.status),
        "auxv": None
        if layout.auxv is None
        else {
            "word_size": layout.auxv.word_size,
            "entries": [e._asdict() for e in layout.auxv.entries],
        },
        "notes": [json_text(n) for n in layout.notes],
    }


def _allocator(layout: Layout) -> dict[str, Any] | None:
    a = layout.allocator
    if a is None:
        return None
    walk = a.heap_walk
    return a._asdict() | {
        "source": _text(a.source),
        "others": [json_text(o) for o in a.others],
        "mmap_threshold_start": MMAP_THRESHOLD,
        "heap_walk": None if walk is None else walk._asdict(),
    }


def render(layout: Layout, out: TextIO) -> None:
    json.dump(document(layout), out, indent=1)
    out.write("\n")
