"""The compiled twin of smaps_parser.py and maps_parser.py (see _smaps.c): None where the
input is not in the kernel's canonical format, and the pure-Python parser decides."""

MapsColumns = tuple[
    tuple[int, ...],
    tuple[int, ...],
    tuple[str, ...],
    tuple[int, ...],
    tuple[str, ...],
    tuple[int, ...],
    tuple[str, ...],
]
SmapsColumns = tuple[
    tuple[int, ...],
    tuple[int, ...],
    tuple[str, ...],
    tuple[int, ...],
    tuple[str, ...],
    tuple[int, ...],
    tuple[str, ...],
    tuple[str, ...],
    tuple[bool, ...],
    tuple[tuple[str, ...], ...],
    tuple[str, ...],
]

def parse_smaps(data: bytes, /) -> SmapsColumns | None: ...
def parse_maps(data: bytes, /) -> MapsColumns | None: ...
