"""The compiled twins (setup.py's NATIVE): built where CI runs, and ignored on request.

The twins' own results are compared with the pure-Python code in the tests of what each one
parses or renders; these tests check that those comparisons compare something.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from tests.helpers import tool_missing

from memlens import native

REPO = Path(__file__).resolve().parents[2]


def native_modules() -> list[tuple[str, str]]:
    """(module, source) of every compiled twin, as setup.py lists them (read, not run)."""
    tree = ast.parse((REPO / "setup.py").read_text("utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "NATIVE":
            assert node.value is not None
            return [tuple(pair) for pair in ast.literal_eval(node.value)]  # type: ignore[misc]
    raise AssertionError("setup.py has no NATIVE list")


def test_setup_lists_every_c_source_it_has() -> None:
    listed = {source for _, source in native_modules()}
    on_disk = {str(p.relative_to(REPO)) for p in (REPO / "src").rglob("_*.c")}
    assert listed == on_disk


@pytest.mark.parametrize("name", [name for name, _ in native_modules()])
def test_each_twin_is_built(name: str) -> None:
    """Where a compiler is (CI: MEMLENS_REQUIRE_TOOLS=1), every twin is built and loaded."""
    module = native.load(name)
    if module is None and not native.PURE:
        tool_missing(f"{name} is not built (no C compiler or no Python headers: python3-dev)")
    if native.PURE:
        assert module is None
    else:
        assert module is not None and module.__name__ == name


def test_pure_ignores_every_twin() -> None:
    code = (
        "import sys; from memlens import native; "
        "sys.exit(native.PURE is not True or native.load('memlens.native') is not None)"
    )
    env = {"MEMLENS_PURE": "1", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], env=env, check=False)
    assert done.returncode == 0


def test_a_missing_twin_is_none() -> None:
    assert native.load("memlens.procfs._no_such_twin") is None
