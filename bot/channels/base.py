"""What crosses the channel seam: Incoming messages, Outgoing replies, a channel's Capabilities.

Ids are opaque strings everywhere, so Telegram's integers, Zalo's strings and the terminal's
names all fit. Nothing here knows a platform. What a person typed is cleaned as an Incoming is
made (`clean_text`: NFC, no control characters, no bidi overrides, no lone surrogates).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from bot.parsing.text import clean_text
from bot.splitting import split_message
from bot.texts import Format


@dataclass(frozen=True)
class Capabilities:
    """What a channel can carry; the engine falls back when something is missing."""

    buttons: bool
    documents: bool
    max_length: int
    format: Format
    uploads: bool = False  # a person can send the bot a file (a campaign file with /new)
    max_buttons: int | None = None  # buttons one message can carry (None: no limit)


CONSOLE = Capabilities(buttons=False, documents=False, max_length=100_000, format="plain")
TELEGRAM = Capabilities(buttons=True, documents=True, max_length=4096, format="html",
                        uploads=True)
ZALO_BOT = Capabilities(buttons=False, documents=False, max_length=2000, format="plain")
ZALO_OA = Capabilities(buttons=True, documents=True, max_length=2000, format="plain",
                       uploads=True, max_buttons=5)


@dataclass(frozen=True)
class Attachment:
    """A file a person sent, already kept by the channel."""

    name: str
    mime: str
    size: int
    file_id: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", clean_text(self.name))


@dataclass(frozen=True)
class Incoming:
    """One thing a person did: typed text, pressed a button or sent a file."""

    channel: str
    chat_id: str
    user_id: str | None = None
    text: str | None = None
    button: str | None = None
    attachment: Attachment | None = None
    message_id: str | None = None  # deduplication key; None when the channel has none
    name: str | None = None
    switched_from: str | None = None  # set by the engine: the unit an invite moved this chat from

    def __post_init__(self) -> None:
        # The one edge every channel's text crosses: cleaned here, once, for all of them.
        for attribute in ("text", "name"):
            value = getattr(self, attribute)
            if value is not None:
                object.__setattr__(self, attribute, clean_text(value))


@dataclass(frozen=True)
class Button:
    """An inline button: what it shows and what it sends back."""

    label: str
    data: str


@dataclass(frozen=True)
class Outgoing:
    """One reply to one chat: text, optional button rows, optional document."""

    chat_id: str
    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    document: Path | None = None
    channel: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def split_parts(message: Outgoing, caps: Capabilities) -> list[Outgoing]:
    """Return a message as parts within the channel's limit: its text cut by the one splitter
    (buttons on the last text part), then its document alone."""
    if message.document is None and 0 < len(message.text) <= caps.max_length:
        return [message]  # the one part it would be cut into: itself
    texts = split_message(message.text, caps.max_length, caps.format) if message.text else []
    parts = [replace(message, text=text, document=None,
                     buttons=message.buttons if index == len(texts) - 1 else ())
             for index, text in enumerate(texts)]
    if message.document is not None:
        parts.append(replace(message, text="", buttons=()))
    return parts


class ChannelError(Exception):
    """A channel could not deliver a message (its platform's errors are mapped onto these)."""


class ContactUnreachable(ChannelError):
    """The person blocked the bot or the chat no longer exists."""


class RetryLater(ChannelError):
    """The platform asks to wait (a 429, a 5xx, the network): the same request may be retried."""

    def __init__(self, seconds: float, reason: str = "") -> None:
        super().__init__(reason or f"retry after {seconds:.1f} s")
        self.seconds = seconds


class OutsideWindow(ChannelError):
    """The person last wrote too long ago for the platform to let the bot write (Zalo OA: 7
    days); nothing was sent. They can be reached again as soon as they write."""


class QuotaExhausted(ChannelError):
    """The platform's message quota is spent (Zalo Bot's monthly plan): pause, do not retry."""


class ChannelDown(QuotaExhausted):
    """The channel cannot send at all until the operator acts (Zalo OA: its tokens were
    refused): paused like a spent quota, but the channel tells the coordinators itself."""


class DeliveryUncertain(ChannelError):
    """The request left but no answer came: it may have been delivered."""


class MessageRefused(ChannelError):
    """The platform refused this message as it is; sending it again will not help."""


class Transport(Protocol):
    """What the outbox sender needs of a channel: its limits, how to cut a message, one send.

    `send` raises only the errors above: ContactUnreachable, OutsideWindow, RetryLater,
    QuotaExhausted, DeliveryUncertain, MessageRefused.
    """

    name: str
    caps: Capabilities

    def parts(self, message: Outgoing) -> list[Outgoing]:
        """Return the message as the parts the platform accepts, in order."""
        ...

    async def send(self, part: Outgoing) -> None:
        """Send one part."""
        ...


class Links(Protocol):
    """Download links on the bot's HTTP server (bot/web): how a channel without files sends one."""

    async def url(self, path: Path, filename: str) -> str:
        """Return a new unguessable, expiring link <public>/files/<token> to one file."""
        ...


WebhookAnswer = tuple[int, dict[str, object]]  # HTTP status and JSON body


class Webhook(Protocol):
    """What the HTTP server calls for a POST on a channel's route; the server owns HTTP."""

    async def __call__(self, headers: Mapping[str, str], body: bytes) -> WebhookAnswer:
        """Check, store and acknowledge one delivery; return the status and body to answer."""
        ...
