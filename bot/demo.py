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
from pathlib import Path, PurePath
from typing import IO, Any

import yaml

from bot.campaigns.campaign import load_campaign
from bot.campaigns.spec import CampaignSpec
from bot.channels.console import ConsoleChannel
from bot.config import Settings
from bot.engine import Engine, utc_now
from bot.evidence import EvidenceStore, Offer
from bot.paths import templates_dir
from bot.store import Store

DEMO_DATA = "du-lieu-bot"  # the demo's REPORTBOT_DATA_DIR: the files the contacts sent


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
                    folder: Path, evidence: EvidenceStore | None = None,
                    files: frozenset[str] = frozenset()) -> Played:
    """Play one unit's contact through the questionnaire; return what was sent.

    For the questions in `files` (type file) the contact sends a sample file per scripted name,
    kept in `evidence` as a channel's file would be.
    """
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
        scripted = answers.get(question)
        if question in files and evidence is not None and isinstance(scripted, list):
            for name in scripted:
                kept = await evidence.keep(sample_offer(str(name)))
                replies = await channel.send_file(kept.attachment, campaign_id)
                sent += 1
            scripted = []  # then "xong"
        for text in typed(scripted):
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


def sample_offer(name: str) -> Offer:
    """Return a file the demo's contact sends: a one-page PDF, or a JPEG picture, whose page
    shows its name (drawn with matplotlib, no network)."""

    async def download(out: IO[bytes], limit: int) -> None:
        out.write(await asyncio.to_thread(_sample, name))

    return Offer(name, None, download)


def _sample(name: str) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from bot.documents.charts import chart_font

    pdf = name.lower().endswith(".pdf")
    figure = Figure(figsize=(8.27, 11.69) if pdf else (6.4, 4.8), dpi=100)
    FigureCanvasAgg(figure)
    figure.text(0.5, 0.55, PurePath(name).stem, ha="center", va="center", fontsize=14,
                family=chart_font(), wrap=True)
    if not pdf:
        figure.patch.set_facecolor("#dde8f0")
    buffer = io.BytesIO()
    if pdf:
        figure.savefig(buffer, format="pdf", metadata={"CreationDate": None})
    else:
        figure.savefig(buffer, format="jpg")
    return buffer.getvalue()


def typed(answer: Any) -> list[str]:
    """Return the messages a contact types for one scripted answer (a list ends with "xong")."""
    if answer is None:
        return ["bỏ qua"]
    if isinstance(answer, list):
        return [str(item) for item in answer] + ["xong"]
    return [str(answer)]


def demo_evidence(out: Path) -> EvidenceStore:
    """Return where the demo keeps the files its contacts send (its REPORTBOT_DATA_DIR)."""
    return EvidenceStore(out / DEMO_DATA)


async def run_demo(store: Store, tz: tzinfo, out: Path) -> tuple[int, list[Played]]:
    """Create the default round and play every scripted unit; return the round id. The files
    the contacts send are kept in `demo_evidence(out)`."""
    evidence = demo_evidence(out)
    engine = Engine(store, clock=demo_clock)
    spec = default_campaign(tz)
    campaign_id, _invites = await store.create_campaign(spec, demo_clock())
    files = frozenset(q.id for q in spec.questionnaire.questions if q.type == "file")
    played = []
    for code, script in demo_answers().items():
        played.append(await play_unit(engine, campaign_id, code, script, out / "hoi-thoai",
                                      evidence, files))
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
                    data_dir=out / DEMO_DATA)
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
