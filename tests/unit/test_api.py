"""The public API: every name memlens exports resolves, lazily, to the object it documents."""

from __future__ import annotations

import importlib

import memlens


def test_every_exported_name_resolves() -> None:
    for name in memlens.__all__:
        obj = getattr(memlens, name)
        assert getattr(obj, "__name__", name) == name


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        memlens.no_such_thing  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:
        raise AssertionError("no AttributeError")


def test_importing_the_package_imports_none_of_the_api() -> None:
    """The CLI starts fast because `import memlens` loads nothing else."""
    import subprocess
    import sys

    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, memlens; print(sorted(m for m in sys.modules if m.startswith('memlens')))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == "['memlens']"
    assert importlib.import_module("memlens.procfs.root").ProcRoot is memlens.ProcRoot
