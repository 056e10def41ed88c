"""What ``memlens maps`` loads before it works: not typing (records are built with
memlens.models.record), not -A's address pattern unless -A is given."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

WATCHED = ("typing", "memlens.cli.address", "memlens.render.maps.json")


def loaded_by_maps(*flags: str) -> tuple[int, str, list[str]]:
    """main(["maps", *flags, <its own pid>]) in a fresh interpreter: status, first output
    line, and which of WATCHED it loaded."""
    code = (
        "import io, json, os, sys\n"
        "from memlens.cli.main import main\n"
        "out = io.StringIO(); real = sys.stdout; sys.stdout = out\n"
        f"status = main(['maps', *{list(flags)!r}, str(os.getpid())])\n"
        "sys.stdout = real\n"
        f"loaded = [m for m in {WATCHED!r} if m in sys.modules]\n"
        "print(json.dumps([status, out.getvalue().splitlines()[0], loaded]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    status, first, loaded = json.loads(done.stdout)
    return status, first, loaded


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
