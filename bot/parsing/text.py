"""Text that every reader shares: ParseError, folding for matching, and normalised free text.

Every failure is a ParseError whose code names the message template ``error.<code>`` in
templates/messages/parsing.yaml; its params are the template variables.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

__all__ = [
    "ParseError", "clean_text", "clean_value", "fold", "folded", "lowered_text", "normalize_text",
]


class ParseError(ValueError):
    """A typed answer that cannot be read; code names the message shown to the person."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params: dict[str, object] = params


_LINE_SPACE_RE = re.compile(r"[^\S\n]+")
# Never meant by a person, refused by openpyxl or XML, or able to reorder what others read: C0
# controls but tab and newline, DEL and C1 controls, bidi embeddings, overrides and isolates, the
# byte-order mark, noncharacters and lone surrogates.
_UNWANTED_RE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\ufffe\uffff"
    "\ud800-\udfff]"
)
_BREAKS = str.maketrans({"\r": "\n", "\u2028": "\n", "\u2029": "\n"})
_DIRTY_RE = re.compile("[\r\u2028\u2029" + _UNWANTED_RE.pattern[1:])  # what clean_text changes
_COMBINING = {cp: None for cp in range(0x10000) if unicodedata.combining(chr(cp))}


def fold(text: str) -> str:
    """Return text lower-cased, without diacritics (đ→d) and with single spaces, for matching."""
    lowered = unicodedata.normalize("NFC", text).lower().replace("đ", "d")
    bare = unicodedata.normalize("NFD", lowered).translate(_COMBINING)
    if not bare.isascii():  # combining marks outside the Basic Multilingual Plane
        bare = "".join(c for c in bare if not unicodedata.combining(c))
    return " ".join(bare.split())


def clean_text(text: str) -> str:
    """Return text as a person meant it: NFC, line breaks as "\\n", no invisible controls.

    Applied once where text enters (every Incoming) and again by every output writer, for data
    stored before.
    """
    if _DIRTY_RE.search(text) is None and unicodedata.is_normalized("NFC", text):
        return text  # already clean: most text, and every text stored since it came in
    unified = text.replace("\r\n", "\n").translate(_BREAKS)
    return unicodedata.normalize("NFC", _UNWANTED_RE.sub("", unified))


def clean_value(value: Any) -> Any:
    """Return a stored answer value with `clean_text` applied to every string inside it."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {k: clean_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_value(v) for v in value]
    return value


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
