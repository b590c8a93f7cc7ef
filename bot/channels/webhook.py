"""Webhook mode for the Telegram channel: Telegram POSTs each update to us.

The reply to Telegram's POST (200) is sent only after the update was processed and every
answer committed; until then Telegram keeps the update and sends it again, and the store
ignores what it already processed — the same guarantee as the polling loop.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from typing import Any

from telegram import Update
from tornado.httpserver import HTTPServer
from tornado.web import Application as WebApplication
from tornado.web import RequestHandler

from bot.channels.telegram import TelegramChannel

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class UpdateHandler(RequestHandler):
    """Receives one update, processes it, then answers 200."""

    def initialize(self, channel: TelegramChannel, secret: str) -> None:
        self.channel = channel
        self.secret = secret

    async def post(self) -> None:
        """Check the secret, process the update, acknowledge it."""
        given = self.request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            self.set_status(403)
            return
        try:
            data: Any = json.loads(self.request.body)
            update = Update.de_json(data, self.channel.app.bot)
        except (ValueError, TypeError, KeyError):
            self.set_status(400)
            return
        await self.channel.process([update])
        self.set_status(200)


async def serve(channel: TelegramChannel, url: str, host: str, port: int, secret: str,
                stop: asyncio.Event) -> None:
    """Register the webhook with Telegram and serve updates until `stop` is set."""
    web = WebApplication([(r"/telegram", UpdateHandler, {"channel": channel, "secret": secret})])
    server = HTTPServer(web)
    server.listen(port, address=host)
    await channel.call(channel.app.bot.set_webhook, url=url, secret_token=secret,
                       allowed_updates=["message", "callback_query"])
    log.info("webhook listening on %s:%d", host, port)
    try:
        await stop.wait()
    finally:
        server.stop()
