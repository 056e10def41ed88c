"""Addresses as users type them (``maps -A``, ``layout --addr``): hexadecimal, with or without
``0x``, within 64 bits; anything else is a usage error (exit 2), never a silent guess."""

from __future__ import annotations

import re

from memlens.errors import UsageError

_HEX = re.compile(r"(?:0[xX])?[0-9a-fA-F]+")
ADDRESS_MAX = (1 << 64) - 1


def parse_address(text: str, what: str) -> int:
    """One address in hexadecimal ("7f12ab000", "0x7f12ab000"). Python's int() would also take
    "-1", "+5", "1_000" and fullwidth digits: they are refused here."""
    if not text.isascii() or _HEX.fullmatch(text) is None:
        raise UsageError(f"{what} {text!r}: expected an address in hexadecimal (e.g. 7f3a5c000)")
    value = int(text, 16)
    if value > ADDRESS_MAX:
        raise UsageError(f"{what} {text!r}: beyond 64 bits (at most {ADDRESS_MAX:#x})")
    return value
