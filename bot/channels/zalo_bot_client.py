"""A small client of the Zalo Bot Platform API (../shared/ZALO.md §1) over httpx.

Every call is a JSON POST to ``{base}/bot{token}/{method}``; the answer's ``ok``,
``error_code`` and ``description`` are read from the body whatever the HTTP status (some saw
the status equal to ``error_code``, one measured 200 for every error). Whatever goes wrong
comes out as one `ZaloBotError`: an API error with its code, the proxy's HTML page (its HTTP
status), the network before the request left (`NETWORK`) or no answer after it left
(`NO_ANSWER`). The token sits in the URL path: no URL is ever logged, httpx's own logger is
kept at WARNING, and the token is scrubbed from every error text.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import httpx

from bot.config import ConfigError

log = logging.getLogger(__name__)
for _noisy in ("httpx", "httpcore"):  # their request lines carry the URL, so the token
    logging.getLogger(_noisy).setLevel(logging.WARNING)

TOKEN_RE = re.compile(r"^[0-9]{3,}:[A-Za-z0-9_\-]{8,}$")
METHODS = frozenset({"getMe", "getUpdates", "setWebhook", "deleteWebhook", "getWebhookInfo",
                     "sendMessage", "sendPhoto", "sendChatAction"})
NETWORK = 0  # the request did not reach the platform: safe to send again
NO_ANSWER = -1  # the request left but no answer came: it may have been done
TIMEOUT = 30.0  # seconds for an ordinary call


class ZaloBotError(Exception):
    """An error the Zalo Bot API answered (or the network, with NETWORK / NO_ANSWER)."""

    def __init__(self, code: int, description: str, *, html: bool = False) -> None:
        super().__init__(f"{code} {description}")
        self.code = code
        self.description = description
        self.html = html  # the proxy's HTML page, not the API's JSON


def check_token(token: str) -> None:
    """Refuse a missing or malformed token with a one-line error (never echoing it)."""
    if not token:
        raise ConfigError("ZALO_BOT_TOKEN is not set (see .env.example)")
    if not TOKEN_RE.match(token):
        raise ConfigError("ZALO_BOT_TOKEN is malformed: expected <digits>:<secret>")


class ZaloBotClient:
    """Calls the Zalo Bot API's methods; `call` returns the answer's `result`."""

    def __init__(self, token: str, base_url: str = "https://bot-api.zaloplatforms.com",
                 http: httpx.AsyncClient | None = None) -> None:
        self._token = token
        self._base = base_url.rstrip("/")
        self._own = http is None
        self._http = http or httpx.AsyncClient(timeout=TIMEOUT)

    async def call(self, method: str, http_timeout: float = TIMEOUT, **params: Any) -> Any:
        """Call one method with JSON parameters; return its result (None when it has none)."""
        if method not in METHODS:
            raise ValueError(f"the Zalo Bot API has no method {method!r}")
        try:
            answer = await self._http.post(f"{self._base}/bot{self._token}/{method}",
                                           json=params, timeout=http_timeout)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
            raise ZaloBotError(NETWORK, self._scrub(f"{type(error).__name__}: {error}")) from None
        except httpx.HTTPError as error:  # read/write timeout, a dropped connection
            raise ZaloBotError(NO_ANSWER,
                               self._scrub(f"{type(error).__name__}: {error}")) from None
        return self._result(answer)

    def _result(self, answer: httpx.Response) -> Any:
        """Return the result of an answer, or raise its error."""
        try:
            body = json.loads(answer.content)
        except ValueError:
            body = None
        if not isinstance(body, dict):  # the proxy's HTML page, or something else broken
            raise ZaloBotError(answer.status_code, f"HTTP {answer.status_code}, not JSON",
                               html=True)
        if body.get("ok") is True:
            return body.get("result")
        code = body.get("error_code")
        code = code if isinstance(code, int) and code > 0 else answer.status_code
        raise ZaloBotError(code, self._scrub(str(body.get("description") or "")))

    def _scrub(self, text: str) -> str:
        """Return an error text with the token replaced (a URL may be quoted in it)."""
        return text.replace(self._token, "<token>") if self._token else text

    async def close(self) -> None:
        """Close the HTTP client if this client made it."""
        if self._own:
            await self._http.aclose()
