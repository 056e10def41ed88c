"""The compiled twin of pmap -X's table body (_pmaprows.c; pure code: pmap.py)."""

from collections.abc import Sequence

def rows(
    columns: tuple[Sequence[str] | Sequence[int], ...],
    kinds: str,
    min_widths: tuple[int, ...],
) -> tuple[str, tuple[int, ...]] | None: ...
