"""``memlens demo`` as text, in the active language (memlens.i18n): the list of lessons, and
a lesson's claim, experiment, the figures that judge each claim, and why."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from typing import TextIO

from memlens.i18n import N_
from memlens.models.demo import ADDRESS, BYTES, COUNT, SECONDS, DemoReport, Figure, Lesson
from memlens.render.demo.texts import HEADINGS, NOTES, TEXTS
from memlens.render.text import safe
from memlens.render.units import iec

Translate = Callable[[str], str]
WIDTH = 88
MARKS = {True: ("✓", "holds"), False: ("✗", "fails"), None: ("?", "unmeasured")}
NBSP = "\u00a0"
EXACT_BELOW = 16 << 20  # smaller sizes that are not whole MiB are shown in KiB, exactly
_CJK = "\u2e80-\u9fff\u3000-\u303f\uff00-\uffef"
_TOKENS = re.compile(f"[{_CJK}]|[^ \\n{_CJK}]+| +|\\n")  # a no-break space joins
_NO_BREAK_BEFORE = ",.;:)" + "".join(
    chr(c) for c in (0xFF0C, 0x3002, 0xFF1B, 0xFF1A, 0x3001, 0xFF09)
)

# Words that figures of kind "text" take (region roles, verdicts), translated when shown.
WORDS = {
    "heap": N_("brk heap"),
    "anon": N_("anonymous"),
    "unmapped": N_("unmapped"),
    "leak": N_("leak"),
    "no-leak": N_("no leak"),
    "plateau": N_("plateau"),
    "step": N_("step"),
    "sawtooth": N_("sawtooth"),
    "inconclusive": N_("inconclusive"),
    "fixed": N_("not PIE: it is loaded where its linker put it (its text at {text_start})"),
    "pie": N_("a PIE, placed at a random base like a library (on x86-64, near 0x55...)"),
    "near_stack": N_("next to the stack"),
    "mmap_area": N_("among the libraries, in the mmap area"),
}
SECONDS_TEXT = N_("{n} s")


def shown(figure: Figure, tr: Translate) -> str:
    v = figure.value
    if v is None:
        return "?"
    if isinstance(v, bool):
        return tr(HEADINGS["yes"] if v else HEADINGS["no"])
    if figure.unit == BYTES and isinstance(v, int | float):
        n = abs(int(v))
        sign = "-" if v < 0 else ""
        if n < EXACT_BELOW and n % 1024 == 0 and n % (1 << 20):
            return f"{sign}{n // 1024:,} KiB"
        return sign + iec(n)
    if figure.unit == ADDRESS and isinstance(v, int):
        return f"{v:#x}"
    if figure.unit == SECONDS and isinstance(v, int | float):
        return tr(SECONDS_TEXT).format(n=f"{v:g}")
    if figure.unit == COUNT and isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, str):
        return tr(WORDS[v]) if v in WORDS else safe(v)
    return str(v)


def _fill(text: str, figures: dict[str, str]) -> str:
    try:
        return text.format(**figures)
    except (KeyError, IndexError, ValueError):  # a figure missing: say so, do not fail
        return text


def _columns(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def wrap(text: str, width: int, first: str, more: str) -> list[str]:
    """``text`` in lines of at most ``width`` terminal columns (a CJK character takes two),
    broken at spaces or between CJK characters, never before closing punctuation (the
    character before it goes to the next line with it)."""
    lines: list[str] = []
    line, space = first, ""
    for token in _TOKENS.findall(text):
        if token in (" ", "\n") or token.strip(" ") == "":
            space = " "
            continue
        if _columns(line + space + token) > width and line.strip():
            carry = ""
            if token[0] in _NO_BREAK_BEFORE and not space and len(line.strip()) > 1:
                line, carry = line[:-1], line[-1]
            lines.append(line)
            line, space = more + carry, ""
        line += space + token
        space = ""
    lines.append(line)
    return lines


def _para(out: TextIO, text: str, indent: str = "  ", more: str | None = None) -> None:
    out.write("\n".join(wrap(text, WIDTH, indent, indent if more is None else more)) + "\n")


def render_list(lessons: Sequence[Lesson], out: TextIO, tr: Translate) -> None:
    out.write(tr(HEADINGS["lessons"]) + "\n")
    width = max(len(lesson.name) for lesson in lessons)
    for lesson in lessons:
        title = tr(TEXTS[lesson.name].title)
        what = HEADINGS.get(lesson.name, lesson.needs or "")
        needs = f"  [{tr(HEADINGS['needs'])} {tr(what)}]" if lesson.needs else ""
        out.write(f"  {lesson.name:<{width}}  {title}{needs}\n")


def keep_commands(report: DemoReport, views: Sequence[str]) -> tuple[list[str], list[str]]:
    """What to run to look at a kept experiment (with the lesson's views), and to stop it."""
    pids = [str(p) for p in report.pids]
    first = pids[0] if pids else "PID"
    by_view = {
        "layout": [f"memlens layout {first}"],
        "maps": [f"memlens maps -X {first}"],
        "top": [f"memlens top -p {','.join(pids)}"],
        "ipc": ["memlens ipc"],
        "shared": [f"memlens shared {' '.join(pids)}"],
        "watch": [f"memlens watch {' '.join(pids)}"],
    }
    look = [c for view in views for c in by_view.get(view, [])]
    stop = [f"kill {' '.join(pids)}"] if pids else []
    stop += [f"ipcrm -m {shmid}" for shmid in report.segments]
    return look, stop


def render_report(
    report: DemoReport, out: TextIO, tr: Translate, views: Sequence[str] = ()
) -> None:
    """The lesson; with ``views`` (the lesson's), how to look at a kept experiment."""
    text = TEXTS[report.lesson]
    figures = {f.key: shown(f, tr) for f in report.figures}
    figures = {k: _fill(v, figures) for k, v in figures.items()}  # words that name figures
    out.write(f"memlens demo {report.lesson}: {tr(text.title)}\n\n")
    out.write(f"{tr(HEADINGS['claim'])}\n")
    _para(out, tr(text.claim))
    out.write(f"\n{tr(HEADINGS['experiment'])}\n")
    _para(out, _fill(tr(text.experiment), figures))
    out.write(f"\n{tr(HEADINGS['numbers'])}\n")
    for check in report.checks:
        mark, verdict = MARKS[check.holds]
        line = _fill(tr(text.checks[check.claim]), figures)
        verdict = tr(HEADINGS[verdict])
        _para(out, f"{mark} {line} [{verdict.replace(' ', NBSP)}]", "  ", "    ")
    failed = sum(c.holds is False for c in report.checks)
    unknown = sum(c.holds is None for c in report.checks)
    summary = "summary_bad" if failed else "summary_unknown" if unknown else "summary_ok"
    n = failed or unknown
    out.write("  " + tr(HEADINGS[summary]).format(n=n, total=len(report.checks)) + "\n")
    for note in report.notes:
        _para(out, tr(NOTES[note]) if note in NOTES else safe(note))
    out.write(f"\n{tr(HEADINGS['why'])}\n")
    _para(out, _fill(tr(text.explanation), figures))
    if report.kept:
        look, stop = keep_commands(report, views)
        out.write(f"\n{tr(HEADINGS['kept'])}\n")
        out.writelines(f"  {c}\n" for c in look)
        out.write(f"{tr(HEADINGS['stop'])}\n")
        out.writelines(f"  {c}\n" for c in stop)
