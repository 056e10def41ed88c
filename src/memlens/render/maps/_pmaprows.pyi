"""The compiled twin of pmap's table bodies (_pmaprows.c; pure code: pmap.py)."""

from collections.abc import Sequence

def rows(
    columns: tuple[Sequence[str] | Sequence[int], ...],
    kinds: str,
    min_widths: tuple[int, ...],
) -> tuple[str, tuple[int, ...]] | None: ...
def printf(format: str, columns: tuple[Sequence[str] | Sequence[int], ...]) -> str | None: ...
