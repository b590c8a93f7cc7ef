"""Zalo Bot updates: their key, what they mean for the hub, and the webhook that receives them.

An update (a getUpdates result or a webhook body) is parsed defensively (ZALO.md §1): ids are
strings, there is no update id, so the key is the message's `message_id` (a hash of the body
when even that is missing). A webhook body may come wrapped (`{"ok": true, "result": …}`, as
documented) or flat (`{event_name, message}`, as integrations saw it): both are accepted.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.channels.base import Attachment, Incoming, WebhookAnswer

log = logging.getLogger(__name__)
CHANNEL = "zalo"
SECRET_HEADER = "X-Bot-Api-Secret-Token"
TEXT = "message.text.received"
IMAGE = "message.image.received"
IMAGE_FIELDS = ("photo", "photo_url", "url")
Update = dict[str, Any]


@dataclass(frozen=True)
class Received:
    """What one update means: `incoming` for the hub, or a polite refusal (`unsupported`)."""

    incoming: Incoming
    unsupported: bool = False


def unwrap(body: Any) -> Update | None:
    """Return the update inside a webhook body (wrapped or flat) or a poll's result."""
    if isinstance(body, dict) and body.get("ok") is True and isinstance(body.get("result"), dict):
        body = body["result"]
    if isinstance(body, dict) and isinstance(body.get("message"), dict):
        return body
    return None


def update_key(update: Update) -> str:
    """Return the deduplication key of an update: its message_id, else a hash of it."""
    message_id = update["message"].get("message_id")
    if isinstance(message_id, str | int) and str(message_id):
        return str(message_id)
    canonical = json.dumps(update, sort_keys=True, ensure_ascii=False).encode()
    return "sha256:" + hashlib.sha256(canonical).hexdigest()


def translate(update: Update, key: str, bot_id: str | None) -> Received | None:
    """Return what an update means for the hub; None for one to drop (a bot's, or no chat)."""
    message = update["message"]
    sender = _dict(message.get("from"))
    chat_id = _text(_dict(message.get("chat")).get("id")) or _text(sender.get("id"))
    user_id = _text(sender.get("id")) or chat_id
    if not chat_id or sender.get("is_bot") is True or (bot_id and user_id == bot_id):
        return None
    base = Incoming(CHANNEL, chat_id, user_id, message_id=key,
                    name=_text(sender.get("display_name")) or None)
    event = update.get("event_name")
    text = message.get("text")
    if event == TEXT and isinstance(text, str) and text.strip():
        return Received(_with(base, text=text))
    if event == IMAGE:
        url = next((u for u in (message.get(f) for f in IMAGE_FIELDS)
                    if isinstance(u, str) and u), None)
        if url is not None:
            caption = message.get("caption")
            # No suffix: the evidence store names it by its content (JPEG, PNG …).
            attachment = Attachment(f"anh-{key[:20]}", "image/jpeg", 0, url)
            return Received(_with(base, text=caption if isinstance(caption, str) else None,
                                  attachment=attachment))
    return Received(base, unsupported=True)  # a sticker, a voice, a file, a link...


def _with(base: Incoming, **fields: Any) -> Incoming:
    return Incoming(base.channel, base.chat_id, base.user_id, message_id=base.message_id,
                    name=base.name, **fields)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""


class ZaloBotWebhook:
    """The handler of POST <public>/zalo: checks the secret, stores the update, answers 200.

    `accept` stores the update (committed before it returns) and wakes whoever processes it,
    so an acknowledged update is never lost; a redelivered one is stored once.
    """

    def __init__(self, secret: str, accept: Callable[[Update], Awaitable[bool]]) -> None:
        self.secret = secret
        self.accept = accept

    async def __call__(self, headers: Mapping[str, str], body: bytes) -> WebhookAnswer:
        """Check, store and acknowledge one delivery."""
        given = next((v for k, v in headers.items() if k.lower() == SECRET_HEADER.lower()), "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            return 403, {"ok": False, "description": "Forbidden"}
        try:
            update = unwrap(json.loads(body))
        except ValueError:
            update = None
        if update is None:
            log.warning("zalo webhook: a body that is no update (%d bytes)", len(body))
            return 400, {"ok": False, "description": "Bad request"}
        await self.accept(update)
        return 200, {"ok": True}
