"""heaptrack_print's leak report, parsed (text as heaptrack 1.4 prints it)."""

from __future__ import annotations

from memlens.analysis.heaptrack import parse_leaks, total_leaked
from memlens.models.heaptrack import LeakStack

OUTPUT = """reading file "ht4.zst" - please wait, this might take some time...
Debuggee command was: ./leak2
finished reading file, now analyzing data:

MEMORY LEAKS
4.00M leaked over 20 calls from
  grow
    at /tmp/leak2.c:5
    in /tmp/leak2
  cache_put
    at /tmp/leak2.c:6
    in /tmp/leak2
  main
    at /tmp/leak2.c:8
    in /tmp/leak2

20.00K leaked over 1 call from
  malloc
    in /lib/x86_64-linux-gnu/libc.so.6
  log_line
    at /tmp/leak2.c:7
    in /tmp/leak2



total runtime: 0.41s.
calls to allocation functions: 41 (98/s)
temporary memory allocations: 0 (0/s)
peak heap memory consumption: 4.09M
peak RSS (including heaptrack overhead): 7.97M
total memory leaked: 4.02M
"""


def test_leaked_stacks_largest_first_with_their_frames() -> None:
    assert parse_leaks(OUTPUT) == (
        LeakStack(
            4_000_000,
            20,
            (
                "grow (/tmp/leak2.c:5)",
                "cache_put (/tmp/leak2.c:6)",
                "main (/tmp/leak2.c:8)",
            ),
        ),
        LeakStack(
            20_000,
            1,
            ("malloc [/lib/x86_64-linux-gnu/libc.so.6]", "log_line (/tmp/leak2.c:7)"),
        ),
    )
    assert total_leaked(OUTPUT) == 4_020_000


def test_the_limit_and_a_report_without_leaks() -> None:
    assert len(parse_leaks(OUTPUT, limit=1)) == 1
    assert parse_leaks("total memory leaked: 0B\n") == ()
    assert total_leaked("total memory leaked: 0B\n") == 0
