"""``memlens watch --heaptrack -- COMMAND``: a C program that leaks from a known call stack,
run under heaptrack; its leak stacks come out next to the verdict."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.helpers import Result

LEAK_C = r"""
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static void *keep[1000];
static void *grow(size_t n) { void *p = malloc(n); memset(p, 1, n); return p; }
void cache_put(int i) { keep[i] = grow(1 << 20); }
void log_line(int i) { free(grow(4096)); (void)i; }
int main(void) {
    for (int i = 0; i < 40; i++) { cache_put(i); log_line(i); usleep(50000); }
    return 0;
}
"""


@pytest.fixture
def leaker(tmp_path: Path) -> Path:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler")
    (tmp_path / "leak.c").write_text(LEAK_C)
    subprocess.run([cc, "-g", "-O0", "-o", str(tmp_path / "leak"), str(tmp_path / "leak.c")],
                   check=True)  # fmt: skip
    return tmp_path / "leak"


@pytest.mark.skipif(shutil.which("heaptrack") is None, reason="heaptrack is not installed")
def test_heaptrack_leak_stacks_next_to_the_verdict(
    cli: Callable[..., Result], leaker: Path
) -> None:
    result = cli(
        "watch", "--no-record", "--json", "--interval", "0.2", "--heaptrack", "--", str(leaker)
    )
    assert result.status == 0, result.stderr
    doc = json.loads(result.stdout)
    (proc,) = doc["processes"]  # the program only: not heaptrack's launcher or helpers
    assert proc["command"] == str(leaker)
    heaptrack = proc["heaptrack"]
    assert heaptrack["note"] is None
    top = heaptrack["leaks"][0]
    assert top["calls"] == 40
    assert abs(top["leaked_bytes"] - 40 * (1 << 20)) < 0.01 * 40 * (1 << 20)  # rounded
    assert [frame.split(" ")[0] for frame in top["stack"][:3]] == ["grow", "cache_put", "main"]
    assert all("log_line" not in " ".join(leak["stack"]) for leak in heaptrack["leaks"])
    shutil.rmtree(Path(heaptrack["data_file"]).parent)


def test_heaptrack_needs_a_command(cli: Callable[..., Result]) -> None:
    result = cli("watch", "--heaptrack", "1")
    assert result.status == 2
    assert result.stderr == (
        "memlens: --heaptrack runs a command under heaptrack: give -- COMMAND ARGS\n"
    )


def test_heaptrack_missing_is_said_plainly(
    cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")  # neither heaptrack nor heaptrack_print
    result = cli("watch", "--no-record", "--heaptrack", "--", "/bin/true")
    assert result.status == 127
    assert result.stderr == (
        "memlens: cannot run heaptrack: not installed "
        "(Debian package heaptrack: apt-get install heaptrack)\n"
    )
