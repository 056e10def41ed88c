"""Per-mapping sharing needs smaps's Rss, Pss, Shared_* and Private_* fields: a smaps without
one of them is a parse error naming the field, never a figure of 0."""

from __future__ import annotations

import pytest

from memlens.analysis.sharing import ProcessSmaps, sharing
from memlens.errors import ParseError
from memlens.procfs.smaps_parser import parse_smaps

LIB = "7f0000000000-7f0000004000 r-xp 00000000 08:01 42 /usr/lib/libx.so"
FIELDS = {"Size": 16, "Rss": 8, "Pss": 4, "Shared_Clean": 8, "Shared_Dirty": 0,
          "Private_Clean": 0, "Private_Dirty": 0}  # fmt: skip


def _smaps(drop: str | None = None) -> ProcessSmaps:
    lines = [LIB] + [f"{k}: {v} kB" for k, v in FIELDS.items() if k != drop]
    return ProcessSmaps(1, "a", parse_smaps(("\n".join(lines) + "\n").encode()))


def test_both_processes_complete_share_the_library() -> None:
    a, b = _smaps(), _smaps()._replace(pid=2)
    (m,) = sharing([a, b]).mappings
    assert m.per_process[1].shared == 8 << 10


@pytest.mark.parametrize("field", ["Rss", "Pss", "Shared_Clean", "Private_Dirty"])
def test_a_missing_field_is_a_parse_error_not_zero(field: str) -> None:
    with pytest.raises(ParseError, match=f"no {field} field"):
        sharing([_smaps(field), _smaps()._replace(pid=2)])


def test_an_empty_smaps_has_nothing_to_share() -> None:
    empty = ProcessSmaps(3, "k", parse_smaps(b""))
    assert sharing([empty, _smaps()]).mappings == ()
