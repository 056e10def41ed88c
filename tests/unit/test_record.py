"""memlens.models.record.NamedTuple builds the same classes as typing.NamedTuple, and keeps
typing out of start-up."""

from __future__ import annotations

import pickle
import typing

import pytest
from tests.helpers import loaded_by

from memlens.models import record

SOURCE = """
from __future__ import annotations
{import_line}


class Point(NamedTuple):
    \"\"\"A point.\"\"\"

    x: int
    y: int | None = None
    label: str = "origin"
    KIND = "point"

    @property
    def double(self) -> int:
        return self.x * 2
"""


def _build(import_line: str) -> type:
    namespace: dict[str, typing.Any] = {"__name__": __name__}
    exec(SOURCE.format(import_line=import_line), namespace)
    cls: type = namespace["Point"]
    return cls


def _both() -> tuple[type, type]:
    return (
        _build("from memlens.models.record import NamedTuple"),
        _build("from typing import NamedTuple"),
    )


def test_same_fields_defaults_and_behaviour() -> None:
    mine, theirs = _both()
    assert mine._fields == theirs._fields == ("x", "y", "label")
    assert mine._field_defaults == theirs._field_defaults == {"y": None, "label": "origin"}
    a, b = mine(3), theirs(3)
    assert tuple(a) == tuple(b) == (3, None, "origin")
    assert repr(a) == repr(b) == "Point(x=3, y=None, label='origin')"
    assert a.double == b.double == 6
    assert mine.KIND == theirs.KIND == "point"
    assert mine.__doc__ == theirs.__doc__ == "A point."
    assert mine.__module__ == theirs.__module__ == __name__
    assert a._replace(x=4) == b._replace(x=4) == (4, None, "origin")
    assert a._asdict() == b._asdict()
    assert isinstance(a, tuple) and hash(a) == hash(b)
    with pytest.raises(AttributeError):
        a.x = 5  # type: ignore[misc]


def test_class_syntax_and_pickling() -> None:
    from memlens.models.process import Statm

    statm = Statm(1, 2, 3, 4, 5, 6, 7)
    assert pickle.loads(pickle.dumps(statm)) == statm
    assert type(statm).__name__ == "Statm" and statm.resident == 2


def test_what_typing_refuses_is_refused() -> None:
    for source in (
        SOURCE.replace("    KIND =", "    _replace = None\n    KIND ="),  # the tuple's own
        SOURCE.replace("    x: int\n", "").replace(
            "label: str = ", "label: str = 'x'\n    z: int\n    w = "
        ),
    ):
        for import_line in (
            "from memlens.models.record import NamedTuple",
            "from typing import NamedTuple",
        ):
            with pytest.raises((AttributeError, TypeError)):
                exec(source.format(import_line=import_line), {"__name__": __name__})
    with pytest.raises(TypeError):
        record.NamedTuple("Point", [("x", int)])  # type: ignore[call-overload]


def test_top_and_its_records_load_without_typing() -> None:
    status, out, loaded = loaded_by(["top", "-p", "{pid}"], ("typing", "memlens.render.top.table"))
    assert status == 0 and out.startswith("  PID")
    assert loaded == ["memlens.render.top.table"], "typing is loaded on the path of memlens top"
