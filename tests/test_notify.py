"""The coordinators hear of each submit and each edit after it; /history shows the changes."""

from __future__ import annotations

import time
from typing import Any

from tests.test_telegram import ADMIN, Harness, answer_all, create, harness

__all__ = ["harness"]


def _admin_lines(harness: Harness, start: int) -> list[str]:
    return [p["text"] for p in harness.request.sent(ADMIN)[start:]]


async def test_a_submit_gives_the_coordinator_one_line_with_unit_and_time(
        harness: Harness) -> None:
    await create(harness)
    before = len(harness.request.sent(ADMIN))
    await answer_all(harness, 7, "SXD")
    notices = [t for t in _admin_lines(harness, before) if "Đã nhận báo cáo" in t]
    assert len(notices) == 1
    assert "SXD" in notices[0] and "Sở Xây dựng" in notices[0]
    assert any(c.isdigit() for c in notices[0].split("lúc")[1])


async def test_an_edit_after_submitting_names_what_changed(harness: Harness) -> None:
    await create(harness)
    await answer_all(harness, 7, "SXD")
    before = len(harness.request.sent(ADMIN))
    await harness.text(7, "/edit 1")
    await harness.text(7, "15")
    notices = [t for t in _admin_lines(harness, before) if "sửa báo cáo" in t]
    assert len(notices) == 1
    assert "SXD" in notices[0] and "Tổng số người" in notices[0]
    assert not any("Đã nhận báo cáo" in t for t in _admin_lines(harness, before))


async def test_a_redelivered_submit_gives_no_second_line(harness: Harness) -> None:
    await create(harness)
    await harness.text(7, f"/start {(await harness.store.regenerate_invites(1))[0].token}")
    for text in ("12", "không", "bỏ qua", "100%", "10tr", "1", "1"):
        await harness.text(7, text)
    message: dict[str, Any] = {
        "message_id": 999, "date": int(time.time()), "text": "/submit",
        "chat": {"id": 7, "type": "private"},
        "from": {"id": 7, "is_bot": False, "first_name": "User 7"},
        "entities": [{"type": "bot_command", "offset": 0, "length": 7}]}
    before = len(harness.request.sent(ADMIN))
    await harness.feed({"message": message})
    await harness.feed({"message": message}, redeliver=True)
    notices = [t for t in _admin_lines(harness, before) if "Đã nhận báo cáo" in t]
    assert len(notices) == 1


async def test_history_lists_who_when_and_old_to_new(harness: Harness) -> None:
    await create(harness)
    await answer_all(harness, 7, "SXD")
    await harness.text(7, "/edit 1")
    await harness.text(7, "15")
    text = await harness.text(ADMIN, "/history SXD")
    assert "LỊCH SỬ THAY ĐỔI" in text and "Sở Xây dựng" in text
    line = next(t for t in text.splitlines() if "Tổng số người" in t and "→" in t)
    assert "12 người → 15 người" in line and "· 7 ·" in line and ":" in line.split("·")[0]


async def test_history_of_an_unknown_unit_is_answered_politely(harness: Harness) -> None:
    await create(harness)
    text = await harness.text(ADMIN, "/history XYZ")
    assert "Không có đơn vị mã" in text and "SXD" in text and "SYT" in text
    assert "Cách dùng: /history" in await harness.text(ADMIN, "/history")
    assert "chưa có câu trả lời" in await harness.text(ADMIN, "/history SYT")
