"""Making untrusted text (process names, file names) safe to print on a terminal."""

from __future__ import annotations


def _escape(ch: str) -> str:
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: the original byte
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def safe(text: str) -> str:
    """``text`` with every non-printable character escaped (\\xNN, \\uNNNN): C0/C1 controls,
    DEL, undecodable bytes, and format characters such as U+202E (right-to-left override), so
    a process named "\\x1b]0;owned\\x07" or "exe\\u202egnp.sh" cannot drive or fool the
    terminal."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escape(ch) for ch in text)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_text(text: str) -> str:
    """Text for a CSV cell: escaped as ``safe`` does (a terminal showing the file cannot be
    driven), and neutralised as a spreadsheet formula when it starts like one ("=HYPERLINK(...)",
    "+", "-", "@"): prefixed with "'", as OWASP's CSV injection guidance says."""
    text = safe(text)
    return "'" + text if text.startswith(_FORMULA_START) else text


def json_text(text: str) -> str:
    """Text for a JSON document: undecodable bytes (kept as surrogates) become \\xNN, since
    lone surrogates are not valid Unicode for strict JSON readers."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return text


def short(command: str, limit: int = 80) -> str:
    """A command line fit for a table row (JSON has it whole), made safe."""
    text = safe(command)
    return text if len(text) <= limit else text[: limit - 3] + "..."
