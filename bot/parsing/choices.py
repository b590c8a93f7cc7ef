"""Answers picked from a list: yes or no, one option, several options (by number or label)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.parsing.text import ParseError, fold, normalize_text
from bot.parsing.text import folded as _folded

__all__ = ["parse_choice", "parse_multichoice", "parse_yesno"]

# "1" and "2" follow the numbered fallback the engine offers without buttons: 1 = Có, 2 = Không.
_YES = frozenset(
    {"co", "yes", "y", "roi", "da", "dung", "ok", "oke", "okay", "oki", "vang", "u", "uh", "um",
     "phai", "co roi", "da co", "dung roi", "dung vay", "chinh xac", "dong y", "ok roi", "true",
     "1"}
)  # fmt: skip
_NO = frozenset(
    {"khong", "ko", "k", "kg", "khg", "kh", "hong", "hok", "no", "n", "chua", "chua co", "sai",
     "khong co", "ko co", "k co", "khong phai", "khong dung", "chua dung", "khong dong y",
     "chua roi", "false", "0", "2"}
)  # fmt: skip
_PARTICLES = frozenset({"a", "nhe", "nha", "day", "vay", "chu", "ha"})
_PUNCT_RE = re.compile(r"[^\w\s]+")


def parse_yesno(text: str) -> bool:
    """Read yes or no: "có", "ko", "rồi", "chưa có", "Có ạ."."""
    words = _PUNCT_RE.sub(" ", _folded(text)).split()
    while len(words) > 1 and words[-1] in _PARTICLES:
        words.pop()
    if len(words) > 1 and words[0] == "da":  # polite "dạ" before the real answer
        words.pop(0)
    key = " ".join(words)
    if key in _YES:
        return True
    if key in _NO:
        return False
    raise ParseError("not_yesno")


# --- choices -----------------------------------------------------------------------------------

_OPTION_NUMBER_RE = re.compile(r"(?:(?:so|chon|phuong an|lua chon) ?)?#? ?(?P<n>[0-9]{1,9})\)?")
_NUMBERED_LABEL_RE = re.compile(r"(?P<n>[0-9]{1,9})[.)] ?(?P<label>.+)")
_SPACED_NUMBERS_RE = re.compile(r"[0-9]{1,9}(?: [0-9]{1,9})+")
_ITEM_SEP_RE = re.compile(r"([,;\n]| (?:và|va) )", re.IGNORECASE)
_SEVERAL_NUMBERS_RE = re.compile(r"[0-9]+(?: ?(?:[,;/&+]|va) ?[0-9]+| [0-9]+)+")


def _key(text: str) -> str:
    """Return the form in which a typed item and an option label are compared."""
    return fold(text).strip(" .,;:!?")


def _match_option(item: str, options: Sequence[str]) -> int | None:
    """Return the index of the option an item names by label, number or prefix; None if none."""
    key, keys = _key(item), [_key(option) for option in options]
    if key in keys:
        return keys.index(key)
    number = _OPTION_NUMBER_RE.fullmatch(key)
    if number and options:
        if 1 <= int(number["n"]) <= len(options):
            return int(number["n"]) - 1
        raise ParseError("option_out_of_range", item=item, count=len(options))
    numbered = _NUMBERED_LABEL_RE.fullmatch(key)
    if numbered and keys[int(numbered["n"]) - 1 : int(numbered["n"])] == [_key(numbered["label"])]:
        return int(numbered["n"]) - 1
    hits = [i for i, option_key in enumerate(keys) if len(key) >= 3 and option_key.startswith(key)]
    if len(hits) > 1:
        raise ParseError("ambiguous_option", item=item, count=len(options))
    return hits[0] if hits else None


def parse_choice(
    text: str, options: Sequence[str], other: bool
) -> tuple[tuple[str, ...], str | None]:
    """Read one option by number or label; unmatched text is the "other" answer if allowed."""
    typed = normalize_text(text)
    if not typed:
        raise ParseError("empty")
    index = _match_option(typed, options)
    if index is not None:
        return (options[index],), None
    if _SEVERAL_NUMBERS_RE.fullmatch(_key(typed)):  # "1, 3": several picks, not an "other" text
        raise ParseError("single_choice", count=len(options))
    if other:
        return (), typed
    raise ParseError("unknown_option", item=typed, count=len(options))


def _items(typed: str, options: Sequence[str]) -> list[str]:
    """Split a multichoice answer into items, keeping labels that contain a separator whole."""
    if _SPACED_NUMBERS_RE.fullmatch(typed):
        return typed.split()
    tokens = _ITEM_SEP_RE.split(typed)  # piece, separator, piece, ...
    labels = {_key(option) for option in options}
    widest = 1 + max((len(_ITEM_SEP_RE.findall(option)) for option in options), default=0)
    count, items, i = len(tokens) // 2 + 1, [], 0
    while i < count:
        spans = range(min(count, i + widest), i + 1, -1)
        j = next((j for j in spans if _key("".join(tokens[2 * i : 2 * j - 1])) in labels), i + 1)
        items.append("".join(tokens[2 * i : 2 * j - 1]).strip())
        i = j
    return [item for item in items if item]


def parse_multichoice(
    text: str, options: Sequence[str], other: bool
) -> tuple[tuple[str, ...], str | None]:
    """Read several options ("1, 3", "1 và 3", labels); unmatched items form the other text."""
    typed = normalize_text(text)
    try:
        whole = _match_option(typed, options) if typed else None
    except ParseError:
        whole = None
    if whole is not None:
        return (options[whole],), None
    picked: set[int] = set()
    others: dict[str, str] = {}
    for item in _items(typed, options):
        index = _match_option(item, options)
        if index is not None:
            picked.add(index)
        elif other:
            others.setdefault(_key(item), item)
        else:
            raise ParseError("unknown_option", item=item, count=len(options))
    if not picked and not others:
        raise ParseError("empty")
    selected = tuple(option for i, option in enumerate(options) if i in picked)
    return selected, ", ".join(others.values()) or None
