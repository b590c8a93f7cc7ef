"""A terminal channel: one message per input line, replies printed as plain text.

It has no buttons and no documents on purpose, so the engine's fallbacks (numbered choices,
typed keywords) are always exercised.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TextIO

from bot.channels.base import CONSOLE, Incoming, Outgoing
from bot.engine import Engine

CHANNEL = "console"


class ConsoleChannel:
    """Chat with the engine as one contact of one unit through text streams."""

    def __init__(self, engine: Engine, chat_id: str, out: TextIO, echo: bool = False,
                 channel: str = CHANNEL) -> None:
        self.engine = engine
        self.chat_id = chat_id
        self.out = out
        self.echo = echo
        self.channel = channel
        self.last: list[Outgoing] = []

    async def open(self, unit_code: str, campaign_id: int) -> list[Outgoing]:
        """Bind this terminal to the unit and show the greeting or where the contact was."""
        await self.engine.bind(self.channel, self.chat_id, unit_code)
        return await self.send(None, campaign_id)

    async def send(self, text: str | None, campaign_id: int) -> list[Outgoing]:
        """Deliver one message (None = just opened) and print the replies."""
        if self.echo and text is not None:
            self.out.write(f"\n> {text}\n")
        incoming = Incoming(self.channel, self.chat_id, user_id=self.chat_id, text=text)
        self.last = await self.engine.handle(incoming, CONSOLE, campaign_id)
        for reply in self.last:
            self.out.write(f"\n{reply.text}\n")
        self.out.flush()
        return self.last

    async def run(self, lines: Iterable[str], campaign_id: int) -> None:
        """Send every non-empty line as a message."""
        for line in lines:
            text = line.rstrip("\r\n")
            if text.strip():
                await self.send(text, campaign_id)
