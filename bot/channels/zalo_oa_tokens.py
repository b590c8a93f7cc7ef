"""The Zalo OA's token chain (../shared/ZALO.md §2): a short-lived access token, a single-use
refresh token, both kept in the database.

`POST {oauth}/v4/oa/access_token` (header `secret_key: <app secret>`, a form `refresh_token,
app_id, grant_type=refresh_token`) answers a new pair; the old refresh token is dead from then
on. So the new pair is committed to `channel_state` in the transaction that follows the answer,
before anything uses it: a kill at any point after that restarts with the new chain. (A kill
while the refresh request itself is in flight cannot be covered by anyone: Zalo may have spent
the old token and the answer is gone; the chain then needs a new pair from the operator.)

- The access token is refreshed before it expires (at 90 % of `expires_in`, a string of
  seconds) and once when Zalo calls it invalid (-216/-220, see zalo_oa_client).
- Only one refresh runs at a time (an asyncio.Lock). This holds in one process only: two bot
  processes on one OA would spend each other's refresh tokens — run one.
- The environment's pair (ZALO_OA_ACCESS_TOKEN / ZALO_OA_REFRESH_TOKEN) starts the chain at the
  first start; the chain remembers the sha256 of the refresh token it started from, so the
  environment's pair is used again only when the operator puts a different one there.
- A refresh Zalo refuses (consent withdrawn, a spent or expired refresh token) marks the chain
  down (kept: a restart does not retry a dead token) and raises `ChannelDown`: the outbox sender
  pauses the channel and `on_down` tells the coordinators. No token ever reaches a log line.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import httpx

from bot.channels.base import ChannelDown, RetryLater
from bot.config import Settings
from bot.store import Store

log = logging.getLogger(__name__)
CHANNEL = "zalo_oa"
STATE_KEY = "tokens"
TOKEN_PATH = "/v4/oa/access_token"
REFRESH_AT = 0.9  # of the access token's lifetime
GRANT_ERRORS = frozenset({-118, "invalid_grant"})
OPERATOR = ("authorize the app again on developers.zalo.me (OA admin), put the new pair in"
            " ZALO_OA_ACCESS_TOKEN and ZALO_OA_REFRESH_TOKEN and restart the bot")


@dataclass(frozen=True)
class Chain:
    """The current pair and where the chain started (tokens are never shown in a repr)."""

    access: str
    refresh: str
    issued_at: str  # ISO moment the pair arrived
    expires_at: str | None  # ISO moment the access token expires (None: unknown, the env's)
    origin: str  # sha256 of the environment's refresh token this chain started from
    down: bool = False  # Zalo refused the refresh token: nothing to try until a new pair

    def __repr__(self) -> str:
        return f"Chain(origin={self.origin[:8]}, expires_at={self.expires_at}, down={self.down})"

    def due(self, now: datetime) -> bool:
        """Return whether the access token should be refreshed before use."""
        if not self.access:
            return True
        if self.expires_at is None:
            return False  # the environment's token: used until Zalo says it is invalid
        issued, expires = datetime.fromisoformat(self.issued_at), datetime.fromisoformat(
            self.expires_at)
        return now >= issued + (expires - issued) * REFRESH_AT


def fingerprint(token: str) -> str:
    """Return the sha256 of a token (what the chain remembers of the environment's pair)."""
    return hashlib.sha256(token.encode()).hexdigest()


class TokenChain:
    """Hands out a live access token, refreshing (one at a time) and keeping the chain."""

    def __init__(self, settings: Settings, store: Store, clock: Callable[[], datetime],
                 http: httpx.AsyncClient,
                 on_down: Callable[[], Awaitable[None]] | None = None) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.http = http
        self.on_down = on_down
        self.lock = asyncio.Lock()
        self.chain: Chain | None = None

    async def load(self) -> Chain:
        """Continue the database's chain, or start one from the environment's pair when it is
        new (first start, or the operator put a different pair there)."""
        origin = fingerprint(self.settings.zalo_oa_refresh_token)
        stored = _parse(await self.store.state.get(CHANNEL, STATE_KEY))
        if stored is not None and stored.origin == origin:
            self.chain = stored
            return stored
        log.warning("zalo_oa: starting a new token chain from ZALO_OA_ACCESS_TOKEN and"
                    " ZALO_OA_REFRESH_TOKEN%s", " (the pair changed)" if stored else "")
        now = self.clock()
        chain = Chain(self.settings.zalo_oa_access_token, self.settings.zalo_oa_refresh_token,
                      now.isoformat(), None, origin)
        await self.keep(chain)
        return chain

    async def access(self) -> str:
        """Return an access token that is not about to expire (refreshing it if it is)."""
        chain = self.chain or await self.load()
        if chain.down:
            raise ChannelDown("the Zalo OA refused its refresh token; " + OPERATOR)
        if chain.due(self.clock()):
            return await self.refresh(chain.access)
        return chain.access

    async def refresh(self, stale: str) -> str:
        """Refresh the pair unless another caller already replaced `stale`; return the token."""
        async with self.lock:
            chain = self.chain or await self.load()
            if chain.down:
                raise ChannelDown("the Zalo OA refused its refresh token; " + OPERATOR)
            if chain.access != stale and not chain.due(self.clock()):
                return chain.access  # refreshed while this caller waited
            body = await self._post(chain.refresh)
            now = self.clock()
            lifetime = _seconds(body.get("expires_in"))
            new = Chain(str(body["access_token"]), str(body["refresh_token"]), now.isoformat(),
                        (now + timedelta(seconds=lifetime)).isoformat() if lifetime else None,
                        chain.origin)
            await self.keep(new)  # committed before anyone uses it
            log.info("zalo_oa: access token refreshed (valid %s s)", lifetime or "?")
            return new.access

    async def keep(self, chain: Chain) -> None:
        """Commit a chain, then make it the current one."""
        await self.store.state.put(CHANNEL, STATE_KEY, json.dumps(asdict(chain)), self.clock())
        self.chain = chain

    async def _post(self, refresh_token: str) -> dict[str, Any]:
        """Ask Zalo for a new pair; return its answer or raise RetryLater / ChannelDown."""
        form = {"refresh_token": refresh_token, "app_id": self.settings.zalo_oa_app_id,
                "grant_type": "refresh_token"}
        url = self.settings.zalo_oauth_base_url.rstrip("/") + TOKEN_PATH
        try:
            answer = await self.http.post(url, data=form,
                                          headers={"secret_key": self.settings.zalo_oa_app_secret})
        except httpx.HTTPError as error:
            log.warning("zalo_oa: token refresh failed (%s); will retry", type(error).__name__)
            raise RetryLater(30, "token refresh: no answer") from None
        try:
            body = json.loads(answer.content)
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("access_token") and body.get("refresh_token"):
            return body
        if answer.status_code >= 500 or not isinstance(body, dict):
            raise RetryLater(30, f"token refresh: HTTP {answer.status_code}")
        await self._refused(body)
        raise AssertionError("unreachable")

    async def _refused(self, body: dict[str, Any]) -> None:
        """Stop the channel after Zalo refused a refresh; tell the coordinators; raise."""
        code, name = body.get("error"), body.get("error_name")
        spent = code in GRANT_ERRORS or name in GRANT_ERRORS
        log.error("zalo_oa: Zalo refused the token refresh (error %s%s): OA sending stops;"
                  " the operator must %s", code, f" {name}" if isinstance(name, str) else "",
                  OPERATOR if spent else "check ZALO_OA_APP_ID and ZALO_OA_APP_SECRET, then "
                  "restart the bot")
        if spent and self.chain is not None:  # a dead token: not tried again after a restart
            await self.keep(replace(self.chain, down=True))
        if self.on_down is not None:
            await self.on_down()
        raise ChannelDown(f"the Zalo OA refused the token refresh (error {code})")


def _parse(value: str | None) -> Chain | None:
    """Return the chain kept in the database (None when there is none or it is unreadable)."""
    if not value:
        return None
    try:
        return Chain(**json.loads(value))
    except (TypeError, ValueError):
        log.error("zalo_oa: the kept token chain is unreadable; starting from the environment")
        return None


def _seconds(value: Any) -> float | None:
    """Return `expires_in` (a string of seconds, or a number) as seconds; None when absent."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if seconds > 0 else None
