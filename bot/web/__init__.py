"""The bot's one HTTP server (`WebServer`), its download links, and how `reportbot run` uses it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.config import Settings
from bot.store import Store
from bot.web.links import DownloadLinks
from bot.web.server import WebServer

if TYPE_CHECKING:
    from bot.hub import Hub
    from bot.web.site import Site

__all__ = ["DownloadLinks", "WebServer", "add_pages", "build_server", "serve_while"]


def build_server(settings: Settings, store: Store, clock: Callable[[], datetime]
                 ) -> tuple[WebServer, DownloadLinks] | None:
    """Return the server (with /files and /healthz) and its links, when a public URL is set."""
    if not settings.public_url:
        return None
    host, port = settings.webhook_listen

    async def health() -> bool:
        await store.links.find("")  # one read: the database answers
        return True

    server = WebServer(host, port, health)
    links = DownloadLinks(store, settings.public_url, clock)
    server.add_files(links)
    return server, links


def add_pages(server: WebServer, hub: Hub, public_url: str,
              clock: Callable[[], datetime]) -> Site:
    """Serve the coordinators' web page on the server; plug it into the hub as a channel."""
    from bot.web.auth import LoginLinks
    from bot.web.feed import WebChannel
    from bot.web.site import Site

    channel = WebChannel(clock, hub.store)
    links = LoginLinks(hub.store, public_url, clock, hub.caps_of,
                       lambda owner: owner in hub.settings.admins)
    hub.add_web(channel, links)
    site = Site(hub, links, channel.transport, clock)
    server.app.router.routes.extend(site.routes())
    return site


async def serve_while(server: WebServer | None, stop: asyncio.Event,
                      main: Callable[[asyncio.Event], Coroutine[Any, Any, None]]) -> None:
    """Run `main(stop)` with the server up; when either ends, stop both and raise any error."""
    if server is None:
        await main(stop)
        return
    tasks = {asyncio.create_task(server.serve(stop)), asyncio.create_task(main(stop))}
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.set()
        await asyncio.wait(tasks)
    for task in tasks:
        task.result()
