"""Chat channels: each turns a platform's events into Incoming and Outgoing into platform calls.

`base` (the seam), `fake` (a recording fake), `console` (the terminal), `telegram` (+
`telegram_webhook`), `zalo_bot` (Zalo Bot Platform; its client in `zalo_bot_client`, its sending
in `zalo_bot_transport`, its updates and webhook in `zalo_bot_updates`), `zalo_oa` (Zalo Official
Account: `zalo_oa_webhook`, `zalo_oa_files`, `zalo_oa_client`, `zalo_oa_tokens`,
`zalo_oa_transport`).

`configured` builds every channel whose credentials are set; adding a channel means a module
here with a `configure(settings, hub, web)` function, and its settings in bot/config.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.hub import Channel, Hub
    from bot.web import DownloadLinks, WebServer

# Each channel: the setting that turns it on, and the module that builds it.
CHANNELS = (("TELEGRAM_BOT_TOKEN", "telegram"), ("ZALO_BOT_TOKEN", "zalo_bot"),
            ("ZALO_OA_APP_ID", "zalo_oa"))


def wanted(settings: Settings) -> list[str]:
    """Return the modules of the channels whose credentials are set."""
    return [module for key, module in CHANNELS if getattr(settings, key.lower())]


def configured(settings: Settings, hub: Hub,
               web: tuple[WebServer, DownloadLinks] | None) -> list[Channel]:
    """Build and plug into the hub every channel whose credentials are set."""
    import importlib

    channels = []
    for module in wanted(settings):
        channel = importlib.import_module(f"bot.channels.{module}").configure(settings, hub, web)
        channels.append(channel)
    return channels
