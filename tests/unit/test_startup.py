"""What the command line loads before it works: ``memlens --version`` answers from the
interpreter's own start-up, and a command loads its own modules only (speed: see bench/)."""

import json
import subprocess
import sys

import pytest

from memlens import __version__
from memlens.cli.main import main

HEAVY = ("argparse", "typing", "enum", "re", "memlens.errors", "memlens.cli.env")


def _loaded_after(argv: list[str], names: tuple[str, ...]) -> tuple[int, str, list[str]]:
    """Run main(argv) in a fresh interpreter: its status, its output, and which of ``names``
    it loaded."""
    code = (
        "import io, sys\n"
        "from memlens.cli.main import main\n"
        f"sys.stdout = io.StringIO(); status = main({argv!r}); out = sys.stdout.getvalue()\n"
        "sys.stdout = sys.__stdout__\n"
        f"loaded = [m for m in {names!r} if m in sys.modules]\n"
        "import json; print(json.dumps([status, out, loaded]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    status, out, loaded = json.loads(done.stdout)
    return status, out, loaded


def test_version_loads_nothing_heavy() -> None:
    status, out, loaded = _loaded_after(["--version"], HEAVY)
    assert (status, out, loaded) == (0, f"memlens {__version__}\n", [])


@pytest.mark.parametrize("argv", [["--version", "--proc-root", "/proc"], ["-h"]])
def test_version_among_other_words_goes_through_argparse(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith("memlens" if "-h" not in argv else "usage:")


def test_a_command_loads_only_its_own_modules() -> None:
    others = ("memlens.cli.maps", "memlens.cli.watch_command", "memlens.cli.report")
    status, out, loaded = _loaded_after(["top", "--list-columns"], others)
    assert status == 0
    assert "owner (real uid)" in out
    assert loaded == []
