"""Leak verdicts over repeated live runs: every behaviour of tests/live/behaviours.py sampled
for 30 s at 0.5 s, as tests/live/test_verdicts.py does, RUNS times; prints each run's verdicts
and the naive deriv() alert, then the counts. Optionally saves the samples (JSON) for replay.

    .venv/bin/python bench/verdict_runs.py [RUNS] [--save DIR]
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.live.test_verdicts import EXPECTED, deriv, record

from memlens.analysis.series import analyse


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("runs", type=int, nargs="?", default=3)
    ap.add_argument("--save", type=Path)
    args = ap.parse_args()
    ours: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    naive: dict[str, int] = collections.Counter()
    for run in range(args.runs):
        recs = record(list(EXPECTED))
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            dump = {n: [list(s) for s in r.samples] for n, r in recs.items()}
            (args.save / f"run{run}.json").write_text(json.dumps(dump))
        for name, r in recs.items():
            a = analyse(r.samples, r.where)
            flagged = deriv(r.samples) > 0
            ours[name][a.verdict.value] += 1
            naive[name] += flagged
            top = a.where[0].group if a.where else "-"
            print(
                f"run {run} {name:11} {a.verdict.value:12} where {top:8} deriv>0 {flagged!s:5} "
                f"| {a.evidence} {list(a.notes)}",
                flush=True,
            )
    print("\nbehaviour   expected     verdicts over runs          naive deriv>0")
    for name, (verdict, _) in EXPECTED.items():
        got = ", ".join(f"{v} {c}" for v, c in ours[name].most_common())
        print(f"{name:11} {verdict.value:12} {got:27} {naive[name]}/{args.runs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
