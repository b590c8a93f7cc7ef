"""Webhook mode for the Telegram channel: Telegram POSTs each update to `<public>/telegram`.

The handler is framework-free (the `Webhook` protocol of bot/channels/base.py); the bot's one
HTTP server (bot/web) owns HTTP. The answer to Telegram's POST (200) is given only after the
update was processed and every answer committed; until then Telegram keeps the update and sends
it again, and the store ignores what it already processed — the polling loop's guarantee.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from telegram import Update
from telegram.error import BadRequest

from bot.channels.base import Webhook, WebhookAnswer
from bot.channels.telegram import TelegramChannel
from bot.config import ConfigError

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
PATH = "/telegram"
ALLOWED_UPDATES = ["message", "callback_query"]


class Routes(Protocol):
    """What the webhook needs of the HTTP server (bot.web.WebServer)."""

    def add_webhook(self, path: str, handler: Webhook) -> None:
        """Serve POST `path` with `handler`."""
        ...

    async def wait_listening(self, stop: asyncio.Event) -> bool:
        """Wait until the server listens (True) or `stop` is set first (False)."""
        ...


class TelegramWebhook:
    """POST /telegram: check the secret, process the update, then acknowledge it."""

    def __init__(self, channel: TelegramChannel, secret: str) -> None:
        self.channel = channel
        self.secret = secret.encode()

    async def __call__(self, headers: Mapping[str, str], body: bytes) -> WebhookAnswer:
        """Answer 403 on a wrong secret, 400 on a body that is no update, else 200 once done."""
        given = headers.get(SECRET_HEADER, "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(given, self.secret):
            return 403, {"ok": False}
        update = self.parse(body)
        if update is None:
            return 400, {"ok": False}
        await self.channel.process([update])
        return 200, {"ok": True}

    def parse(self, body: bytes) -> Update | None:
        """Return the update in a body, or None when it is not one."""
        try:
            data: Any = json.loads(body)
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                return None
            return Update.de_json(data, self.channel.app.bot)
        except (ValueError, TypeError, KeyError, AttributeError):
            return None


async def set_webhook(channel: TelegramChannel, url: str, secret: str) -> None:
    """Ask Telegram to POST updates to `url` with `secret`; a refused URL is a config error."""
    try:
        await channel.call(channel.app.bot.set_webhook, url=url, secret_token=secret,
                           allowed_updates=ALLOWED_UPDATES)
    except BadRequest as error:
        raise ConfigError(f"Telegram refused the webhook {url}: {error}") from error
    log.info("Telegram webhook set to %s", url)


def telegram_webhook_loop(channel: TelegramChannel, server: Routes, public_url: str,
                          secret: str) -> Callable[[asyncio.Event], Awaitable[None]]:
    """Add POST /telegram to the server; return the receive loop that registers the webhook
    once the server listens and then waits for `stop` (the server runs on its own)."""
    server.add_webhook(PATH, TelegramWebhook(channel, secret))
    url = public_url.rstrip("/") + PATH

    async def receive(stop: asyncio.Event) -> None:
        if await server.wait_listening(stop):
            await set_webhook(channel, url, secret)
            await stop.wait()

    return receive
