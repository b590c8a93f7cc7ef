"""Coordinator commands through the real store and engine, without a platform."""

from __future__ import annotations

from pathlib import Path

from bot.channels.base import CONSOLE, Incoming
from bot.coordinator import Coordinator
from bot.engine import Engine
from bot.store import Store
from tests.conftest import TZ


def command(text: str) -> Incoming:
    return Incoming("console", "boss", "boss", text=text)


async def test_compile_and_export_after_close_use_the_round_just_closed(
        engine: Engine, store: Store, campaign_id: int, tmp_path: Path) -> None:
    """Issue #9 item 9: they said "Chưa có đợt báo cáo nào đang mở" after /close."""
    coordinator = Coordinator(store, engine, TZ, lambda token: [], tmp_path)
    closed = await coordinator.handle(command("/close"), CONSOLE)
    assert "Đã kết thúc đợt báo cáo số 1" in closed[0].text
    compiled = await coordinator.handle(command("/compile"), CONSOLE)
    assert "TỔNG HỢP" in compiled[0].text and "bao-cao-tong-hop.docx" in compiled[-1].text
    exported = await coordinator.handle(command("/export"), CONSOLE)
    assert "du-lieu.xlsx" in exported[0].text
    assert "Đợt thử nghiệm" in (await coordinator.handle(command("/status"), CONSOLE))[0].text
    for refused in ("/remind 1", "/invites 1", "/close 1"):
        replies = await coordinator.handle(command(refused), CONSOLE)
        assert len(replies) == 1 and "đã kết thúc nên không thể" in replies[0].text, refused
    replies = await coordinator.handle(command("/remind"), CONSOLE)
    assert "Chưa có đợt báo cáo nào đang mở" in replies[0].text
