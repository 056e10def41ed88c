"""``memlens layout --explain`` in Chinese: every sentence it can say has a translation in
the catalogue, and the language is picked by --lang or the environment, as for demo."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.helpers import workload_process

from memlens.render.layout import explain


def _explain(pid: int, *flags: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "memlens", "layout", str(pid), "--explain", *flags],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    return done.stdout


def test_explain_speaks_chinese_when_asked() -> None:
    heap_sentence_zh = "brk()/sbrk() 从 start_brk 到当前 break"
    with workload_process("--anon", "4M:4M") as w:
        english = _explain(w.pid, "--lang", "en")
        chinese = _explain(w.pid, "--lang", "zh_CN")
        by_env = _explain(w.pid, env={**os.environ, "LANGUAGE": "", "LANG": "zh_CN.UTF-8"})
    assert explain.SENTENCES[explain.Role.ANON] in english
    assert explain.SENTENCES[explain.Role.ANON] not in chinese
    assert "匿名 mmap 区域是没有文件作为后备的内存" in chinese
    assert "按需分页" in chinese  # the residency sentence, shown for every process
    assert "匿名 mmap 区域是没有文件作为后备的内存" in by_env  # LANG chose it
    if "[heap]" in english:
        assert heap_sentence_zh in chinese


def test_every_explain_sentence_has_a_translation() -> None:
    from memlens import i18n

    i18n.activate("zh_CN")
    try:
        texts = [*explain.SENTENCES.values(), explain.RESIDENCY, explain.GAPS]
        texts += [explain.MMAP_THRESHOLD, explain.OWN_ALLOCATOR, explain.ZERO_PAGE]
        texts += [explain.ZERO_PAGE_SEEN]
        untranslated = [t[:40] for t in texts if i18n.gettext(t) == t]
    finally:
        i18n.activate("en")
    assert untranslated == []
