"""A running Zalo OA channel for tests: a real Store, Hub and WebServer (127.0.0.1, port 0) with
the webhook route, against tests/fakezalooa.py; a Telegram coordinator on a recording desk; a
small file host for what people send."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bot.campaigns.campaign import load_campaign_text
from bot.channels.base import TELEGRAM
from bot.channels.fake import RecordingChannel
from bot.channels.zalo_oa import ZaloOAChannel, configure
from bot.config import Settings, load
from bot.hub import Hub
from bot.store import Store
from bot.web import DownloadLinks, WebServer
from tests.conftest import SMALL_CAMPAIGN, TZ
from tests.fakezalooa import FakeZaloOA

ADMIN = "1000000000000000001"  # a coordinator on the OA
DESK = "boss"  # a coordinator on Telegram (a recording channel)
PUBLIC = "https://bot.example.gov.vn"


class FileHost:
    """Files on 127.0.0.1 as Zalo's CDN would serve what a person sent."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        host = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                content, mime = host.files.get(self.path, (b"", ""))
                self.send_response(200 if mime else 404)
                self.send_header("Content-Type", mime or "text/plain")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, format: str, *args: Any) -> None:
                """Stay quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def put(self, path: str, content: bytes, mime: str) -> str:
        self.files[path] = (content, mime)
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def settings_for(fake: FakeZaloOA, tmp_path: Path, **extra: str) -> Settings:
    values = {"ZALO_OA_APP_ID": fake.app_id, "ZALO_OA_APP_SECRET": fake.app_secret,
              "ZALO_OA_SECRET_KEY": fake.oa_secret_key,
              "ZALO_OA_ACCESS_TOKEN": fake.access_token,
              "ZALO_OA_REFRESH_TOKEN": fake.refresh_token,
              "ZALO_OA_API_BASE_URL": fake.base_url, "ZALO_OAUTH_BASE_URL": fake.base_url,
              "REPORTBOT_PUBLIC_URL": PUBLIC, "REPORTBOT_WEBHOOK_LISTEN": "127.0.0.1:0",
              "REPORTBOT_ADMINS": f"zalo_oa:{ADMIN},telegram:{DESK}",
              "REPORTBOT_DB": str(tmp_path / "oa.sqlite3"),
              "REPORTBOT_DATA_DIR": str(tmp_path / "data"), **extra}
    return load(values, env_file=None)


class Bot:
    """The OA channel with its hub, store and HTTP server, receiving in the background."""

    def __init__(self, fake: FakeZaloOA, settings: Settings) -> None:
        self.fake = fake
        self.settings = settings
        self.tasks: list[asyncio.Task[None]] = []

    def clock(self) -> datetime:
        """The fake's clock, so the reply window and token expiry agree with it."""
        return datetime.fromtimestamp(self.fake.clock, UTC)

    async def open(self) -> Bot:
        """Open the store, plug the channel into a hub, serve the webhook, start receiving."""
        self.store = await Store.open(self.settings.db)
        self.hub = Hub(self.store, self.settings, clock=self.clock)
        self.server = WebServer("127.0.0.1", 0)
        self.links = DownloadLinks(self.store, PUBLIC, self.clock)
        self.server.add_files(self.links)
        self.channel: ZaloOAChannel = configure(self.settings, self.hub,
                                                (self.server, self.links))
        self.desk = RecordingChannel("telegram", TELEGRAM)
        self.hub.add(self.desk)
        self.hub.sender.per_chat, self.hub.sender.rate = 100_000, 100_000
        await self.channel.start()
        self.stop = asyncio.Event()
        listening = asyncio.Event()
        self.tasks = [asyncio.create_task(self.server.serve(self.stop, listening)),
                      asyncio.create_task(self.channel.run(self.stop))]
        await asyncio.wait_for(listening.wait(), 10)
        self.fake.webhook_url = f"http://127.0.0.1:{self.server.port}/zalo-oa"
        return self

    async def close(self) -> None:
        """Stop receiving and serving; release the channel and the store."""
        self.stop.set()
        await asyncio.wait_for(asyncio.gather(*self.tasks), 15)
        self.tasks = []
        await self.channel.stop()
        await self.store.close()

    async def processed(self, key: str, seconds: float = 10.0) -> None:
        """Wait until the event `key` was processed, then deliver what it owes."""
        deadline = time.monotonic() + seconds
        while not await self.store.inbox.is_processed("zalo_oa", key):
            assert time.monotonic() < deadline, f"event {key} not processed"
            await asyncio.sleep(0.01)
        await self.hub.sender.drain()

    async def sent_to(self, user: str, count: int = 1, seconds: float = 10.0) -> list[str]:
        """Deliver what is owed until `user` has `count` messages; return their texts."""
        deadline = time.monotonic() + seconds
        while len(self.fake.sent_messages(user)) < count:
            assert time.monotonic() < deadline, f"fewer than {count} messages to {user}"
            await self.hub.sender.drain()
            await asyncio.sleep(0.02)
        return [m.text for m in self.fake.sent_messages(user)]

    async def after(self, user: str, send: Callable[[], str]) -> list[str]:
        """Let the person do something (returning its msg_id); return the texts sent back."""
        before = len(self.fake.sent_messages(user))
        await self.processed(await asyncio.to_thread(send))
        return [m.text for m in self.fake.sent_messages(user)[before:]]

    async def say(self, user: str, text: str) -> str:
        """The person types `text`; return what the bot sent back, joined."""
        return "\n".join(await self.after(user, lambda: self.fake.send_text(user, text)))

    async def tap(self, user: str, label: str) -> str:
        """The person taps the button `label` of the last message; return the answer."""
        last = self.fake.sent_messages(user)[-1]
        payload = next(b["payload"] for b in last.buttons if b["title"] == label)
        return "\n".join(await self.after(user, lambda: self.fake.tap(user, payload)))

    async def token(self, code: str) -> str:
        invites = await self.store.regenerate_invites(1)
        return next(i.token for i in invites if i.code == code)


MakeBot = Callable[..., Awaitable[Bot]]


@pytest.fixture
async def make_bot(tmp_path: Path) -> AsyncIterator[MakeBot]:
    """Return a maker of a running bot against a fake started with the options given."""
    opened: list[Bot] = []
    fakes: list[FakeZaloOA] = []

    async def make(campaign: str = SMALL_CAMPAIGN, env: dict[str, str] | None = None,
                   fake: FakeZaloOA | None = None, **options: Any) -> Bot:
        if fake is None:
            fake = FakeZaloOA(**{"ticking": True, **options}).start()
            fakes.append(fake)
        bot = await Bot(fake, settings_for(fake, tmp_path, **(env or {}))).open()
        opened.append(bot)
        if not await bot.store.campaigns():
            spec = load_campaign_text("dot.yaml", campaign, TZ)
            await bot.store.create_campaign(spec, bot.clock())
        return bot

    yield make
    for bot in opened:
        if bot.tasks:
            await bot.close()
    for fake in fakes:
        assert not any(c.token_in_url for c in fake.calls())
        fake.stop()


@pytest.fixture
def file_host() -> Iterator[FileHost]:
    host = FileHost()
    yield host
    host.close()
