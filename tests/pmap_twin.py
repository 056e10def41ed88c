"""What the tests of pmap's compiled twin (render/maps/_pmaprows.c) share: one process
rendered in every pmap format and option, with the twin or without it, and the twin counting
the tables it took."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import pytest

from memlens.analysis.mapview import ProcessMap
from memlens.render.maps import pmap

# Plain, -p, -q and -q -p.
EVERY_OPTION = tuple(pmap.Options(q, p) for q in (False, True) for p in (False, True))


def rendered(
    pm: ProcessMap,
    twin: Any,
    monkeypatch: pytest.MonkeyPatch,
    options: Sequence[pmap.Options] = EVERY_OPTION,
) -> list[str]:
    """Every pmap format (-X, -XX, -x, -d, the default), each with every one of ``options``;
    ``twin`` None renders with the pure-Python code alone."""
    monkeypatch.setattr(pmap, "_TWIN", twin)
    out = []
    for style in pmap.STYLES:
        for opts in options:
            buf = io.StringIO()
            pmap.render(pm, style, opts, buf)
            out.append(buf.getvalue())
    return out


class Counting:
    """The twin, counting the tables it took."""

    def __init__(self, twin: Any) -> None:
        self.twin, self.taken = twin, 0

    def rows(self, *args: Any) -> Any:
        got = self.twin.rows(*args)
        self.taken += got is not None
        return got

    def printf(self, *args: Any) -> Any:
        got = self.twin.printf(*args)
        self.taken += got is not None
        return got
