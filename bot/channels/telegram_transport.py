"""Sending on Telegram: one part of an owed message through the Bot API, its errors mapped onto
the channel error hierarchy (bot/channels/base.py)."""

from __future__ import annotations

import html
import logging
from dataclasses import replace
from functools import lru_cache
from typing import Any

from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import Application
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.channels.base import (
    TELEGRAM,
    Button,
    ContactUnreachable,
    DeliveryUncertain,
    Links,
    MessageRefused,
    Outgoing,
    RetryLater,
    split_parts,
)
from bot.channels.document_links import document_text
from bot.splitting import html_to_plain

log = logging.getLogger(__name__)
CHANNEL = "telegram"
MAX_UPLOAD = 50 * 1024 * 1024  # what the Bot API takes from a bot in sendDocument
SEND_TIMEOUT = 30.0  # a slow answer is waited for: a retry after a timeout may duplicate


class TelegramTransport:
    """Sends one part of an owed message through the Bot API, mapping its errors.

    Forbidden (blocked) and "chat not found" → ContactUnreachable; 429 → RetryLater with the
    time Telegram names; a timeout → DeliveryUncertain (the outbox retries a text, never a
    document); 5xx and network errors → RetryLater; a 400 → MessageRefused, except refused
    markup, which is sent again at once as plain text. A document over the 50 MB a bot may
    upload (a large minh-chung.zip) goes as a download link, or where it lies on the server.
    """

    name = CHANNEL
    caps = TELEGRAM

    def __init__(self, app: Application[Any, Any, Any, Any, Any, Any],
                 links: Links | None = None) -> None:
        self.app = app
        self.links = links  # for a document over what a bot may upload
        self.max_upload = MAX_UPLOAD

    def parts(self, message: Outgoing) -> list[Outgoing]:
        """Return the message cut under 4096 characters (buttons on the last text part), then
        its document."""
        return split_parts(message, TELEGRAM)

    async def send(self, part: Outgoing) -> None:
        """Send one part (a text or a document)."""
        try:
            if part.document is not None and part.document.stat().st_size > self.max_upload:
                text = await document_text(part, self.links, TELEGRAM.max_length)
                await self.send_text(replace(part, text=html.escape(text), document=None))
            elif part.document is not None:
                await self.send_document(part)
            else:
                await self.send_text(part)
        except Forbidden as error:
            raise ContactUnreachable(str(error)) from error
        except RetryAfter as error:
            raise RetryLater(seconds(error.retry_after), "429 Too Many Requests") from error
        except TimedOut as error:
            raise DeliveryUncertain(str(error)) from error
        except BadRequest as error:
            if "chat not found" in str(error).lower():
                raise ContactUnreachable(str(error)) from error
            raise MessageRefused(str(error)) from error
        except InvalidToken as error:
            raise RetryLater(60, "Telegram refused the token") from error
        except TelegramError as error:  # 5xx, 409 and the network
            raise RetryLater(0, f"{type(error).__name__}: {error}") from error

    async def send_text(self, part: Outgoing) -> None:
        """Send one text; markup Telegram refuses goes again as plain text (never dropped)."""
        message: dict[str, Any] = {"chat_id": int(part.chat_id), "text": part.text,
                                   "parse_mode": ParseMode.HTML.value}
        if part.buttons:
            message["reply_markup"] = _keyboard(part)
        try:
            await self.post("sendMessage", message)
        except BadRequest as error:
            if "parse" not in str(error).lower():
                raise
            log.error("chat %s: Telegram refused the markup (%s); sending plain text",
                      part.chat_id, error)
            plain = {**message, "text": html_to_plain(part.text)}
            del plain["parse_mode"]
            await self.post("sendMessage", plain)

    async def post(self, endpoint: str, params: dict[str, Any]) -> None:
        """POST one Bot API call of plain JSON values through the bot's request object.

        The request object is PTB's own (HTTPX in production, the recording fake in tests and
        benchmarks), so the wire, the token in the URL and the mapping of status codes onto
        TelegramError (Forbidden, RetryAfter, BadRequest, TimedOut, NetworkError) are PTB's.
        Skipped is only the Bot layer above it (defaults, converting each value, building a
        Message from the answer, which we never read): about a third of a send's time.
        """
        bot = self.app.bot
        data = RequestData([RequestParameter(key, value, None) for key, value in params.items()])
        await bot.request.post(f"{bot.base_url}/{endpoint}", data, read_timeout=SEND_TIMEOUT)

    async def send_document(self, part: Outgoing) -> None:
        """Send one document under its own file name."""
        assert part.document is not None
        with part.document.open("rb") as handle:
            await self.app.bot.send_document(chat_id=int(part.chat_id), document=handle,
                                             filename=part.document.name,
                                             read_timeout=SEND_TIMEOUT,
                                             write_timeout=SEND_TIMEOUT)


def seconds(value: Any) -> float:
    """Return a retry_after (seconds or a timedelta) as seconds."""
    return float(value.total_seconds()) if hasattr(value, "total_seconds") else float(value)


def _keyboard(reply: Outgoing) -> dict[str, Any]:
    """Return an inline keyboard as the Bot API's JSON."""
    return _inline_keyboard(reply.buttons)


@lru_cache(maxsize=4096)
def _inline_keyboard(buttons: tuple[tuple[Button, ...], ...]) -> dict[str, Any]:
    """Return the JSON of button rows, one object for all messages with the same rows (a
    question's keyboard is the same for every unit). Never changed: PTB only encodes it."""
    rows = [[{"text": b.label, "callback_data": b.data} for b in row] for row in buttons]
    return {"inline_keyboard": rows}
