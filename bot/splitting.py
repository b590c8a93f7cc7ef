"""Cut a message into parts a channel accepts: the one splitter for every message (pure).

A part is at most `limit` characters, counted with its markup, so it fits whatever the platform
counts. Cuts fall at the last paragraph break in the second half of the part, else the last line
break, else a space in the second half; a word longer than that is cut where it must. So no part
is left half empty for a paragraph break: each part is a message, and Zalo's quota counts them.
In Telegram HTML a cut never falls inside a tag or an entity (``&amp;``); a tag open at the cut
is closed at the end of the part and opened again at the start of the next, so every part is
well-formed alone.
"""

from __future__ import annotations

import re
from html import unescape

from bot.texts import Format

__all__ = ["html_to_plain", "split_message"]

_TOKEN_RE = re.compile(r"<(?P<close>/?)(?P<name>[a-zA-Z][\w-]*)[^>]*>|&#?\w+;")
_SEPARATORS = (("\n\n", lambda room: room // 2), ("\n", lambda room: 0),
               (" ", lambda room: room // 2))
_MIN_ROOM = 40  # below this, reopened tags leave no room for text: drop the markup instead


def split_message(text: str, limit: int, fmt: Format = "plain") -> list[str]:
    """Return text in parts of at most `limit` characters, each well-formed in `fmt`."""
    if len(text) <= limit:
        return [text]
    if fmt == "plain":
        return _split_plain(text, limit)
    parts = _split_html(text, limit)
    if parts is None:  # nested deeper than a part can reopen: keep the words, drop the markup
        parts = _split_html(_strip_markup(text), limit) or []
    return parts


def _split_html(text: str, limit: int) -> list[str] | None:
    """Return the parts of Telegram HTML, reopening open tags; None if nesting leaves no room."""
    parts: list[str] = []
    opened: list[tuple[str, str]] = []  # (name, start tag) open where the rest begins
    rest = text
    while rest:
        prefix = "".join(tag for _, tag in opened)
        if len(prefix) + len(rest) <= limit:
            if _strip_markup(rest).strip():  # only closing tags left: nothing to read
                parts.append(prefix + rest)
            break
        cut, part, opened_after = _html_part(rest, prefix, opened, limit)
        if cut == 0:
            return None
        body = rest[:cut]
        if _strip_markup(body).strip():
            parts.append(part)
        opened, rest = opened_after, rest[cut:].lstrip()
    return parts


def _html_part(rest: str, prefix: str, opened: list[tuple[str, str]], limit: int
               ) -> tuple[int, str, list[tuple[str, str]]]:
    """Return the cut, the part and the tags open after it; cut 0 when no part fits."""
    room = limit - len(prefix)
    while room >= _MIN_ROOM:
        cut = _html_cut(rest, room)
        opened_after = _open_tags(rest[:cut], opened)
        closers = "".join(f"</{name}>" for name, _ in reversed(opened_after))
        part = prefix + rest[:cut].rstrip() + closers
        if len(part) <= limit:
            return cut, part, opened_after
        room -= len(part) - limit  # the closing tags need that much more room
    return 0, "", opened


def _split_plain(text: str, limit: int) -> list[str]:
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = _cut_point(rest, limit)
        piece = rest[:cut].rstrip()
        if piece.strip():
            parts.append(piece)
        rest = rest[cut:].lstrip()
    if rest.strip():
        parts.append(rest)
    return parts


def _cut_point(text: str, room: int) -> int:
    """Return where to cut text to keep at most `room` characters: at the best break.

    A paragraph break in the second half wins, else the last line break: a line that does not
    fit moves whole to the next part; a line longer than a part is cut at a space in its second
    half, or where it must.
    """
    for separator, earliest in _SEPARATORS:
        cut = text.rfind(separator, 0, room + 1)
        if cut > earliest(room):
            return cut
    return room


def _html_cut(text: str, room: int) -> int:
    """Return a cut point of at most `room` characters that is not inside a tag or entity."""
    cut = _cut_point(text, room)
    for token in _TOKEN_RE.finditer(text, 0, cut + 200):
        if token.start() < cut < token.end():
            return token.start() if token.start() > 0 else token.end()
        if token.start() >= cut:
            break
    return cut


def _open_tags(html: str, opened: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Return the tags still open after html, given those open before it."""
    stack = list(opened)
    for token in _TOKEN_RE.finditer(html):
        name = token["name"]
        if name is None:
            continue  # an entity
        if token["close"]:
            for index in range(len(stack) - 1, -1, -1):
                if stack[index][0] == name.lower():
                    del stack[index]
                    break
        else:
            stack.append((name.lower(), token.group()))
    return stack


def _strip_markup(html: str) -> str:
    """Return the text of Telegram HTML without tags, entities kept escaped."""
    return re.sub(r"<[^>]*>", "", html)


def html_to_plain(html: str) -> str:
    """Return what a person reads in Telegram HTML, as plain text (tags dropped, entities read)."""
    return unescape(_strip_markup(html))
