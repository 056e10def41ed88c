"""What ``memlens maps`` loads before it works: not typing (records are built with
memlens.models.record), not -A's address pattern unless -A is given."""

from __future__ import annotations

import pytest
from tests.helpers import loaded_by

WATCHED = ("typing", "memlens.cli.address", "memlens.render.maps.json")


def loaded_by_maps(*flags: str) -> tuple[int, str, list[str]]:
    """main(["maps", *flags, <its own pid>]) in a fresh interpreter: status, first output
    line, and which of WATCHED it loaded."""
    status, out, loaded = loaded_by(["maps", *flags, "{pid}"], WATCHED)
    return status, out.splitlines()[0], loaded


@pytest.mark.parametrize("flags", [["-X"], ["-XX", "-q", "-p"], ["-x"], ["-d"], []])
def test_maps_loads_neither_typing_nor_the_address_pattern(flags: list[str]) -> None:
    status, first, loaded = loaded_by_maps(*flags)
    assert status == 0
    assert first.split(":")[0].isdigit()  # "PID:   command line"
    assert loaded == []


def test_the_address_pattern_comes_with_A() -> None:
    status, _, loaded = loaded_by_maps("-X", "-A", "0,ffffffff")
    assert status == 0
    assert loaded == ["memlens.cli.address"]
