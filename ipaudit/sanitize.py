"""The one sanitiser for text from the outside world on its way to a terminal.

Lease hostnames, manifest names, router error bodies and DHCP strings can hold ESC
sequences and control characters that would move the cursor, rewrite earlier lines
or set the window title. Tables, notes and one-line errors pass every piece of
outside text through ``clean``; JSON is left exact (``json.dumps`` escapes controls).
"""

from __future__ import annotations

import re

# C0 controls except tab and newline, DEL, and the C1 controls (U+0080-U+009F: a lone CSI is U+009B).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Bidi overrides and isolates can make a line display in an order other than its bytes.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match) -> str:
    return f"\\x{ord(match.group()):02x}"


def clean(text: object, keep_newlines: bool = True) -> str:
    """``text`` with every control character shown as ``\\xNN`` (newlines kept unless told otherwise)."""
    value = str(text)
    value = _CONTROL.sub(_visible, value)
    value = _BIDI.sub(lambda match: f"\\u{ord(match.group()):04x}", value)
    if not keep_newlines:
        value = value.replace("\n", "\\n")
    return value.replace("\t", " ")


def one_line(text: object) -> str:
    """``clean`` folded onto one line, for error messages."""
    return " ".join(clean(text, keep_newlines=True).split())
