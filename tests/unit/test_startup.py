"""What the command line loads before it works: ``memlens --version`` answers from the
interpreter's own start-up, and a command loads its own modules only (speed: see bench/)."""

import pytest
from tests.helpers import loaded_by

from memlens import __version__
from memlens.cli.main import main

HEAVY = ("argparse", "typing", "enum", "re", "memlens.errors", "memlens.cli.env")


def test_version_loads_nothing_heavy() -> None:
    status, out, loaded = loaded_by(["--version"], HEAVY)
    assert (status, out, loaded) == (0, f"memlens {__version__}\n", [])


@pytest.mark.parametrize("argv", [["--version", "--proc-root", "/proc"], ["-h"]])
def test_version_among_other_words_goes_through_argparse(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith("memlens" if "-h" not in argv else "usage:")


def test_a_command_loads_only_its_own_modules() -> None:
    others = ("memlens.cli.maps", "memlens.cli.watch_command", "memlens.cli.report")
    status, out, loaded = loaded_by(["top", "--list-columns"], others)
    assert status == 0
    assert "owner (real uid)" in out
    assert loaded == []
