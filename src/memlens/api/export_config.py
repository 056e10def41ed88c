"""The exporter's configuration: grouping rules, cost guards, labels (TOML, or YAML).

A file is read whole and checked whole: any mistake is a ConfigError naming the file and the
line (TOML syntax errors carry it; a wrong rule is found by the line of its ``[[group]]``
header, or of its YAML mapping). Rules are tried in order and the first that matches a process
names its group; a process no rule matches is grouped by program (its executable's base name,
else its comm). Nothing of the command line reaches a label unless a rule's name template asks
for ``{cmdline}``, and then only after the ``[[redact]]`` substitutions.
"""

from __future__ import annotations

import re
import string
import tomllib
from collections.abc import Mapping
from typing import Any

from memlens.errors import ExitStatus, MemlensError
from memlens.models.record import NamedTuple

MAX_PIDS = 20  # a pid label multiplies series: only for a short list
SIZE_SUFFIXES = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
MATCH_KEYS = ("comm", "exe", "cmdline", "user", "cgroup")
TEMPLATE_FIELDS = frozenset({"comm", "exe", "user", "cgroup", "cmdline", "program"})


class ConfigError(MemlensError):
    exit_status = ExitStatus.CONFIG_ERROR


class Facts(NamedTuple):
    """What a rule may match on, of one process (read once, when it is found)."""

    comm: str
    exe: str | None  # the executable's path, where readable
    cmdline: str
    user: str
    cgroup: str  # the cgroup v2 path ("0::/..."), or the first hierarchy's; "" if unknown

    @property
    def program(self) -> str:
        return self.exe.rsplit("/", 1)[-1] if self.exe else self.comm


class Rule(NamedTuple):
    name: str  # a str.format template
    match: Mapping[str, re.Pattern[str]]  # key -> regex (user: the whole name)
    pss: bool
    line: int


class Redaction(NamedTuple):
    pattern: re.Pattern[str]
    replace: str


class Config(NamedTuple):
    rules: tuple[Rule, ...] = ()
    pss: bool = False  # for processes grouped by program (no rule matched)
    pids: tuple[int, ...] = ()
    redact: tuple[Redaction, ...] = ()
    interval: float = 15.0  # the expected scrape interval, seconds
    budget: float = 5.0  # a scrape waits this long for fresh figures
    window: float = 600.0  # the growth slope's rolling window, seconds
    large_rss: int | None = 1 << 30
    large_every: float = 300.0
    source: str = "(defaults)"

    def group_of(self, facts: Facts) -> tuple[str, bool]:
        """The group of a process and whether its PSS/USS are read: the first rule that
        matches, else its program."""
        for rule in self.rules:
            fields = _matches(rule, facts)
            if fields is not None:
                if "cmdline" in _fields_of(rule.name):
                    fields["cmdline"] = self.redacted(facts.cmdline)
                return rule.name.format_map(fields), rule.pss
        return facts.program, self.pss

    def redacted(self, text: str) -> str:
        for r in self.redact:
            text = r.pattern.sub(r.replace, text)
        return text


def _matches(rule: Rule, facts: Facts) -> dict[str, str] | None:
    fields = {
        "comm": facts.comm,
        "exe": facts.exe or "",
        "user": facts.user,
        "cgroup": facts.cgroup,
        "program": facts.program,
    }
    for key, regex in rule.match.items():
        value = facts.cmdline if key == "cmdline" else fields[key]
        found = regex.fullmatch(value) if key == "user" else regex.search(value)
        if found is None:
            return None
        fields.update({k: v for k, v in found.groupdict().items() if v is not None})
    return fields


def _fields_of(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}


def load(path: str) -> Config:
    """Read and check a TOML (``.toml``) or YAML (anything else) config file."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror}") from None
    try:
        text = data.decode()
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 (byte {exc.start})") from None
    if path.endswith(".toml"):
        raw, lines = _toml(path, text)
    else:
        raw, lines = _yaml(path, text)
    return parse(raw, path, lines)


def _toml(path: str, text: str) -> tuple[dict[str, Any], dict[str, int]]:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    lines: dict[str, int] = {}
    counts = {"group": 0, "redact": 0}
    for number, line in enumerate(text.splitlines(), 1):
        header = re.match(r"\s*\[\[\s*(group|redact)\s*\]\]", line)
        if header:
            lines[f"{header[1]}.{counts[header[1]]}"] = number
            counts[header[1]] += 1
        elif (key := re.match(r"\s*([a-z_]+)\s*=", line)) and not any(counts.values()):
            lines.setdefault(key[1], number)
    return raw, lines


def _yaml(path: str, text: str) -> tuple[dict[str, Any], dict[str, int]]:
    import yaml  # the export extra

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{mark.line + 1}" if mark is not None else "?"
        raise ConfigError(f"{path}:{where}: {getattr(exc, 'problem', exc)}") from None
    lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            lines[str(key.value)] = key.start_mark.line + 1
            if isinstance(value, yaml.SequenceNode):
                for i, item in enumerate(value.value):
                    lines[f"{key.value}.{i}"] = item.start_mark.line + 1
    return raw if raw is not None else {}, lines


class _Where:
    def __init__(self, path: str, lines: Mapping[str, int]) -> None:
        self.path, self.lines = path, lines

    def error(self, key: str, message: str) -> ConfigError:
        line = self.lines.get(key)
        return ConfigError(f"{self.path}:{line if line else '?'}: {message}")


def parse(raw: Mapping[str, Any], path: str = "config", lines: Mapping[str, int] = {}) -> Config:
    """A Config from loaded TOML/YAML data; ``lines`` gives the line of top-level keys and
    of each rule ("group.0") for the error messages."""
    where = _Where(path, lines)
    if not isinstance(raw, Mapping):
        raise where.error("", "expected a mapping of settings")
    known = {"group", "redact", "pss", "pids", "interval", "budget", "window"}
    known |= {"large_rss", "large_every"}
    for key in raw:
        if key not in known:
            raise where.error(key, f"unknown setting {key!r} (known: {', '.join(sorted(known))})")
    rules = tuple(_rule(item, i, where) for i, item in enumerate(_list(raw, "group", where)))
    redact = tuple(_redaction(item, i, where) for i, item in enumerate(_list(raw, "redact", where)))
    pids = raw.get("pids", [])
    if not isinstance(pids, list) or not all(isinstance(p, int) and p > 0 for p in pids):
        raise where.error("pids", "pids: a list of process ids")
    if len(pids) > MAX_PIDS:
        raise where.error("pids", f"pids: at most {MAX_PIDS} (each one adds series)")
    return Config(
        rules=rules,
        pss=_bool(raw, "pss", False, where),
        pids=tuple(pids),
        redact=redact,
        interval=_seconds(raw, "interval", 15.0, where),
        budget=_seconds(raw, "budget", 5.0, where),
        window=_seconds(raw, "window", 600.0, where),
        large_rss=_size(raw.get("large_rss", 1 << 30), where),
        large_every=_seconds(raw, "large_every", 300.0, where),
        source=path,
    )


def _list(raw: Mapping[str, Any], key: str, where: _Where) -> list[Mapping[str, Any]]:
    items = raw.get(key, [])
    if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
        raise where.error(key, f"{key}: a list of tables ([[{key}]])")
    return items


def _rule(item: Mapping[str, Any], i: int, where: _Where) -> Rule:
    key = f"group.{i}"
    for k in item:
        if k not in (*MATCH_KEYS, "name", "pss"):
            raise where.error(key, f"group rule {i + 1}: unknown key {k!r}")
    match: dict[str, re.Pattern[str]] = {}
    named: set[str] = set()
    for k in MATCH_KEYS:
        if k in item:
            value = item[k]
            if not isinstance(value, str):
                raise where.error(key, f"group rule {i + 1}: {k} must be a string")
            pattern = re.escape(value) if k == "user" else value
            try:
                match[k] = re.compile(pattern)
            except re.error as exc:
                raise where.error(key, f"group rule {i + 1}: {k}: bad regex: {exc}") from None
            named |= set(match[k].groupindex)
    if not match:
        raise where.error(key, f"group rule {i + 1}: matches nothing (give {'/'.join(MATCH_KEYS)})")
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise where.error(key, f"group rule {i + 1}: a name (template) is required")
    try:
        fields = _fields_of(name)
    except ValueError as exc:
        raise where.error(key, f"group rule {i + 1}: name: {exc}") from None
    unknown = fields - TEMPLATE_FIELDS - named
    if unknown:
        raise where.error(
            key,
            f"group rule {i + 1}: name uses {{{sorted(unknown)[0]}}}: not one of "
            f"{', '.join(sorted(TEMPLATE_FIELDS))} nor a named group of its regexes",
        )
    return Rule(name, match, _bool(item, "pss", False, where, key), where.lines.get(key, 0))


def _redaction(item: Mapping[str, Any], i: int, where: _Where) -> Redaction:
    key = f"redact.{i}"
    pattern, replace = item.get("pattern"), item.get("replace", "***")
    if not isinstance(pattern, str) or not isinstance(replace, str):
        raise where.error(key, f"redact rule {i + 1}: pattern and replace are strings")
    try:
        return Redaction(re.compile(pattern), replace)
    except re.error as exc:
        raise where.error(key, f"redact rule {i + 1}: bad regex: {exc}") from None


def _bool(raw: Mapping[str, Any], key: str, default: bool, where: _Where, at: str = "") -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise where.error(at or key, f"{key}: true or false")
    return value


def _seconds(raw: Mapping[str, Any], key: str, default: float, where: _Where) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise where.error(key, f"{key}: a number of seconds above 0")
    return float(value)


def _size(value: object, where: _Where) -> int | None:
    """Bytes: an integer, or "512M", "1G", "1GiB"; false for no limit."""
    if value is False:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    found = re.fullmatch(r"\s*(\d+)\s*([KMGT]?)(?:i?B)?\s*", str(value), re.IGNORECASE)
    if found is None or isinstance(value, bool):
        raise where.error("large_rss", 'large_rss: bytes, like 1073741824 or "1G", or false')
    return int(found[1]) * SIZE_SUFFIXES[found[2].upper()]
