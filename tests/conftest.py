"""Shared fixtures: a store on a temp file, a small campaign, and a chat driver."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.campaigns.campaign import load_campaign_text
from bot.campaigns.spec import CampaignSpec
from bot.channels.base import CONSOLE, Capabilities, Incoming, Outgoing
from bot.engine import Engine
from bot.store import Store

TZ = ZoneInfo("Asia/Ho_Chi_Minh")

SMALL_CAMPAIGN = """\
title: Đợt thử nghiệm
request: Công văn số 1/SNV-TĐKT ngày 01/10/2023 của Sở Nội vụ
agency: {parent: UBND TỈNH QUẢNG NGÃI, name: SỞ NỘI VỤ, code: SNV, place: Quảng Ngãi}
deadline: 2023-10-31 17:00
questionnaire:
  sections:
    - title: I. Thông tin chung
      questions:
        - {id: so_nguoi, type: integer, ask: "Tổng số người của đơn vị?", unit: người, min: 1}
        - {id: co_vb, type: yesno, ask: "Đơn vị có ban hành văn bản không?"}
        - id: van_ban
          type: documents
          ask: "Các văn bản đã ban hành?"
          when: {id: co_vb, equals: true}
        - {id: ghi_chu, type: text, ask: "Ghi chú thêm?", required: false}
    - title: II. Kết quả
      questions:
        - {id: ty_le, type: percent, ask: "Tỷ lệ tiêm vắc xin?"}
        - {id: tien, type: money, ask: "Số tiền ủng hộ?"}
        - id: hinh_thuc
          type: multichoice
          ask: "Hình thức tuyên truyền?"
          options: [Hội nghị, Báo chí, Mạng xã hội]
          other: true
        - {id: muc_do, type: choice, ask: "Tự đánh giá?", options: [Tốt, Khá]}
units:
  - {code: SXD, name: Sở Xây dựng}
  - {code: SYT, name: Sở Y tế}
"""


@pytest.fixture
def spec() -> CampaignSpec:
    return load_campaign_text("small.yaml", SMALL_CAMPAIGN, TZ)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "test.sqlite3")
    yield opened
    await opened.close()


class Clock:
    """An injected clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = datetime(2023, 10, 20, 1, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@dataclass
class Chat:
    """One contact talking to the engine, keeping every reply."""

    engine: Engine
    campaign_id: int
    chat_id: str = "chat-1"
    caps: Capabilities = CONSOLE
    replies: list[Outgoing] = field(default_factory=list)
    counter: int = 0

    async def send(self, text: str | None = None, button: str | None = None,
                   message_id: str | None = None) -> str:
        """Send a message; return the reply text."""
        self.counter += 1
        incoming = Incoming("test", self.chat_id, user_id=self.chat_id, text=text, button=button,
                            message_id=message_id)
        self.replies = await self.engine.handle(incoming, self.caps, self.campaign_id)
        assert len(self.replies) == 1
        return self.replies[0].text

    @property
    def asked(self) -> str | None:
        return self.replies[-1].extra.get("question")


@pytest.fixture
async def campaign_id(store: Store, spec: CampaignSpec) -> int:
    created, _ = await store.create_campaign(spec, datetime(2023, 10, 17, tzinfo=UTC))
    return created


@pytest.fixture
def engine(store: Store) -> Engine:
    return Engine(store, clock=Clock())


async def open_chat(engine: Engine, campaign_id: int, unit: str = "SXD", chat_id: str = "chat-1",
                    caps: Capabilities = CONSOLE) -> Chat:
    """Bind a chat to a unit and open the conversation."""
    await engine.bind("test", chat_id, unit)
    chat = Chat(engine, campaign_id, chat_id, caps)
    await chat.send(None)
    return chat
