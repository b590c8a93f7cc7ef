"""`reportbot run`: every configured channel, one store, one hub, one HTTP server, one process.

SIGINT or SIGTERM sets `stop`: the channels stop receiving, the sender writes the marks of what
it sent, the server finishes its requests, the database is closed; the exit status is 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging

from bot import channels
from bot.config import ConfigError, Settings
from bot.engine import utc_now
from bot.hub import Hub
from bot.store import Store
from bot.web import add_pages, build_server, serve_while

log = logging.getLogger("reportbot")
NOISY = ("httpx", "httpcore", "telegram", "uvicorn.access")  # their URLs carry tokens


def quiet_libraries() -> None:
    """Keep the libraries whose log lines would show a token at WARNING."""
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)


def settle_heap() -> None:
    """Move what start-up built (modules, templates, the platform libraries) out of the
    garbage collector's scans.

    They live as long as the process; without this every full collection walks them again
    (~0.1 s each while updates stream in). Process-wide, like any `gc` setting.
    """
    gc.collect()
    gc.freeze()


async def run_bot(settings: Settings, stop: asyncio.Event) -> None:
    """Run every configured channel until `stop` is set."""
    if not channels.wanted(settings):
        raise ConfigError("no channel is configured: set TELEGRAM_BOT_TOKEN, ZALO_BOT_TOKEN or"
                          " ZALO_OA_APP_ID"
                          " (see .env.example)")
    for note in settings.notes:
        log.warning("%s", note)
    store = await Store.open(settings.db)
    running = []
    try:
        hub = Hub(store, settings)
        web = build_server(settings, store, utc_now)
        if web is not None:
            add_pages(web[0], hub, settings.public_url, utc_now)
        running = channels.configured(settings, hub, web)
        settle_heap()
        log.debug("channels %s, database %s", ", ".join(c.name for c in running), settings.db)
        await serve_while(web[0] if web else None, stop, hub.run)
    finally:
        for channel in running:
            with contextlib.suppress(Exception):  # a channel that never connected
                await channel.stop()
        await store.close()
