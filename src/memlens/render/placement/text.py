"""memlens placement as text: per process, bytes per NUMA node by kind (numastat -p's
view), huge pages with the mappings holding them, KSM merging; then the machine's THP
settings and KSM savings."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from memlens.analysis.placement import KSM_RUN, ksm_saved, node_totals, thp_notes
from memlens.models.placement import KINDS, PlacementReport, ProcessPlacement
from memlens.render.table import Column, layout
from memlens.render.text import safe
from memlens.render.units import UNITS, count

Size = Callable[[int], str]


def _numa(p: ProcessPlacement, size: Size, width: int | None, maps: bool) -> list[str]:
    if p.numa is None:
        return []
    totals = node_totals(p.numa)
    everywhere = {k: sum(per[k] for per in totals.values()) for k in KINDS}
    rows = [
        [name, *(size(per[k]) for k in KINDS), size(sum(per.values()))]
        for name, per in [*((str(n), per) for n, per in totals.items()), ("all", everywhere)]
    ]
    cols = [Column("Node", True), *(Column(k.capitalize(), True) for k in KINDS)]
    table = layout([*cols, Column("Total", True)], rows, width)
    out = ["  pages per NUMA node (numa_maps):", _indent(table)]
    if maps:
        nodes = sorted(totals)
        mrows = [
            [f"{m.start:x}", m.policy, m.kind, *_on(m.nodes, nodes, size), safe(m.path)]
            for m in p.numa
            if m.nodes
        ]
        mcols = [Column("Start", False), Column("Policy", False), Column("Kind", False)]
        ncols = [Column(f"N{n}", True) for n in nodes]
        out.append(_indent(layout([*mcols, *ncols, Column("Mapping", False)], mrows, width)))
    return out


def _on(present: Mapping[int, int], nodes: list[int], size: Size) -> list[str]:
    return [size(present.get(n, 0)) for n in nodes]


def _indent(text: str) -> str:
    return "".join(f"    {line}\n" for line in text.splitlines()).rstrip("\n")


def _process(
    p: ProcessPlacement, r: PlacementReport, size: Size, width: int | None, maps: bool
) -> str:
    out = [f"process {p.pid}: {safe(p.command)}"]
    out.extend(_numa(p, size, width, maps))
    huge = ", ".join(f"{k} {size(v)}" for k, v in p.huge.items())
    out.append(f"  huge pages (smaps_rollup): {huge or '-'}")
    for h in p.huge_mappings:
        parts = [("AnonHugePages", h.anon_huge_pages), ("ShmemPmdMapped", h.shmem_pmd_mapped),
                 ("FilePmdMapped", h.file_pmd_mapped), ("hugetlb", h.hugetlb)]  # fmt: skip
        held = ", ".join(f"{name} {size(v)}" for name, v in parts if v)
        eligible = "" if h.thp_eligible is None else f" (THPeligible {h.thp_eligible})"
        out.append(f"    {h.start:x}-{h.end:x} {safe(h.path) or '[anon]'}: {held}{eligible}")
    if p.ksm is not None:
        k = p.ksm
        merged = (
            "-"
            if k.merging_pages is None
            else f"{count(k.merging_pages, 'page')} ({size(k.merging_pages * r.page_size)})"
        )
        line = f"  KSM: merging {merged}"
        profit = k.values.get("ksm_process_profit")
        if profit is not None:
            line += f", profit {size(profit)}"
        if k.mergeable is not None:
            line += f", mergeable {'yes' if k.mergeable else 'no'}"
        if k.merge_any is not None:
            line += f", merge_any {'yes' if k.merge_any else 'no'}"
        out.append(line)
    out.extend(f"  note: {n}" for n in p.notes)
    return "\n".join(out) + "\n"


def report_text(r: PlacementReport, units: str, width: int | None, maps: bool) -> str:
    size = UNITS[units]
    parts = [_process(p, r, size, width, maps) for p in r.processes]
    machine = []
    if r.thp:
        settings = ", ".join(f"{k} {v}" for k, v in r.thp.items() if "/" not in k)
        machine.append(f"THP: {settings}")
        machine.extend(f"  {n}" for n in thp_notes(r.thp))
    if r.ksm:
        run = r.ksm.get("run")
        state = KSM_RUN.get(run, str(run)) if run is not None else "?"
        saved = ksm_saved(r.ksm, r.page_size)
        machine.append(
            f"KSM: {state}; pages_shared {r.ksm.get('pages_shared', '-')}, pages_sharing "
            f"{r.ksm.get('pages_sharing', '-')} (saves {size(saved) if saved is not None else '-'})"
            + (
                f", general_profit {size(r.ksm['general_profit'])}"
                if "general_profit" in r.ksm
                else ""
            )
        )
    machine.extend(f"note: {n}" for n in r.notes)
    parts.append("\n".join(machine) + "\n")
    return "\n".join(parts)
