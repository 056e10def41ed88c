"""memlens demo's words: the catalogues are complete and compiled, the language is chosen as
gettext does, and a lesson reads in Chinese under zh_CN. The judges of the claims are pure:
checked here on figures made up to hold and to fail."""

from __future__ import annotations

import gettext
import io
import string
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from memlens import i18n
from memlens.analysis.demo import judge
from memlens.errors import UsageError
from memlens.models.demo import ADDRESS, BYTES, COUNT, TEXT, Check, DemoReport, Figure
from memlens.render.demo import text as text_out
from memlens.render.demo.texts import TEXTS

SRC = Path(__file__).resolve().parents[2] / "src" / "memlens"
CATALOGUE = SRC / "locale" / "zh_CN" / "LC_MESSAGES"
MIB = 1 << 20


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    yield
    i18n.activate("en")


def source_messages() -> set[str]:
    found = extract_from_dir(str(SRC / "render"), [("**.py", "python")], keywords={"N_": None})
    return {str(message) for _, _, message, _, _ in found}


def po() -> dict[str, str]:
    with open(CATALOGUE / "memlens.po", "rb") as f:
        catalogue = read_po(f)
    return {str(m.id): str(m.string) for m in catalogue if m.id}


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_message_has_a_chinese_translation_and_none_is_stale() -> None:
    messages, translated = source_messages(), po()
    assert messages, "nothing extracted: the check would pass on nothing"
    assert messages == set(translated), "run pybabel extract/update (README, Translations)"
    assert [m for m, t in translated.items() if not t.strip()] == []


def test_translations_keep_every_placeholder() -> None:
    assert {m: fields(t) for m, t in po().items()} == {m: fields(m) for m in po()}


def test_the_committed_mo_is_compiled_from_the_po() -> None:
    with open(CATALOGUE / "memlens.mo", "rb") as f:
        compiled = gettext.GNUTranslations(f)
    catalog = {k: v for k, v in compiled._catalog.items() if k}  # type: ignore[attr-defined]
    assert catalog == po(), "run pybabel compile -D memlens -d src/memlens/locale"


def test_every_lesson_has_its_texts() -> None:
    lessons = {"layout", "layout32", "bss", "faults", "malloc", "threads", "fork", "sysv"}
    assert lessons | {"sizes", "leak"} == set(TEXTS)


@pytest.mark.parametrize(
    ("option", "environ", "expected"),
    [
        (None, {}, "en"),
        (None, {"LANG": "zh_CN.UTF-8"}, "zh_CN"),
        (None, {"LANG": "zh_CN.UTF-8", "LC_ALL": "en_US.UTF-8"}, "en"),
        (None, {"LC_ALL": "C", "LANGUAGE": "fr:zh_CN"}, "zh_CN"),
        (None, {"LANG": "de_DE.UTF-8"}, "en"),
        (None, {"LANG": "zh_TW.UTF-8"}, "en"),
        ("zh", {"LANG": "en_GB.UTF-8"}, "zh_CN"),
        ("en", {"LANG": "zh_CN.UTF-8"}, "en"),
    ],
)
def test_the_language_is_chosen_as_gettext_does(
    option: str | None, environ: dict[str, str], expected: str
) -> None:
    assert i18n.choose(option, environ) == expected


def test_an_unknown_language_asked_for_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no such language"):
        i18n.choose("xx", {})


def report() -> DemoReport:
    figures = (
        Figure("reserved", 1 << 30, BYTES, "experiment"),
        Figure("vss_growth", 1 << 30, BYTES, "top"),
        Figure("rss_growth_reserve", 0, BYTES, "top"),
        Figure("written", 102 * MIB, BYTES, "experiment"),
        Figure("read", 102 * MIB, BYTES, "experiment"),
        Figure("vma_rss_after_write", 102 * MIB, BYTES, "maps"),
        Figure("vma_rss_after_read", 102 * MIB, BYTES, "maps"),
        Figure("minflt_write", 26112, COUNT, "top"),
        Figure("minflt_read", 26112, COUNT, "top"),
        Figure("pages_written", 26112, COUNT, "experiment"),
    )
    checks = judge("bss", {f.key: f.value for f in figures}, 4096)
    return DemoReport("bss", (1234,), figures, checks, True, ())


def test_a_lesson_reads_in_chinese() -> None:
    i18n.activate("zh_CN")
    out = io.StringIO()
    text_out.render_report(report(), out, i18n.gettext, ("top", "maps"))
    shown = out.getvalue()
    assert "说法：" in shown and "预留 1 GiB：VSS +1 GiB，RSS +0 B" in shown  # noqa: RUF001
    assert "Claim" not in shown and "[与说法相符]" in shown
    assert "kill 1234" in shown and "memlens maps -X 1234" in shown  # kept: how to look, stop


def test_chinese_lines_fit_the_width_in_terminal_columns() -> None:
    line = "读取从未访问过的匿名内存同样会触发缺页，" * 8  # noqa: RUF001
    lines = text_out.wrap(line, 40, "  ", "  ")
    assert all(text_out._columns(x) <= 40 for x in lines)
    assert "".join(x.strip() for x in lines) == line
    assert not any(x.strip().startswith("\uff0c") for x in lines)  # a full-width comma


def test_figures_are_shown_by_unit() -> None:
    def show(value: object, unit: str) -> str:
        return text_out.shown(Figure("k", value, unit, "top"), str)  # type: ignore[arg-type]

    assert show(0x400000, ADDRESS) == "0x400000"
    assert show(-2 * MIB, BYTES) == "-2 MiB"
    assert show(26112, COUNT) == "26,112"
    assert show("heap", TEXT) == "brk heap" and show(None, BYTES) == "?"


def holds(lesson: str, **figures: object) -> dict[str, bool | None]:
    checks: tuple[Check, ...] = judge(lesson, figures, 4096)  # type: ignore[arg-type]
    return {c.claim: c.holds for c in checks}


def test_bss_judge() -> None:
    base = {
        "reserved": 1 << 30, "vss_growth": 1 << 30, "rss_growth_reserve": 8192,
        "vma_rss_after_write": 100 * MIB + 4096, "written": 100 * MIB,
        "minflt_write": 25601, "pages_written": 25600,
        "vma_rss_after_read": 100 * MIB + 4096, "minflt_read": 25600,
    }  # fmt: skip
    assert all(holds("bss", **base).values())
    grew = holds("bss", **{**base, "vma_rss_after_read": 200 * MIB})
    assert grew["read_is_free"] is False and grew["write_costs_touched"] is True
    assert holds("bss", **{**base, "rss_growth_reserve": None})["reserve_is_free"] is None


def test_sysv_judge_sums_pss_to_the_segment() -> None:
    base = {"nattch": 3, "size": 16 * MIB, "rss": 16 * MIB}
    split = {"pss_1": 5592064, "pss_2": 5592064, "pss_3": 5592064}
    assert all(holds("sysv", **base, **split).values())
    lopsided = {"pss_1": 16 * MIB, "pss_2": 0, "pss_3": 0}
    assert holds("sysv", **base, **lopsided)["pss_split"] is False


def test_leak_judge_wants_both_verdicts() -> None:
    figures = {"leak_growth": 20 * MIB, "cache_growth": 24 * MIB}
    assert all(holds("leak", **figures, leak_verdict="leak", cache_verdict="plateau").values())
    both = holds("leak", **figures, leak_verdict="leak", cache_verdict="leak")
    assert both["cache_levels_off"] is False
