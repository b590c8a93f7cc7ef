"""Zalo OA events: the signed webhook that stores them, and what each one means.

POST <public>/zalo-oa carries one JSON event (ZALO.md §2) with `X-ZEvent-Signature:
mac=<hex sha256(app_id + raw body + timestamp + OA secret key)>`, `app_id` and `timestamp` taken
from the body, the body as the exact bytes received (a plain SHA-256, not an HMAC; one guide
signs with the OA id instead of the app id: the majority is followed, such a delivery is
refused). A missing signature is answered 401, a wrong one 403; neither stores anything and
the log line never shows the body. A signed event is stored in the inbox (keyed by its
`message.msg_id`, else by a hash of the body: `follow` has none) and answered 200 right after
the commit; it is processed later by the channel's loop, so the answer never waits on the work
and Zalo's 2 s are kept. Zalo re-sends an event it got no 200 for: the same key is stored once.
Receipts and the OA's own sends (`oa_send_*`) are answered 200 and not stored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.channels.base import WebhookAnswer

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "x-zevent-signature"
USER_EVENTS = frozenset({"user_send_text", "user_send_image", "user_send_file",
                         "user_send_link", "user_send_sticker", "user_send_gif",
                         "user_send_audio", "user_send_video", "user_send_location",
                         "user_send_business_card"})
KEPT = USER_EVENTS | {"follow", "unfollow"}
Event = dict[str, Any]
Accept = Callable[[str, Event, str | None], Awaitable[bool]]  # key, event, sender


def mac(app_id: str, body: bytes, timestamp: str, secret_key: str) -> str:
    """Return Zalo's webhook MAC: hex SHA-256 of app_id + body + timestamp + OA secret key."""
    return hashlib.sha256(app_id.encode() + body + timestamp.encode()
                          + secret_key.encode()).hexdigest()


def event_key(event: Event, body: bytes) -> str:
    """Return the deduplication key: the message's msg_id, else a hash of the exact body."""
    message = event.get("message")
    msg_id = message.get("msg_id") if isinstance(message, dict) else None
    if isinstance(msg_id, str | int) and not isinstance(msg_id, bool) and str(msg_id):
        return str(msg_id)
    return "sha256:" + hashlib.sha256(body).hexdigest()


def person(event: Event) -> str | None:
    """Return the id of the person an event is from (`follower.id` for follow/unfollow)."""
    holder = event.get("follower") if event.get("event_name") in ("follow", "unfollow") \
        else event.get("sender")
    found = holder.get("id") if isinstance(holder, dict) else None
    return str(found) if isinstance(found, str | int) and not isinstance(found, bool) \
        and str(found) else None


@dataclass(frozen=True)
class Verdict:
    """Whether a delivery is signed right: its status when refused, its event when not."""

    status: int
    event: Event | None = None
    reason: str = ""


def verify(headers: Mapping[str, str], body: bytes, app_id: str, secret_key: str) -> Verdict:
    """Check a delivery's signature exactly (constant-time)."""
    given = next((v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER), None)
    if not given:
        return Verdict(401, reason="no signature")
    try:
        event = json.loads(body)
    except ValueError:
        event = None
    if not isinstance(event, dict):
        return Verdict(403, reason="a body that is no JSON object")
    expected = "mac=" + mac(str(event.get("app_id", "")), body,
                            str(event.get("timestamp", "")), secret_key)
    if not hmac.compare_digest(given.strip().encode(), expected.encode()):
        return Verdict(403, reason="a wrong signature")
    if str(event.get("app_id")) != app_id:
        return Verdict(403, reason="another app's event")
    return Verdict(200, event)


class ZaloOAWebhook:
    """The handler of POST <public>/zalo-oa: verify, store (committed), answer 200."""

    def __init__(self, app_id: str, secret_key: str, accept: Accept) -> None:
        self.app_id = app_id
        self.secret_key = secret_key
        self.accept = accept
        self.oa_id: str | None = None  # learned from the recipient of a person's event

    async def __call__(self, headers: Mapping[str, str], body: bytes) -> WebhookAnswer:
        """Check, store and acknowledge one delivery."""
        verdict = verify(headers, body, self.app_id, self.secret_key)
        if verdict.event is None:
            log.warning("zalo_oa webhook: refused %d: %s (%d bytes)", verdict.status,
                        verdict.reason, len(body))
            return verdict.status, {"error": verdict.status, "message": "refused"}
        event = verdict.event
        if self.kept(event):
            sender = person(event)
            await self.accept(event_key(event, body), event, sender)
        return 200, {"error": 0, "message": "Success"}

    def kept(self, event: Event) -> bool:
        """Return whether an event is worth storing: a person's, not a receipt or an echo."""
        name = str(event.get("event_name", ""))
        if name not in KEPT:
            return False  # receipts, oa_send_* echoes, events the bot does not read
        sender, recipient = event.get("sender"), event.get("recipient")
        if isinstance(recipient, dict) and name in USER_EVENTS and recipient.get("id"):
            self.oa_id = str(recipient["id"])
        sender_id = sender.get("id") if isinstance(sender, dict) else None
        return not (self.oa_id and sender_id is not None and str(sender_id) == self.oa_id)
