"""The bot's one HTTP server: channel webhooks, download links and /healthz.

One Starlette app served by uvicorn inside the bot's own event loop (one process, one loop).
uvicorn's signal handling is off: the bot installs its own SIGINT/SIGTERM handlers and sets
`stop`. Its access log is off too: download tokens are in the paths it would print.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable, Generator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.channels.base import Webhook
from bot.config import ConfigError
from bot.web.files import files_endpoint
from bot.web.links import DownloadLinks
from bot.web.pages import page

log = logging.getLogger(__name__)
MAX_BODY = 1024 * 1024  # a webhook delivery is a few kB; anything over 1 MB is refused unread
GRACEFUL_SECONDS = 10  # a webhook being processed at stop is finished, not cut
Health = Callable[[], Awaitable[bool]]


class _Uvicorn(uvicorn.Server):
    """uvicorn without its signal handlers, telling when it listens."""

    def __init__(self, config: uvicorn.Config, on_listening: Callable[[], None]) -> None:
        super().__init__(config)
        self.on_listening = on_listening

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        """Leave the process's signal handlers alone (the bot's own set `stop`)."""
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start listening, then say so."""
        await super().startup(sockets)
        if self.started:
            self.on_listening()


class WebServer:
    """One ASGI app on host:port; channels add their webhook routes before `serve`."""

    def __init__(self, host: str, port: int, health: Health | None = None) -> None:
        self.host = host
        self._port = port
        self.health = health
        self.listening = asyncio.Event()
        self._socket: socket.socket | None = None
        self.app = Starlette(routes=[Route("/healthz", self.healthz, methods=["GET"])],
                             exception_handlers={HTTPException: _http_error})

    @property
    def port(self) -> int:
        """Return the port listened on (the real one once bound, when 0 was asked)."""
        return int(self._socket.getsockname()[1]) if self._socket else self._port

    def add_webhook(self, path: str, handler: Webhook) -> None:
        """Serve POST `path` with a channel's webhook handler."""
        self.app.router.routes.append(Route(path, _webhook_endpoint(handler), methods=["POST"]))

    def add_files(self, links: DownloadLinks) -> None:
        """Serve GET /files/{token} from the download links."""
        self.app.router.routes.append(Route("/files/{token}", files_endpoint(links),
                                            methods=["GET"]))

    async def healthz(self, _request: Request) -> Response:
        """Answer 200 {"ok": true}, or 503 when the health check fails."""
        ok = True
        if self.health is not None:
            try:
                ok = await self.health()
            except Exception as error:  # the check failing is the answer, not a crash
                log.warning("health check failed: %s: %s", type(error).__name__, error)
                ok = False
        return JSONResponse({"ok": ok}, status_code=200 if ok else 503)

    async def serve(self, stop: asyncio.Event, started: asyncio.Event | None = None) -> None:
        """Listen and serve until `stop` is set, then finish open requests and close."""
        sock = self._bind()

        def listening() -> None:
            self.listening.set()
            if started is not None:
                started.set()

        server = _Uvicorn(self._config(), listening)
        task = asyncio.create_task(server.serve(sockets=[sock]))
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            server.should_exit = True
            stopping.cancel()
            await asyncio.wait({task})
            sock.close()
            self.listening.clear()
        task.result()  # uvicorn's own error, if it ended by one

    async def wait_listening(self, stop: asyncio.Event) -> bool:
        """Wait until the server listens (True) or `stop` is set first (False)."""
        waits = {asyncio.create_task(self.listening.wait()), asyncio.create_task(stop.wait())}
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
        return self.listening.is_set()

    def _bind(self) -> socket.socket:
        """Bind the listening socket here, so an error is ours to word (uvicorn would exit)."""
        try:
            family, _, _, _, address = socket.getaddrinfo(
                self.host, self._port, type=socket.SOCK_STREAM)[0]
            sock = socket.create_server(address, family=family)
        except OSError as error:
            raise ConfigError(f"REPORTBOT_WEBHOOK_LISTEN {self.host}:{self._port}: cannot listen"
                              f" ({error.strerror or error})") from error
        self._socket = sock
        return sock

    def _config(self) -> uvicorn.Config:
        """Return uvicorn's settings: no access log, no logging setup, no lifespan, no ws."""
        return uvicorn.Config(self.app, log_config=None, access_log=False, lifespan="off",
                              http="h11", ws="none", server_header=False,
                              timeout_graceful_shutdown=GRACEFUL_SECONDS)


def _webhook_endpoint(handler: Webhook) -> Callable[[Request], Awaitable[Response]]:
    """Return the endpoint that hands a POST's headers and body to a webhook handler."""

    async def endpoint(request: Request) -> Response:
        """Refuse a body over 1 MB unread; otherwise answer what the handler says."""
        try:
            body = await _read_body(request)
        except ClientDisconnect:
            return Response(status_code=400)  # nobody is left to read it
        if body is None:
            return JSONResponse({"ok": False, "error": "payload too large"}, status_code=413)
        try:
            status, answer = await handler(request.headers, body)
        except Exception:  # our bug: logged once here, the platform gets a 500 and retries
            log.exception("webhook %s failed", request.url.path)
            return JSONResponse({"ok": False}, status_code=500)
        return JSONResponse(answer, status_code=status)

    return endpoint


async def _read_body(request: Request) -> bytes | None:
    """Return the body, or None when it is (or says it is) over MAX_BODY."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def _http_error(_request: Request, error: Any) -> Response:
    """Answer Starlette's 404 and 405 (and a form it could not read: 400) with a short
    Vietnamese page (never a stack trace)."""
    status = int(getattr(error, "status_code", 500))
    headers = dict(getattr(error, "headers", None) or {})
    name = {405: "method", 400: "bad_request"}.get(status, "not_found")
    return page(name, status, headers)
