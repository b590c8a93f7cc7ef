"""`reportbot demo`: a whole round offline on the default campaign, through engine and store.

Simulated contacts type what templates/default/demo-answers.yaml says, one message at a time,
in the terminal channel; each conversation is written to hoi-thoai/<CODE>.txt.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

import yaml

from bot.campaigns.campaign import load_campaign
from bot.campaigns.spec import CampaignSpec
from bot.channels.console import ConsoleChannel
from bot.config import Settings
from bot.engine import Engine, utc_now
from bot.paths import templates_dir
from bot.store import Store


class DemoError(RuntimeError):
    """The demo data does not fit the questionnaire."""


@dataclass(frozen=True)
class Played:
    """What one simulated contact did."""

    code: str
    messages: int
    transcript: Path


def default_campaign(tz: tzinfo) -> CampaignSpec:
    """Load the campaign shipped in templates/default."""
    return load_campaign(templates_dir() / "default" / "campaign.yaml", tz)


def demo_answers() -> dict[str, Any]:
    """Return the scripted answers per unit code."""
    path = templates_dir() / "default" / "demo-answers.yaml"
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))["units"]
    return data


def demo_clock() -> datetime:
    """Return the demo's fixed "now": a few days before the default deadline."""
    return datetime(2023, 10, 27, 2, 0, tzinfo=UTC)


async def play_unit(engine: Engine, campaign_id: int, code: str, script: dict[str, Any],
                    folder: Path) -> Played:
    """Play one unit's contact through the questionnaire; return what was sent."""
    buffer = io.StringIO()
    channel = ConsoleChannel(engine, f"demo-{code}", buffer, echo=True, channel="demo")
    replies = await channel.open(code, campaign_id)
    answers: dict[str, Any] = script.get("answers") or {}
    sent = 0
    asked_before: str | None = None
    while True:
        question = replies[-1].extra.get("question") if replies else None
        if question is None:
            break
        if question == asked_before and question not in answers:
            break  # a required question the script leaves open: the unit stays in progress
        if question == asked_before:
            raise DemoError(f"demo answer for {code}.{question} was refused:\n{replies[-1].text}")
        messages = typed(answers.get(question))
        for text in messages:
            replies = await channel.send(text, campaign_id)
            sent += 1
        asked_before = question
    if script.get("submit"):
        await channel.send("/submit", campaign_id)
        sent += 1
    folder.mkdir(parents=True, exist_ok=True)
    transcript = folder / f"{code}.txt"
    transcript.write_text(buffer.getvalue(), encoding="utf-8")
    return Played(code, sent, transcript)


def typed(answer: Any) -> list[str]:
    """Return the messages a contact types for one scripted answer (a list ends with "xong")."""
    if answer is None:
        return ["bỏ qua"]
    if isinstance(answer, list):
        return [str(item) for item in answer] + ["xong"]
    return [str(answer)]


async def run_demo(store: Store, tz: tzinfo, out: Path) -> tuple[int, list[Played]]:
    """Create the default round and play every scripted unit; return the round id."""
    engine = Engine(store, clock=demo_clock)
    campaign_id, _invites = await store.create_campaign(default_campaign(tz), demo_clock())
    played = []
    for code, script in demo_answers().items():
        played.append(await play_unit(engine, campaign_id, code, script, out / "hoi-thoai"))
    return campaign_id, played


DEMO_COORDINATOR = "demo:dieu-phoi"  # the coordinator the demo's web page signs in


async def serve_web(store: Store, settings: Settings, out: Path, port: int,
                    stop: asyncio.Event, show: Callable[[str], None]) -> None:
    """Serve the coordinators' web page on 127.0.0.1 for the demo's round until `stop`.

    No channel runs: the demo's coordinator and its simulated contacts are the chat channel
    "demo", whose messages stay in memory. `show` gets the one-time sign-in link.
    """
    from bot.hub import Hub
    from bot.web import WebServer, add_pages
    from bot.web.feed import FeedTransport

    server = WebServer("127.0.0.1", port)
    started = asyncio.Event()
    serving = asyncio.create_task(server.serve(stop, started))
    await asyncio.wait({serving, asyncio.create_task(started.wait())},
                       return_when=asyncio.FIRST_COMPLETED)
    if serving.done():
        serving.result()  # the port is taken: the error says so
    public = f"http://127.0.0.1:{server.port}"
    local = replace(settings, admins=frozenset({DEMO_COORDINATOR}), public_url=public,
                    data_dir=out)
    hub = Hub(store, local)
    hub.transports["demo"] = FeedTransport(utc_now, "demo")
    site = add_pages(server, hub, public, utc_now)
    url, _expires = await site.links.new_link(DEMO_COORDINATOR)
    show(url)
    try:
        await hub.run(stop)
    finally:
        stop.set()
        await serving
