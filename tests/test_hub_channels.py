"""Several channels in one hub: a channel's loop that fails is restarted, never takes the others
down; a refused token (ConfigError) ends them all, cleanly."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.channels.base import ZALO_BOT
from bot.channels.fake import RecordingChannel
from bot.config import ConfigError, load
from bot.hub import Hub
from bot.store import Store


class Flaky(RecordingChannel):
    """A channel whose receiving loop crashes the first time it runs."""

    def __init__(self) -> None:
        super().__init__("flaky", ZALO_BOT)
        self.runs = 0

    async def run(self, stop: asyncio.Event) -> None:
        self.runs += 1
        if self.runs == 1:
            raise RuntimeError("the platform answered something unheard of")
        await super().run(stop)


class Refused(RecordingChannel):
    """A channel whose platform refuses its token."""

    async def start(self) -> None:
        raise ConfigError("the token was refused")


class Steady(RecordingChannel):
    """A channel that counts how often it was started and whether it still runs."""

    def __init__(self) -> None:
        super().__init__("steady")
        self.starts = 0
        self.running = False

    async def start(self) -> None:
        self.starts += 1

    async def run(self, stop: asyncio.Event) -> None:
        self.running = True
        await super().run(stop)
        self.running = False


async def hub_with(tmp_path: Path, *channels: RecordingChannel) -> Hub:
    settings = load({"REPORTBOT_DB": str(tmp_path / "h.sqlite3")}, env_file=None)
    hub = Hub(await Store.open(settings.db), settings)
    for channel in channels:
        hub.add(channel)
    return hub


async def test_a_crashed_channel_loop_restarts_and_the_other_keeps_running(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    flaky, steady = Flaky(), Steady()
    hub = await hub_with(tmp_path, flaky, steady)
    stop = asyncio.Event()
    running = asyncio.create_task(hub.run(stop))
    for _ in range(300):  # the first restart comes after 1 s of backoff
        if flaky.runs == 2:
            break
        await asyncio.sleep(0.01)
    assert flaky.runs == 2 and steady.running and steady.starts == 1
    assert "channel flaky failed (RuntimeError" in caplog.text
    stop.set()
    await asyncio.wait_for(running, 10)
    assert not steady.running
    await hub.store.close()


async def test_a_refused_token_ends_every_channel(tmp_path: Path) -> None:
    steady = Steady()
    hub = await hub_with(tmp_path, Refused("zalo", ZALO_BOT), steady)
    stop = asyncio.Event()
    with pytest.raises(ConfigError, match="refused"):
        await asyncio.wait_for(hub.run(stop), 10)
    assert stop.is_set() and not steady.running
    await hub.store.close()
