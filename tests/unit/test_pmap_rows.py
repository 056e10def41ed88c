"""pmap -X's table body: the compiled twin (render/maps/_pmaprows.c) prints exactly what the
pure-Python renderer prints, on generated tables (canonical and damaged) and on the captured
trees; on what it does not take, it declines and the pure code decides.

The live comparison (processes this test suite starts) is in tests/live/test_pmap_twin_live.py.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.pmap_twin import Counting, rendered

from memlens.analysis.mapview import ProcessMap
from memlens.api.maps import read_maps
from memlens.native import load
from memlens.procfs.root import ProcRoot
from memlens.render.maps import pmap

TWIN = load("memlens.render.maps._pmaprows")
NOT_LOADED = "the compiled twin is not loaded (not built, or MEMLENS_PURE=1)"
needs_twin = pytest.mark.skipif(TWIN is None, reason=NOT_LOADED)
TREES = Path(__file__).resolve().parents[1] / "data" / "trees"

Column = Sequence[Any]
Rows = Callable[[tuple[Column, ...], str, tuple[int, ...]], tuple[str, tuple[int, ...]] | None]

U64 = 2**64 - 1
# Text as the table has it: mostly ASCII, but any code point too (Latin-1, CJK, astral,
# lone surrogates as surrogateescape leaves them), so that every kind of str is met.
CELL_TEXT = st.one_of(
    st.text(alphabet="0123456789abcdef-:rwxps []/._", max_size=12),
    st.text(alphabet=st.characters(blacklist_categories=()), max_size=6),
)
NUMBER = st.one_of(st.integers(0, 2**32 - 1), st.integers(0, U64), st.sampled_from([0, U64]))


def same(rows: Rows, columns: tuple[Column, ...], kinds: str, least: tuple[int, ...]) -> bool:
    """Whether ``rows`` (a twin) gives what the pure code gives, or declines; asserts the
    result's types (str text, a tuple of int widths) when it answers."""
    got = rows(columns, kinds, least)
    if got is None:
        return True
    text, widths = got
    assert type(text) is str and type(widths) is tuple
    assert all(type(w) is int for w in widths)
    return got == pmap.table_rows_pure(columns, kinds, least)


@st.composite
def tables(draw: st.DrawFn) -> tuple[tuple[Column, ...], str, tuple[int, ...]]:
    """A canonical table: 2 to 8 columns of one length >= 1, cells of their kind."""
    kinds = draw(st.text(alphabet="sxd", min_size=2, max_size=8))
    n = draw(st.integers(1, 12))
    columns: list[Column] = []
    for kind in kinds:
        cells = st.lists(CELL_TEXT if kind == "s" else NUMBER, min_size=n, max_size=n)
        col = draw(cells)
        columns.append(tuple(col) if draw(st.booleans()) else col)
    least = draw(st.lists(st.integers(0, 24), min_size=len(kinds) - 1, max_size=len(kinds) - 1))
    return tuple(columns), kinds, tuple(least)


def test_the_pure_rows_are_pmaps_layout() -> None:
    """Known text: right-justified, one space between columns, the last as it is."""
    columns = (
        [0x400000, 0x7FFF_F7FF_E000],
        ["r-xp", "rw-p"],
        [0, 0x1000],
        ["fe:00", "00:00"],
        [1234, 0],
        ["12", "4"],
        ["a.out", "[stack]"],
    )
    text, widths = pmap.table_rows_pure(columns, "xsxsdss", (7, 4, 6, 6, 5, 4))
    assert widths == (12, 4, 8, 6, 5, 4)
    assert text == (
        "    00400000 r-xp 00000000  fe:00  1234   12 a.out\n"
        "7ffff7ffe000 rw-p 00001000  00:00     0    4 [stack]\n"
    )


@needs_twin
def test_the_twin_prints_the_same_known_text() -> None:
    columns = (("é", "日本", "\U0001f600"), (1, 22, 333), ("x", "\udcff", ""))
    text, widths = pmap.table_rows_pure(columns, "sds", (0, 4))
    assert TWIN is not None
    assert (
        TWIN.rows(columns, "sds", (0, 4))
        == (text, widths)
        == (
            " é    1 x\n日本   22 \udcff\n 😀  333 \n",
            (2, 4),
        )
    )


@needs_twin
@settings(max_examples=400, deadline=None)
@given(tables())
def test_the_twin_prints_what_the_pure_code_prints(
    table: tuple[tuple[Column, ...], str, tuple[int, ...]],
) -> None:
    assert TWIN is not None
    columns, kinds, least = table
    got = TWIN.rows(columns, kinds, least)
    assert got is not None  # canonical: taken, never declined
    assert same(TWIN.rows, columns, kinds, least)


DAMAGE = st.sampled_from(
    ["negative", "huge", "bool", "bytes", "none", "str-subclass", "short", "kind", "least"]
)


class Text(str):
    def __str__(self) -> str:
        return "other"


@needs_twin
@settings(max_examples=300, deadline=None)
@given(tables(), DAMAGE, st.data())
def test_the_twin_declines_what_it_does_not_take(
    table: tuple[tuple[Column, ...], str, tuple[int, ...]], damage: str, data: st.DataObject
) -> None:
    """A cell of another type, a number it does not print, columns of different lengths, an
    unknown kind, a negative width: None, and table_rows gives the pure code's answer (or
    its error)."""
    assert TWIN is not None
    columns, kinds, least = table
    cols = [list(c) for c in columns]
    i = data.draw(st.integers(0, len(cols) - 1))
    row = data.draw(st.integers(0, len(cols[i]) - 1))
    numeric = kinds[i] != "s"
    if damage == "negative" and numeric:
        cols[i][row] = -data.draw(st.integers(1, U64))
    elif damage == "huge" and numeric:
        cols[i][row] = data.draw(st.integers(U64 + 1, 2**80))
    elif damage == "bool" and numeric:
        cols[i][row] = True
    elif damage == "bytes":
        cols[i][row] = b"00"
    elif damage == "none":
        cols[i][row] = None
    elif damage == "str-subclass" and not numeric:
        cols[i][row] = Text("x")
    elif damage == "short":
        cols[i].pop()
    elif damage == "kind":
        kinds = kinds[:i] + "q" + kinds[i + 1 :]
    elif damage == "least" and i < len(least):
        least = (*least[:i], -1, *least[i + 1 :])
    else:
        return  # this damage does not apply to this column
    damaged = tuple(cols)
    assert TWIN.rows(damaged, kinds, least) is None
    try:
        expected = pmap.table_rows_pure(damaged, kinds, least)
    except (TypeError, ValueError) as exc:
        with pytest.raises(type(exc)):
            pmap.table_rows(damaged, kinds, least)
    else:
        assert pmap.table_rows(damaged, kinds, least) == expected


@needs_twin
@pytest.mark.parametrize(
    "args",
    [
        ((), "", ()),
        ((["a"],), "s", ()),
        (([], []), "ss", (0,)),
        ([["a"], ["b"]], "ss", (0,)),
        ((("a",), ("b",)), "ss", [0]),
        ((("a",), ("b",)), "ss", (0, 0)),
        ((("a",), ("b",)), "sss", (0,)),
        ((("a",), ("b",)), "ss", (2**40,)),
        ((("a",), ("b",)), b"ss", (0,)),
        ((("a",), "b"), "ss", (0,)),
    ],
)
def test_the_twin_declines_tables_of_another_shape(args: tuple[Any, Any, Any]) -> None:
    assert TWIN is not None
    assert TWIN.rows(*args) is None


def test_a_twin_that_differs_is_caught() -> None:
    """The comparison compares: a twin off by one character, or by one width, fails it."""
    columns, kinds, least = (("a", "bb"), (1, 2), ("x", "y")), "sds", (0, 0)
    text, widths = pmap.table_rows_pure(columns, kinds, least)
    assert same(lambda *a: (text, widths), columns, kinds, least)
    assert not same(lambda *a: (text.replace("x", "z"), widths), columns, kinds, least)
    assert not same(lambda *a: (text, (widths[0] + 1, widths[1])), columns, kinds, least)


LITERAL = st.text(alphabet=" :K-|", max_size=3)  # pmap's formats are ASCII


@st.composite
def printf_tables(draw: st.DrawFn) -> tuple[str, tuple[Column, ...]]:
    """A format of conversions %[0][WIDTH](s|d|x) between literals, and its columns."""
    k = draw(st.integers(1, 7))
    n = draw(st.integers(1, 10))
    parts, columns = [draw(LITERAL)], []
    for _ in range(k):
        kind = draw(st.sampled_from("sdx"))
        zero = draw(st.booleans())  # "%05s": Python pads a str with spaces all the same
        width = draw(st.one_of(st.just(""), st.integers(0, 20).map(str)))
        parts += ["%" + ("0" if zero else "") + width + kind, draw(LITERAL)]
        cells = st.lists(CELL_TEXT if kind == "s" else NUMBER, min_size=n, max_size=n)
        col = draw(cells)
        columns.append(tuple(col) if draw(st.booleans()) else col)
    return "".join(parts) + "\n", tuple(columns)


def test_the_pure_printf_rows_are_the_format_applied_to_each_row() -> None:
    columns = ([0x400000, 0x7FFFF7FFE000], [4, 132], ["r-x--", "rw---"], ["a.out", "[stack]"])
    assert pmap.printf_rows_pure("%016x %6dK %s %s\n", columns) == (
        "0000000000400000      4K r-x-- a.out\n00007ffff7ffe000    132K rw--- [stack]\n"
    )


@needs_twin
@settings(max_examples=400, deadline=None)
@given(printf_tables())
def test_the_twin_printf_prints_what_the_pure_code_prints(
    table: tuple[str, tuple[Column, ...]],
) -> None:
    assert TWIN is not None
    row_format, columns = table
    got = TWIN.printf(row_format, columns)
    assert type(got) is str  # canonical: taken, never declined
    assert got == pmap.printf_rows_pure(row_format, columns)


@needs_twin
@pytest.mark.parametrize(
    ("row_format", "columns"),
    [
        ("%d\n", ([-1],)),
        ("%x\n", ([2**64],)),
        ("%d\n", ([True],)),
        ("%s\n", ([Text("x")],)),
        ("%s\n", ([b"x"],)),
        ("%s %s\n", (["a"], ["b", "c"])),
        ("%s %d\n", (["a"],)),
        ("%-5s\n", (["a"],)),
        ("%5.2d\n", ([1],)),
        ("%%%d\n", ([1],)),
        ("%i\n", ([1],)),
        ("%d", ([],)),
        ("none\n", ()),
        ("%d\u00e9\n", ([1],)),
        ("%2000000d\n", ([1],)),
    ],
)
def test_the_twin_printf_declines_what_it_does_not_take(
    row_format: str, columns: tuple[Column, ...]
) -> None:
    """None; printf_rows then gives the pure code's answer, or its error."""
    assert TWIN is not None
    assert TWIN.printf(row_format, columns) is None
    try:
        expected = pmap.printf_rows_pure(row_format, columns)
    except (TypeError, ValueError) as exc:
        with pytest.raises(type(exc)):
            pmap.printf_rows(row_format, columns)
    else:
        assert pmap.printf_rows(row_format, columns) == expected


def tree_maps() -> list[tuple[str, ProcessMap]]:
    out = []
    for tree in sorted(TREES.iterdir()):
        root = ProcRoot.open(str(tree))
        out += [(f"{tree.name}/{pm.pid}", pm) for pm in read_maps(root, root.pids()).maps]
    return out


@needs_twin
def test_render_X_is_the_same_on_every_captured_process(monkeypatch: pytest.MonkeyPatch) -> None:
    maps = tree_maps()
    assert len(maps) >= 8
    counting = Counting(TWIN)
    for name, pm in maps:
        assert rendered(pm, counting, monkeypatch) == rendered(pm, None, monkeypatch), name
    with_rows = sum(1 for _, pm in maps if len(pm.smaps))
    assert counting.taken == 4 * len(pmap.STYLES) * with_rows > 0


def test_pure_memlens_loads_no_twin() -> None:
    code = "from memlens.render.maps import pmap; print(pmap._TWIN)"
    env = {"MEMLENS_PURE": "1", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.stdout == "None\n", done.stderr
