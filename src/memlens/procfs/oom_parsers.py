"""Kernel log lines of OOM kills (mm/oom_kill.c, __oom_kill_process and dump_oom_victim)."""

from __future__ import annotations

import re

from memlens.models.oom import OomKill

_KILLED = re.compile(
    r"(?P<kind>Out of memory|Memory cgroup out of memory): Killed process (?P<pid>\d{1,10}) "
    r"\((?P<comm>.*)\) total-vm:\d+kB, anon-rss:(?P<anon>\d{1,17})kB, "
    r"file-rss:(?P<file>\d{1,17})kB, shmem-rss:(?P<shmem>\d{1,17})kB, UID:(?P<uid>\d{1,10}) "
    r"pgtables:(?P<pt>\d{1,17})kB oom_score_adj:(?P<adj>-?\d{1,5})"
)
_CONTEXT_KEYS = ("constraint", "oom_memcg", "task_memcg", "pid")


def _context(message: str) -> dict[str, str]:
    """``oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),...,oom_memcg=/a,task_memcg=/a,
    task=python3,pid=7404,uid=0``: the keys memlens uses (values may not hold commas)."""
    out = {}
    for key in _CONTEXT_KEYS:
        match = re.search(rf"(?:^|,|:){key}=([^,]*)", message)
        if match:
            out[key] = match.group(1)
    return out


def parse_oom_kills(records: list[tuple[int, str]], boot_time: float | None) -> list[OomKill]:
    """The kills in kernel log records (microseconds since boot, message), oldest first."""
    kills = []
    context: dict[str, str] = {}
    for usec, message in records:
        if message.startswith("oom-kill:"):
            context = _context(message)
            continue
        match = _KILLED.search(message)
        if match is None:
            continue
        pid = int(match["pid"])
        ctx = context if context.get("pid") == str(pid) else {}
        kills.append(
            OomKill(
                time=None if boot_time is None else boot_time + usec / 1e6,
                pid=pid,
                command=match["comm"],
                memcg=match["kind"].startswith("Memory cgroup"),
                constraint=ctx.get("constraint"),
                oom_memcg=ctx.get("oom_memcg"),
                task_memcg=ctx.get("task_memcg"),
                anon_rss=int(match["anon"]) << 10,
                file_rss=int(match["file"]) << 10,
                shmem_rss=int(match["shmem"]) << 10,
                page_tables=int(match["pt"]) << 10,
                oom_score_adj=int(match["adj"]),
                uid=int(match["uid"]),
            )
        )
        context = {}
    return kills
