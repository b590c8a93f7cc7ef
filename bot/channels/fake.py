"""A recording fake of the channel seam, as strict as a real platform (for tests).

`RecordingTransport` cuts messages with the one splitter and records every part it accepts; it
refuses, as a platform would, a part longer than its limit, buttons or a document it cannot
carry, an empty text, and Telegram HTML that is not well-formed. It can be told to fail the next
send with any channel error, with or without the part arriving (a lost answer), and a chat can
block the bot. `RecordingChannel` wraps it in the hub's `Channel` protocol.

    channel = RecordingChannel("zalo", ZALO_BOT)
    hub.add(channel)
    channel.transport.block("42")      # that person blocked the bot
    channel.transport.texts("42")      # what that person received, part by part
"""

from __future__ import annotations

import asyncio
from collections import deque
from html.parser import HTMLParser

from bot.channels.base import (
    TELEGRAM,
    Capabilities,
    ChannelError,
    ContactUnreachable,
    MessageRefused,
    Outgoing,
    split_parts,
)
from bot.invites import Way

# Telegram's HTML: the tags it accepts (https://core.telegram.org/bots/api#html-style).
HTML_TAGS = frozenset({"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span",
                       "tg-spoiler", "a", "code", "pre", "blockquote", "tg-emoji"})


class _Balance(HTMLParser):
    """Finds the first thing that makes Telegram HTML ill-formed."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.open: list[str] = []
        self.problem: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in HTML_TAGS:
            self.problem = self.problem or f"unsupported tag <{tag}>"
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.problem = self.problem or f"</{tag}> closes nothing open"
        else:
            self.open.pop()

    def handle_data(self, data: str) -> None:
        if "<" in data or "&" in data:
            self.problem = self.problem or f"unescaped markup in {data[:30]!r}"


def html_problem(text: str) -> str | None:
    """Return why Telegram would refuse this HTML (unbalanced, unknown tag, stray <), or None."""
    checker = _Balance()
    checker.feed(text)
    checker.close()
    if checker.rawdata:
        checker.problem = checker.problem or f"unfinished markup {checker.rawdata[:30]!r}"
    if checker.open:
        checker.problem = checker.problem or f"<{checker.open[-1]}> never closed"
    return checker.problem


class RecordingTransport:
    """A platform in memory: records what it accepts, refuses what a real one would."""

    def __init__(self, name: str = "fake", caps: Capabilities = TELEGRAM) -> None:
        self.name = name
        self.caps = caps
        self.sent: list[Outgoing] = []
        self.refused: list[tuple[Outgoing, str]] = []
        self.blocked: set[str] = set()
        self.faults: deque[tuple[ChannelError, bool]] = deque()

    def parts(self, message: Outgoing) -> list[Outgoing]:
        """Return the message cut within the limit by the one splitter, then its document."""
        return split_parts(message, self.caps)

    def fail_next(self, error: ChannelError, delivered: bool = False) -> None:
        """Make the next send raise `error`; `delivered` records the part first (lost answer)."""
        self.faults.append((error, delivered))

    def block(self, chat_id: str) -> None:
        """Act as if this person blocked the bot: every later send to them is unreachable."""
        self.blocked.add(chat_id)

    async def send(self, part: Outgoing) -> None:
        """Accept and record one part, or raise the error a platform would."""
        if part.chat_id in self.blocked:
            raise ContactUnreachable("Forbidden: bot was blocked by the user")
        if self.faults:
            error, delivered = self.faults.popleft()
            if delivered:
                self.sent.append(part)
            raise error
        problem = self.refusal(part)
        if problem is not None:
            self.refused.append((part, problem))
            raise MessageRefused(problem)
        self.sent.append(part)

    def refusal(self, part: Outgoing) -> str | None:
        """Return why this platform refuses the part, or None."""
        if part.document is not None and not self.caps.documents:
            return "this channel cannot send documents"
        if part.buttons and not self.caps.buttons:
            return "this channel has no buttons"
        if part.document is None and not part.text.strip():
            return "message text is empty"
        if len(part.text) > self.caps.max_length:
            return f"message is too long ({len(part.text)} > {self.caps.max_length})"
        if self.caps.format == "html":
            return html_problem(part.text)
        return None

    def texts(self, chat_id: str | None = None) -> list[str]:
        """Return the text of every part accepted (for one chat, if given), in order."""
        return [p.text for p in self.sent if chat_id is None or p.chat_id == chat_id]


class RecordingChannel:
    """The hub's `Channel` around a RecordingTransport: no invite links, nothing to connect."""

    def __init__(self, name: str = "fake", caps: Capabilities = TELEGRAM) -> None:
        self.name = name
        self.caps = caps
        self.transport = RecordingTransport(name, caps)

    def invite(self, token: str) -> Way | None:
        """Return no way of its own: a contact binds by typing /start <token>."""
        return None

    async def start(self) -> None:
        """Connect to nothing."""

    async def run(self, stop: asyncio.Event) -> None:
        """Wait until `stop` is set (the tests hand incoming to the hub themselves)."""
        await stop.wait()

    async def stop(self) -> None:
        """Release nothing."""
