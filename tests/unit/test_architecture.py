"""The shape of the code, checked: layers point one way and modules stay readable.

Every import is found in the source (top level, inside functions and under TYPE_CHECKING
alike), so a lazy import cannot slip a layer past the check.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "memlens"
MAX_LINES = 400

# What each layer may import of memlens (besides itself). procfs reads /proc; store reads and
# writes recordings; models are the records; analysis computes on records; render shows
# reports; api drives reads and analysis; cli parses arguments, calls api, picks a renderer.
ALLOWED = {
    "native": set(),
    "models": {"errors"},
    "procfs": {"models", "errors", "native"},
    "store": {"models", "errors"},
    "analysis": {"models", "errors"},
    "i18n": {"errors"},
    "demo": {"models", "errors"},
    "render": {"analysis", "models", "errors", "i18n", "native"},
    "api": {"procfs", "store", "analysis", "models", "errors", "demo"},
    "serve": {"api", "render", "procfs", "store", "analysis", "models", "errors"},
    "cli": {"api", "render", "serve", "procfs", "analysis", "models", "errors", "__init__", "i18n"},
}


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _layer(path: Path) -> str:
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else path.stem


def _is_module(name: str) -> bool:
    return (PACKAGE / name).is_dir() or (PACKAGE / f"{name}.py").is_file()


def _imported_layers(path: Path) -> set[tuple[str, int]]:
    """(layer, line) of every memlens import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
            if node.module == "memlens":  # a module of the package, or a name of __init__
                names = [
                    f"memlens.{a.name}" if _is_module(a.name) else "memlens" for a in node.names
                ]
        for name in names:
            parts = name.split(".")
            if parts[0] == "memlens":
                found.add((parts[1] if len(parts) > 1 else "__init__", node.lineno))
    return found


def test_every_module_is_in_a_layer() -> None:
    """Besides the package's entry points and its errors, code lives in one of the layers, so
    the rules below reach it."""
    loose = {_layer(p) for p in _modules()} - set(ALLOWED) - {"__init__", "__main__", "errors"}
    assert loose == set()


def test_the_check_sees_the_package() -> None:
    layers = {_layer(p) for p in _modules()}
    assert set(ALLOWED) <= layers, "a layer is missing: the check would pass on nothing"


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layers_import_only_layers_below(layer: str) -> None:
    wrong = []
    for path in _modules():
        if _layer(path) != layer:
            continue
        for imported, line in sorted(_imported_layers(path)):
            if imported != layer and imported not in ALLOWED[layer]:
                wrong.append(f"{path.relative_to(PACKAGE)}:{line} imports memlens.{imported}")
    assert wrong == []


def test_lazy_and_type_only_imports_are_seen(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from memlens.procfs.root import ProcRoot\n"
        "def f():\n    import memlens.cli.env\n    from memlens import api\n"
    )
    assert _imported_layers(module) == {("procfs", 3), ("cli", 5), ("api", 6)}


def test_no_module_is_longer_than_a_sitting() -> None:
    lines = {
        str(p.relative_to(PACKAGE)): len(p.read_text("utf-8").splitlines()) for p in _modules()
    }
    long = {name: n for name, n in lines.items() if n > MAX_LINES}
    assert long == {}
