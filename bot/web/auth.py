"""Signing coordinators in to the web page: one-time links sent by /web, and sessions.

- `/web` owes the coordinator a message marked `prepare: web_login` whose row holds no link;
  the outbox sender asks `LoginLinks.prepare` for the text right before sending it, and only
  then a token is drawn (256 bits) and its sha256 stored with the coordinator and its expiry
  (LOGIN_TTL from that moment). The outbox never holds a usable secret.
- GET /login/<token> only shows a button; the same-site POST spends the token (once) and opens
  a session: a second random cookie, stored as its sha256, valid SESSION_TTL (a working day).
- Every form carries a CSRF token derived from the session cookie (HMAC), checked on POST.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from bot import texts
from bot.channels.base import Capabilities, Outgoing
from bot.store import Store
from bot.store.outbox import PREPARE
from bot.store.web import Login
from bot.web.links import MAX_TOKEN_LENGTH, TOKEN_BYTES, token_hash

LOGIN_TTL = timedelta(minutes=15)
SESSION_TTL = timedelta(hours=10)  # a working day: signed in at 7:30, still in at 17:30
COOKIE = "reportbot_session"
WEB_LOGIN = "web_login"  # the PREPARE value of a sign-in link


def login_message(chat_id: str, channel: str, caps: Capabilities) -> Outgoing:
    """Return the message /web owes: its text is made when it is sent (`LoginLinks.prepare`)."""
    text = texts.render("coordinator.web_link_pending", caps.format)
    return Outgoing(chat_id, text, channel=channel, extra={PREPARE: WEB_LOGIN})


def csrf_token(cookie: str) -> str:
    """Return the CSRF token of a session: derived from its cookie, never stored."""
    return hmac.new(cookie.encode("utf-8", "surrogatepass"), b"reportbot csrf",
                    hashlib.sha256).hexdigest()


def csrf_ok(cookie: str, given: str) -> bool:
    """Return whether a form's CSRF token belongs to the session (constant time)."""
    return hmac.compare_digest(csrf_token(cookie), given.encode("ascii", "replace").decode())


class LoginLinks:
    """Draws sign-in links, spends them, and finds the coordinator behind a session cookie."""

    def __init__(self, store: Store, public_url: str, clock: Callable[[], datetime],
                 caps_of: Callable[[str], Capabilities],
                 is_coordinator: Callable[[str], bool]) -> None:
        self.store = store
        self.public_url = public_url.rstrip("/")
        self.clock = clock
        self.caps_of = caps_of
        self.is_coordinator = is_coordinator  # "telegram:123" -> still in REPORTBOT_ADMINS?

    @property
    def secure(self) -> bool:
        """Return whether the cookie is marked Secure (the public URL is https)."""
        return self.public_url.lower().startswith("https://")

    async def prepare(self, message: Outgoing) -> Outgoing:
        """Return the /web message with a fresh link (the sender calls this right before
        sending; a message sent again carries a new link, the older one still works)."""
        owner = f"{message.channel}:{message.chat_id}"
        caps = self.caps_of(message.channel)
        if not self.is_coordinator(owner):
            text = texts.render("coordinator.web_unavailable", caps.format)
            return replace(message, text=text, extra={})
        url, expires = await self.new_link(owner)
        text = texts.render("coordinator.web_link", caps.format, url=url,
                            minutes=int(LOGIN_TTL.total_seconds() // 60), until=expires)
        return replace(message, text=text, extra={})

    async def new_link(self, owner: str) -> tuple[str, datetime]:
        """Store a new sign-in link for a coordinator; return it and when it expires."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        now = self.clock()
        expires = now + LOGIN_TTL
        await self.store.web.add_login(token_hash(token), owner, now, expires)
        return f"{self.public_url}/login/{token}", expires

    async def login(self, token: str) -> Login:
        """Return what a sign-in token leads to, spending nothing (the GET)."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return Login("unknown")
        found = await self.store.web.login(token_hash(token), self.clock())
        if found.outcome == "ok" and not self.is_coordinator(found.owner):
            return Login("unknown")
        return found

    async def spend(self, token: str) -> tuple[Login, str]:
        """Spend a sign-in token and open a session; return the outcome and the new cookie."""
        found = await self.login(token)
        if found.outcome != "ok":
            return found, ""
        cookie = secrets.token_urlsafe(TOKEN_BYTES)
        now = self.clock()
        spent = await self.store.web.spend_login(token_hash(token), token_hash(cookie), now,
                                                 now + SESSION_TTL)
        return spent, cookie if spent.outcome == "ok" else ""

    async def session(self, cookie: str | None) -> str | None:
        """Return the coordinator signed in with this cookie, or None."""
        if not cookie or len(cookie) > MAX_TOKEN_LENGTH:
            return None
        owner = await self.store.web.session(token_hash(cookie), self.clock())
        return owner if owner is not None and self.is_coordinator(owner) else None

    async def end(self, cookie: str) -> None:
        """End one session (Đăng xuất)."""
        await self.store.web.end_session(token_hash(cookie), self.clock())
