"""memlens export on captured /proc trees: the exposition exactly, with a private registry;
the config's checks; one read shared by concurrent scrapes; the budget."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("prometheus_client")

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from memlens.api.export import Exporter
from memlens.api.export_config import Config, ConfigError, Facts, load, parse
from memlens.api.export_shared import SharedRead
from memlens.models.export import Figures
from memlens.procfs.root import ProcRoot
from memlens.render.prometheus import MemlensCollector

TREES = Path(__file__).parent.parent / "data" / "trees"
GOLDEN = Path(__file__).parent.parent / "data" / "export"
KIB = 1024

SYSV_CONFIG: dict[str, Any] = {
    "group": [
        {"cmdline": r"/shm create ", "name": "creator", "pss": True},
        {"comm": "^shm$", "name": "{comm}-{user}"},
    ],
    "pids": [10084],
}


def exposition(tree: str, config: Config, budget: float = 60.0) -> str:
    ticks = itertools.count()
    exporter = Exporter(
        ProcRoot.open(str(TREES / tree)),
        config,
        clock=lambda: 1000.0,
        timer=lambda: next(ticks) * 0.25,
    )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MemlensCollector(SharedRead(exporter, budget).scrape))
    try:
        return generate_latest(registry).decode()
    finally:
        exporter.close()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_exposition_of_a_tree_exactly() -> None:
    text = exposition("sysv_memfd", parse(SYSV_CONFIG))
    assert text == (GOLDEN / "sysv_memfd.prom").read_text()


def test_exposition_figures_are_the_trees() -> None:
    """The golden file's figures, against the tree's own files (status, smaps_rollup)."""
    got = samples(exposition("sysv_memfd", parse(SYSV_CONFIG)))

    def memory(group: str, kind: str) -> float:
        return got[("memlens_group_memory_bytes", (("group", group), ("kind", kind)))]

    # 10083 is "shm create ...": VmRSS 744 kB, Pss 303 kB, Private_Dirty 84 kB
    assert memory("creator", "rss") == 744 * KIB
    assert memory("creator", "pss") == 303 * KIB
    assert memory("creator", "pss_shmem") == 35 * KIB
    assert memory("creator", "uss") == 84 * KIB
    # 10084 and 10085 attach: VmRSS 716 + 704 kB; no PSS asked for, so none exported
    assert memory("shm-0", "rss") == (716 + 704) * KIB
    assert ("memlens_group_memory_bytes", (("group", "shm-0"), ("kind", "pss"))) not in got
    assert got[("memlens_group_processes", (("group", "shm-0"),))] == 2
    pid = (("group", "shm-0"), ("kind", "rss"), ("pid", "10084"))
    assert got[("memlens_process_memory_bytes", pid)] == 716 * KIB
    assert got[("memlens_sysv_shm_bytes", (("state", "resident"),))] == 20480
    parts = [v for (name, _), v in got.items() if name == "memlens_system_memory_bytes"]
    assert sum(parts) == got[("memlens_system_memory_total_bytes", ())]


def test_evil_names_keep_the_format_valid() -> None:
    """An executable named with an escape, a newline, markup and a byte that is not UTF-8:
    the group label carries it, escaped, and the exposition parses back to it."""
    text = exposition("evil_name", Config(pss=True))
    groups = {
        s.labels["group"]
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if "group" in s.labels
    }
    assert groups == {"x) \x1b[31m<b>\nevil\\xff"}


def test_rules_first_match_wins_and_default_is_the_program() -> None:
    config = parse(
        {
            "group": [
                {"cmdline": r"--role=(?P<role>\w+)", "name": "app-{role}", "pss": True},
                {"user": "postgres", "name": "db"},
                {"cgroup": r"^/system\.slice/(?P<unit>[^/]+)", "name": "{unit}"},
            ]
        }
    )
    facts = Facts("java", "/usr/bin/java", "java --role=web", "postgres", "/")
    assert config.group_of(facts) == ("app-web", True)
    assert config.group_of(facts._replace(cmdline="java")) == ("db", False)
    svc = Facts("x", None, "x", "root", "/system.slice/nginx.service")
    assert config.group_of(svc) == ("nginx.service", False)
    assert config.group_of(svc._replace(cgroup="/")) == ("x", False)
    assert config.group_of(Facts("a", "/opt/b", "a", "u", "/")) == ("b", False)


def test_command_line_only_by_request_and_redacted() -> None:
    config = parse(
        {
            "group": [{"comm": "^tool$", "name": "{cmdline}"}],
            "redact": [{"pattern": r"--password=\S+", "replace": "--password=***"}],
        }
    )
    facts = Facts("tool", None, "tool --password=hunter2 -v", "u", "/")
    assert config.group_of(facts)[0] == "tool --password=*** -v"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('interval = 15\n\n[[group]]\nname = "x"\ncomm = "(unclosed"\n', ":3: group rule 1: comm"),
        (
            '[[group]]\nname = "x"\ncomm = "a"\n[[group]]\nname = "{no}"\ncomm = "a"\n',
            ":4: group rule 2",
        ),
        ('[[group]]\nname = "x"\n', ":1: group rule 1: matches nothing"),
        ("pss = true\ncolour = 3\n", ":2: unknown setting 'colour'"),
        ('pss = "yes"\n', ":1: pss: true or false"),
        ("interval = \n", "at line 1"),
        ("pids = [" + ", ".join(str(i) for i in range(1, 30)) + "]\n", ":1: pids: at most 20"),
    ],
)
def test_bad_toml_config_names_the_line(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "memlens.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load(str(path))
    message = str(caught.value)
    assert expected in message and "\n" not in message
    assert message.startswith(str(path))


def test_bad_yaml_config_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "memlens.yml"
    path.write_text("pss: true\ngroup:\n  - name: a\n    comm: x\n  - name: b\n    exe: '('\n")
    with pytest.raises(ConfigError, match=r"memlens.yml:5: group rule 2: exe: bad regex"):
        load(str(path))
    path.write_text("group: [\n")
    with pytest.raises(ConfigError, match=r"memlens.yml:2: "):
        load(str(path))


def test_yaml_and_toml_say_the_same(tmp_path: Path) -> None:
    toml = tmp_path / "a.toml"
    toml.write_text('pss = true\nlarge_rss = "2G"\n\n[[group]]\nname = "w"\ncomm = "^w$"\n')
    yml = tmp_path / "a.yaml"
    yml.write_text("pss: true\nlarge_rss: 2G\ngroup:\n  - {name: w, comm: '^w$'}\n")
    a, b = load(str(toml)), load(str(yml))
    assert a._replace(source="", rules=()) == b._replace(source="", rules=())
    assert a.large_rss == 2 << 30 and [r.name for r in a.rules] == [r.name for r in b.rules]


class _GatedExporter(Exporter):
    """Counts its reads; each waits for ``gate``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reads = 0
        self.gate = threading.Event()

    def read(self) -> Figures:
        self.reads += 1
        self.gate.wait(timeout=120)
        return super().read()


def test_concurrent_scrapes_share_one_read() -> None:
    exporter = _GatedExporter(ProcRoot.open(str(TREES / "sysv_memfd")), Config())
    shared = SharedRead(exporter, budget=120)
    results: list[Any] = []
    threads = [threading.Thread(target=lambda: results.append(shared.scrape())) for _ in range(8)]
    for t in threads:
        t.start()
    # every scraper waits on the one read (CPython's Condition keeps its waiters in _waiters)
    while len(shared._cond._waiters) < 8:  # type: ignore[attr-defined]
        threading.Event().wait(0.01)
    exporter.gate.set()
    for t in threads:
        t.join(timeout=120)
    assert exporter.reads == 1 and len(results) == 8
    assert results[0].figures is not None
    assert all(r.figures is results[0].figures for r in results)


def test_over_budget_serves_the_last_complete_figures() -> None:
    exporter = _GatedExporter(ProcRoot.open(str(TREES / "sysv_memfd")), Config())
    exporter.gate.set()
    shared = SharedRead(exporter, budget=120)
    first = shared.scrape()
    assert first.figures is not None and first.errors.get("over_budget", 0) == 0
    exporter.gate.clear()
    shared.budget = 0.01
    late = shared.scrape()  # the read waits on the gate: past the budget
    assert late.figures is first.figures
    assert late.errors["over_budget"] == 1
    exporter.gate.set()
    shared.budget = 120
    while exporter.reads < 2 or shared._reading:
        threading.Event().wait(0.01)
    fresh = shared.scrape()
    assert fresh.figures is not None and fresh.figures is not first.figures
