"""A terminal channel: one message per input line, replies printed as plain text.

It has no buttons and no documents on purpose, so the engine's fallbacks (numbered choices,
typed keywords) are always exercised. `ConsoleTransport` is the same terminal behind the seam the
outbox sender uses: it prints each part, and maps a closed stream to ContactUnreachable.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TextIO

from bot.channels.base import (
    CONSOLE,
    Attachment,
    ContactUnreachable,
    DeliveryUncertain,
    Incoming,
    MessageRefused,
    Outgoing,
    RetryLater,
    split_parts,
)
from bot.engine import Engine

CHANNEL = "console"


class ConsoleTransport:
    """Prints each part of a message on a text stream, as plain text."""

    caps = CONSOLE

    def __init__(self, out: TextIO, name: str = CHANNEL) -> None:
        self.out = out
        self.name = name

    def parts(self, message: Outgoing) -> list[Outgoing]:
        """Return the message cut within the terminal's limit."""
        return split_parts(message, CONSOLE)

    async def send(self, part: Outgoing) -> None:
        """Print one part; a terminal cannot show buttons or files."""
        if part.buttons or part.document is not None:
            raise MessageRefused("the terminal shows neither buttons nor files")
        try:
            self.write(part)
            self.out.flush()
        except (BrokenPipeError, ValueError) as error:  # the reader went away or closed it
            raise ContactUnreachable(str(error)) from error
        except TimeoutError as error:  # a stream over a socket: part of it may have gone out
            raise DeliveryUncertain(str(error)) from error
        except OSError as error:
            raise RetryLater(0, f"{type(error).__name__}: {error}") from error

    def write(self, part: Outgoing) -> None:
        """Write one part as the terminal shows it (stream errors are left to the caller)."""
        self.out.write(f"\n{part.text}\n")


class ConsoleChannel:
    """Chat with the engine as one contact of one unit through text streams."""

    def __init__(self, engine: Engine, chat_id: str, out: TextIO, echo: bool = False,
                 channel: str = CHANNEL) -> None:
        self.engine = engine
        self.chat_id = chat_id
        self.out = out
        self.echo = echo
        self.channel = channel
        self.transport = ConsoleTransport(out, channel)
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
        return await self.deliver(incoming, campaign_id)

    async def send_file(self, file: Attachment, campaign_id: int) -> list[Outgoing]:
        """Deliver a file the contact sends (kept already, bot/evidence.py); print the replies."""
        if self.echo:
            self.out.write(f"\n> [{file.name}]\n")
        incoming = Incoming(self.channel, self.chat_id, user_id=self.chat_id, attachment=file)
        return await self.deliver(incoming, campaign_id)

    async def deliver(self, incoming: Incoming, campaign_id: int) -> list[Outgoing]:
        """Hand one incoming to the engine and print the replies."""
        self.last = await self.engine.handle(incoming, CONSOLE, campaign_id)
        for reply in self.last:
            for part in self.transport.parts(reply):
                self.transport.write(part)
        self.out.flush()
        return self.last

    async def run(self, lines: Iterable[str], campaign_id: int) -> None:
        """Send every non-empty line as a message."""
        for line in lines:
            text = line.rstrip("\r\n")
            if text.strip():
                await self.send(text, campaign_id)
