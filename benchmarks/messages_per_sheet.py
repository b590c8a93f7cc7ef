"""Message economy (issue #11): what one complete sheet costs on each channel.

On Zalo Bot every message counts against a monthly quota (3,000 on the free plan), so a sheet
should cost about one message per question: the confirmation travels with the next question,
and the review is split only where it must be. One contact of SXD plays the default campaign
(templates/default/) with the demo's answers (demo-answers.yaml) through the hub, the durable
engine and the outbox sender, into a recording channel with that channel's capabilities: the
invite, every question, the review, /submit and the unit's report after it.

Figures, per channel:
- questions asked: distinct questions the contact was asked;
- contact inputs: messages the contact sent (the invite and /submit included);
- bot messages: Outgoing rows delivered to the contact (a document is one);
- platform messages: parts after splitting at the channel's limit (what the quota counts);
  a document on a channel without files is one text (a link, or where it was saved);
- per question: platform messages / questions asked;
- breakdown: confirmations merged with the next question, bot messages that were a
  confirmation alone, review parts, the submit confirmation, documents, and the rest.

    python benchmarks/messages_per_sheet.py
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.channels.base import (  # noqa: E402
    CONSOLE,
    TELEGRAM,
    ZALO_BOT,
    ZALO_OA,
    Attachment,
    Capabilities,
    Incoming,
    Outgoing,
    split_parts,
)
from bot.channels.fake import RecordingChannel, RecordingTransport  # noqa: E402
from bot.config import load  # noqa: E402
from bot.demo import (  # noqa: E402
    default_campaign,
    demo_answers,
    demo_clock,
    sample_offer,
    typed,
)
from bot.hub import Hub  # noqa: E402
from bot.store import Store  # noqa: E402

UNIT = "SXD"
CHAT = "contact-1"
CHANNELS: dict[str, Capabilities] = {"telegram": TELEGRAM, "zalo": ZALO_BOT, "zalo_oa": ZALO_OA,
                                     "console": CONSOLE}
SAVED = "✔️ Đã lưu"
REVIEW = "BẢNG TRẢ LỜI"
SUBMITTED = "Đã gửi báo cáo"


@dataclass
class Economy:
    """What one sheet cost on one channel."""

    channel: str
    questions: int = 0
    inputs: int = 0
    messages: int = 0
    parts: int = 0
    review_chars: int = 0  # the longest review sheet sent
    breakdown: dict[str, int] = field(default_factory=dict)

    @property
    def per_question(self) -> float:
        """Return the platform messages per question asked."""
        return self.parts / self.questions if self.questions else 0.0


class Counting(RecordingTransport):
    """A recording platform that also keeps every whole message before it is cut."""

    def __init__(self, name: str, caps: Capabilities) -> None:
        super().__init__(name, caps)
        self.messages: list[Outgoing] = []

    def parts(self, message: Outgoing) -> list[Outgoing]:
        """Keep the message, then cut it as the platform's limit demands."""
        self.messages.append(message)
        return super().parts(message)


async def play_sheet(name: str, caps: Capabilities, folder: Path) -> Economy:
    """Play one complete sheet of the default round on a channel; return what it cost."""
    store = await Store.open(folder / f"{name}.sqlite3")
    try:
        hub = make_hub(store, folder, name, caps)
        transport = hub.transports[name]
        assert isinstance(transport, Counting)
        _, invites = await store.create_campaign(default_campaign(ZoneInfo("Asia/Ho_Chi_Minh")),
                                                 demo_clock())
        token = next(i.token for i in invites if i.code == UNIT)
        asked, inputs = await converse(hub, name, token, demo_answers()[UNIT]["answers"])
        return tally(name, transport, asked, inputs)
    finally:
        await store.close()


def make_hub(store: Store, folder: Path, name: str, caps: Capabilities) -> Hub:
    """Return a hub with one recording channel of these capabilities, unpaced."""
    settings = load({"REPORTBOT_DB": str(folder / f"{name}.sqlite3"),
                     "REPORTBOT_DATA_DIR": str(folder / f"data-{name}")}, env_file=None)
    hub = Hub(store, replace(settings, admins=frozenset()), clock=demo_clock)
    channel = RecordingChannel(name, caps)
    channel.transport = Counting(name, caps)
    hub.add(channel)
    hub.sender.per_chat, hub.sender.rate = 100_000, 100_000
    return hub


async def converse(hub: Hub, name: str, token: str, answers: dict[str, Any]
                   ) -> tuple[set[str], int]:
    """Open the invite, answer every question asked, then /submit; return what was asked and
    how many messages the contact sent."""
    transport = hub.transports[name]
    assert isinstance(transport, Counting)
    inputs, asked = 0, set()

    async def say(text: str, file: bool = False) -> str | None:
        nonlocal inputs
        inputs += 1
        if file:  # a file the contact sends (a sample the demo draws), kept by the hub
            attachment = Attachment(text, "", 0, "sample")
            await hub.receive(Incoming(name, CHAT, CHAT, attachment=attachment,
                                       message_id=f"m{inputs}"), offer=sample_offer(text))
        else:
            await hub.receive(Incoming(name, CHAT, CHAT, text=text, message_id=f"m{inputs}"))
        await hub.sender.drain()
        return transport.messages[-1].extra.get("question")

    spec = default_campaign(ZoneInfo("Asia/Ho_Chi_Minh"))
    files = {q.id for q in spec.questionnaire.questions if q.type == "file"}

    question = await say(f"/start {token}")
    while question is not None:
        if question in asked:
            raise RuntimeError(f"{question} was asked again: {transport.messages[-1].text}")
        asked.add(question)
        scripted = answers.get(question)
        if question in files and isinstance(scripted, list):
            for file in scripted:
                question = await say(str(file), file=True)
            scripted = []  # then "xong"
        for text in typed(scripted):
            question = await say(text)
    await say("/submit")
    return asked, inputs


def tally(name: str, transport: Counting, asked: set[str], inputs: int) -> Economy:
    """Count the messages and parts the contact received, and sort them by kind."""
    messages = [m for m in transport.messages if m.chat_id == CHAT]
    kinds: dict[str, int] = {}
    for message in messages:
        kind = _kind(message)
        kinds[kind] = kinds.get(kind, 0) + 1
        if kind == "review":
            parts = len(split_parts(message, transport.caps))
            kinds["review parts"] = kinds.get("review parts", 0) + parts
    reviews = [len(m.text) for m in messages if _kind(m) == "review"]
    return Economy(name, len(asked), inputs, len(messages),
                   sum(1 for p in transport.sent if p.chat_id == CHAT), max(reviews, default=0),
                   kinds)


def _kind(message: Outgoing) -> str:
    if message.document is not None or message.extra.get("files"):
        return "documents"
    if SUBMITTED in message.text:
        return "submit confirmation"
    if REVIEW in message.text:
        return "review"
    if message.extra.get("question") and SAVED in message.text:
        return "confirmation + next question"
    if message.extra.get("question"):
        return "question alone"
    if SAVED in message.text:
        return "confirmation alone"
    return "other"


async def measure() -> list[Economy]:
    """Play the sheet on every channel."""
    with tempfile.TemporaryDirectory() as tmp:
        return [await play_sheet(name, caps, Path(tmp)) for name, caps in CHANNELS.items()]


def report(economy: Economy) -> str:
    """Return one channel's figures as lines."""
    lines = [f"{economy.channel} (max {CHANNELS[economy.channel].max_length} characters)",
             f"  questions asked     {economy.questions}",
             f"  contact inputs      {economy.inputs}",
             f"  bot messages        {economy.messages}",
             f"  platform messages   {economy.parts}",
             f"  per question        {economy.per_question:.2f}",
             f"  review sheet        {economy.review_chars} characters"]
    lines += [f"    {kind:<30} {count}" for kind, count in sorted(economy.breakdown.items())]
    return "\n".join(lines)


def main() -> None:
    """Print the figures of every channel."""
    for economy in asyncio.run(measure()):
        print(report(economy))


if __name__ == "__main__":
    main()
