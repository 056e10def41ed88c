"""pmap -X's compiled twin (render/maps/_pmaprows.c) prints what the pure-Python renderer
prints on processes this test starts: each process is read once, held still, and rendered both
ways in every option (-X, -XX, -q, -p). Hostile file names (controls, right-to-left override,
CJK, newline) reach the Mapping column as render/text.py escapes them; a 32-bit process has
8-digit addresses."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import CPrograms, KiB, frozen_all, workload_command, workload_process
from tests.pmap_twin import Counting
from tests.pmap_twin import rendered as rendered_every

from memlens.api.maps import read_maps
from memlens.native import load
from memlens.procfs.root import ProcRoot
from memlens.render.maps import pmap

TWIN = load("memlens.render.maps._pmaprows")
pytestmark = pytest.mark.skipif(
    TWIN is None, reason="the compiled twin is not loaded (not built, or MEMLENS_PURE=1)"
)
# Plain, -q and -p.
OPTIONS = (pmap.Options(), pmap.Options(quiet=True), pmap.Options(full_path=True))


def rendered(pm: Any, twin: Any, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    return rendered_every(pm, twin, monkeypatch, OPTIONS)


NAMES = ["data.bin", "caf\u00e9 \u65e5\u672c.bin", "evil\x1b]0;x\x07\u202egnp.bin", "new\nline.bin"]


@pytest.fixture(params=["workload", "m32-static", "pie"])
def subject(request: pytest.FixtureRequest, c_program: CPrograms, tmp_path: Path) -> Iterator[int]:
    with ExitStack() as stack:
        if request.param == "workload":
            files: list[str] = []
            for name in NAMES:
                path = tmp_path / name
                path.write_bytes(bytes(range(256)) * (64 * KiB // 256))
                files += ["--file", str(path)]
            regions = ("--anon", "4M:1M", "--anon", "1M:0", "--sysv", "1M:512K")
            regions += ("--memfd", "1M:1M", "--shared-anon", "1M:512K", *files)
            yield stack.enter_context(workload_process(*regions)).pid
        else:
            argv = (str(c_program(request.param)), "2")
            yield stack.enter_context(workload_command(*argv)).pid


def test_the_twin_renders_live_processes_as_the_pure_code(
    subject: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    with frozen_all(subject):
        (pm,) = read_maps(ProcRoot.live(), [subject]).maps
    counting = Counting(TWIN)
    ours, pure = rendered(pm, counting, monkeypatch), rendered(pm, None, monkeypatch)
    assert counting.taken == len(ours) == 15  # the twin printed every one of them
    assert ours == pure
    table = ours[0].splitlines()
    assert len(table) > 8 and table[1].lstrip().startswith("Address")


def test_hostile_names_are_escaped_in_both(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files: list[str] = []
    for name in NAMES:
        (tmp_path / name).write_bytes(b"x" * 4096)
        files += ["--file", str(tmp_path / name)]
    with workload_process(*files) as w, frozen_all(w.pid):
        (pm,) = read_maps(ProcRoot.live(), [w.pid]).maps
    ours, pure = rendered(pm, TWIN, monkeypatch), rendered(pm, None, monkeypatch)
    assert ours == pure
    # the rows of -X and of the default format (the header line has the command line)
    text = "".join(o.split("\n", 1)[1] for o in (ours[0], ours[-3]))
    assert text.count("caf\u00e9 \u65e5\u672c.bin") == 2  # printable: as it is
    assert text.count("evil\\x1b]0;x\\x07\\u202egnp.bin") == 2  # controls, override: escaped
    assert text.count("new\\012line.bin") == 2  # the kernel's own escape of "\n"
    assert "\x1b" not in text and "\u202e" not in text


def test_a_32_bit_process_has_8_digit_addresses(
    c_program: CPrograms, monkeypatch: pytest.MonkeyPatch
) -> None:
    with workload_command(str(c_program("m32-static")), "1") as w, frozen_all(w.pid):
        (pm,) = read_maps(ProcRoot.live(), [w.pid]).maps
    ours = rendered(pm, TWIN, monkeypatch)
    assert ours == rendered(pm, None, monkeypatch)
    rows = ours[1].splitlines()[1:]  # quiet: the header line, then rows only
    assert rows and all(len(r.split()[0]) == 8 for r in rows)
