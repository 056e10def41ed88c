"""The sampler over damaged copies of a captured tree, changed between polls as a live /proc
changes: every poll returns records, and a series that cannot go on ends with a reason; never
a traceback, never a read outside the tree."""

from __future__ import annotations

import random
import re
import shutil
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.live.test_fuzz_trees import MUTATIONS, SECRET, _damage

from memlens.analysis.where import where_groups
from memlens.api.sampler import Sampler, Selection
from memlens.procfs.root import ProcRoot

SOURCE = Path(__file__).parent.parent / "data" / "trees" / "sysv_memfd"
PID_FILES = sorted(
    str(p.relative_to(SOURCE))
    for p in SOURCE.glob("[0-9]*/*")
    if p.is_file() and p.name in ("stat", "status", "smaps_rollup", "smaps", "maps", "cmdline")
)


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    damage=st.lists(
        st.tuples(st.sampled_from(PID_FILES), st.sampled_from(MUTATIONS)), min_size=1, max_size=3
    ),
    seed=st.integers(0, 2**32),
)
def test_damage_between_polls_ends_series_with_a_reason(
    tmp_path_factory: object, damage: list[tuple[str, str]], seed: int
) -> None:
    work = Path(tmp_path_factory.mktemp("fuzz-sampler"))  # type: ignore[attr-defined]
    secret = work / "outside"
    secret.write_text(SECRET + "\n")
    tree = work / "proc"
    shutil.copytree(SOURCE, tree, ignore=shutil.ignore_patterns("manifest.json", "links.json"))
    rng = random.Random(seed)
    root = ProcRoot.live(str(tree))  # a directory without a manifest: read as a live /proc
    with Sampler(root, Selection(pattern=re.compile("")), where=where_groups, where_every=1) as s:
        first = s.poll()
        watched = {(t.pid, t.start_time) for t in first.started}
        assert watched, "the undamaged tree has processes to watch"
        for rel, how in damage:
            if (tree / rel).is_file():
                _damage(tree, rel, how, rng, secret)
        ticks = [s.poll(), s.poll()]
    for tick in [first, *ticks]:
        for end in tick.ended:
            assert end.reason in ("exited", "zombie") or end.reason.startswith("unreadable: ")
            assert SECRET not in end.reason
        for where in tick.where:
            assert all(SECRET not in g.name for g in where.groups)
    ended = {(e.pid, e.start_time) for t in ticks for e in t.ended}
    # A changed start time is another process with that pid: a new target, a new series.
    new = {(t.pid, t.start_time) for tick in ticks for t in tick.started}
    sampled = {(x.pid, x.start_time) for x in ticks[-1].samples}
    assert ended <= watched | new and sampled <= watched | new
    assert not ended & sampled  # an ended series takes no more samples
    assert not new & watched
