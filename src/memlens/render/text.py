"""Making untrusted text (process names, file names) safe to print on a terminal."""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, and lone surrogates (undecodable bytes): shown escaped, never raw,
# so a process named "\x1b]0;owned\x07" cannot drive the terminal.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def _escape(m: re.Match[str]) -> str:
    ch = m.group()
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: the original byte
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe(text: str) -> str:
    """``text`` with control characters and undecodable bytes shown as \\xNN escapes."""
    if text.isprintable():
        return text
    return _UNSAFE.sub(_escape, text)
