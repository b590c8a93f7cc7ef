"""A small client of the Zalo OA API v3 (../shared/ZALO.md §2) over httpx.

Two calls: `POST {api}/v3.0/oa/message/cs` (JSON) and `POST {api}/v2.0/oa/upload/file`
(multipart `file`), each with the access token in its own `access_token` header — never in the
URL, never in a log line. Zalo answers failures with HTTP 200 and a negative `error`: an answer
is a success only when its body says `error == 0`. An invalid or expired token (-216/-220) is
refreshed once and the call made once more; every other code comes out as `OAError` for the
transport to map. The network comes out as the channel errors: `RetryLater` when the request
did not reach Zalo (or a 5xx, or no JSON), `DeliveryUncertain` when it left and no answer came.
"""

from __future__ import annotations

import asyncio
import json
import logging
import mimetypes
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from bot.channels.base import DeliveryUncertain, RetryLater
from bot.channels.zalo_oa_tokens import TokenChain

log = logging.getLogger(__name__)
for _noisy in ("httpx", "httpcore"):  # quiet, as everywhere tokens travel
    logging.getLogger(_noisy).setLevel(logging.WARNING)

MESSAGE_PATH = "/v3.0/oa/message/cs"
UPLOAD_PATH = "/v2.0/oa/upload/file"
EXPIRED = frozenset({-216, -220})
TIMEOUT = 30.0
UPLOAD_TYPES = {
    ".pdf": "application/pdf",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


class OAError(Exception):
    """An error the OA API answered: its negative code and message."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code} {message}")
        self.code = code
        self.message = message


Request = Callable[[str], Awaitable[httpx.Response]]  # made with one access token


class ZaloOAClient:
    """Sends cs messages and uploads files; `send` returns the answer's `data`."""

    def __init__(self, api_base: str, tokens: TokenChain, http: httpx.AsyncClient) -> None:
        self.base = api_base.rstrip("/")
        self.tokens = tokens
        self.http = http

    async def send(self, body: dict[str, Any]) -> dict[str, Any]:
        """Send one cs message (recipient and message as Zalo wants them)."""
        async def request(token: str) -> httpx.Response:
            return await self.http.post(self.base + MESSAGE_PATH, json=body,
                                        headers={"access_token": token}, timeout=TIMEOUT)

        return await self.call(request)

    async def upload(self, path: Path) -> str:
        """Upload a PDF/DOC/DOCX; return the token a file message names."""
        mime = UPLOAD_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] \
            or "application/octet-stream"
        content = await asyncio.to_thread(path.read_bytes)

        async def request(token: str) -> httpx.Response:
            return await self.http.post(self.base + UPLOAD_PATH,
                                        files={"file": (path.name, content, mime)},
                                        headers={"access_token": token}, timeout=TIMEOUT)

        data = await self.call(request)
        token = data.get("token")
        if not isinstance(token, str) or not token:
            raise OAError(-1, "the upload answered no token")
        return token

    async def call(self, request: Request) -> dict[str, Any]:
        """Make a request with a live token; on -216/-220 refresh once and make it again."""
        token = await self.tokens.access()
        try:
            return await self.attempt(request, token)
        except OAError as error:
            if error.code not in EXPIRED:
                raise
            log.warning("zalo_oa: access token refused (%d); refreshing once", error.code)
        token = await self.tokens.refresh(token)
        try:
            return await self.attempt(request, token)
        except OAError as error:
            if error.code in EXPIRED:
                raise RetryLater(60, f"a fresh access token was refused too ({error.code})"
                                 ) from None
            raise

    async def attempt(self, request: Request, token: str) -> dict[str, Any]:
        """Make one request; return `data` of a success or raise what went wrong."""
        try:
            answer = await request(token)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
            raise RetryLater(0, f"Zalo OA not reached ({type(error).__name__})") from None
        except httpx.HTTPError as error:  # the request left; the answer did not come
            raise DeliveryUncertain(f"no answer from Zalo OA ({type(error).__name__})"
                                    ) from None
        try:
            body = json.loads(answer.content)
        except ValueError:
            body = None
        if answer.status_code >= 500 or not isinstance(body, dict):
            raise RetryLater(0, f"Zalo OA answered HTTP {answer.status_code} without JSON")
        code = body.get("error")
        if code == 0:
            data = body.get("data")
            return data if isinstance(data, dict) else {}
        number = code if isinstance(code, int) and not isinstance(code, bool) else -1
        raise OAError(number, str(body.get("message") or ""))
