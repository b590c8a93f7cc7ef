"""Text that every reader shares: ParseError, folding for matching, and normalised free text.

Every failure is a ParseError whose code names the message template ``error.<code>`` in
templates/messages/parsing.yaml; its params are the template variables.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["ParseError", "fold", "folded", "lowered_text", "normalize_text"]


class ParseError(ValueError):
    """A typed answer that cannot be read; code names the message shown to the person."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params: dict[str, object] = params


_LINE_SPACE_RE = re.compile(r"[^\S\n]+")
_COMBINING = {cp: None for cp in range(0x10000) if unicodedata.combining(chr(cp))}


def fold(text: str) -> str:
    """Return text lower-cased, without diacritics (đ→d) and with single spaces, for matching."""
    lowered = unicodedata.normalize("NFC", text).lower().replace("đ", "d")
    bare = unicodedata.normalize("NFD", lowered).translate(_COMBINING)
    if not bare.isascii():  # combining marks outside the Basic Multilingual Plane
        bare = "".join(c for c in bare if not unicodedata.combining(c))
    return " ".join(bare.split())


def lowered_text(text: str) -> str:
    """Return NFC text lower-cased with single spaces; it keeps diacritics, unlike fold."""
    return " ".join(unicodedata.normalize("NFC", text).lower().split())


def normalize_text(text: str) -> str:
    """Return NFC text with single spaces, trimmed lines and at most one blank line in a row."""
    lines: list[str] = []
    for line in unicodedata.normalize("NFC", text).splitlines():
        line = _LINE_SPACE_RE.sub(" ", line).strip()
        if line or (lines and lines[-1]):
            lines.append(line)
    return "\n".join(lines).strip("\n")


def folded(text: str) -> str:
    """Return the folded text, raising empty when nothing is left."""
    folded = fold(text)
    if not folded:
        raise ParseError("empty")
    return folded
