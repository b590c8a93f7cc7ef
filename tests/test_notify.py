"""The coordinators hear of each submit and each edit after it; /history shows the changes."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SMALL_CAMPAIGN
from tests.test_telegram import ADMIN, Harness, answer_all, create, harness, open_harness

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


# Batching: the notices that come within the window (REPORTBOT_NOTICE_WINDOW) are told in one
# message, when the first of them is due; the clock is the test's.

WINDOW = 120
FIVE_UNITS = SMALL_CAMPAIGN.replace("  - {code: SYT, name: Sở Y tế}\n", """\
  - {code: SYT, name: Sở Y tế}
  - {code: SGD, name: Sở Giáo dục và Đào tạo}
  - {code: SCT, name: Sở Công Thương}
  - {code: STC, name: Sở Tài chính}
""")


class Now:
    """A clock the test moves (07:00 in Hà Nội, 00:00 UTC)."""

    def __init__(self) -> None:
        self.now = datetime(2023, 10, 20, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def wait(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Now:
    return Now()


@pytest.fixture
async def batching(tmp_path: Path, clock: Now) -> AsyncIterator[Harness]:
    async with open_harness(tmp_path, {"REPORTBOT_NOTICE_WINDOW": str(WINDOW)}, clock) as made:
        text = await made.document(ADMIN, "dot.yaml", FIVE_UNITS.encode(), "/new")
        assert "Đã tạo đợt báo cáo số 1" in text
        yield made


def _notices(harness: Harness, start: int) -> list[str]:
    return [t for t in _admin_lines(harness, start) if "báo cáo" in t and "TỔNG HỢP" not in t]


async def _submit(harness: Harness, user: int, code: str, clock: Now, after: float) -> None:
    clock.wait(after)
    assert "Đã gửi báo cáo" in await answer_all(harness, user, code)


async def test_submits_within_the_window_come_in_one_message_naming_them_all(
        batching: Harness, clock: Now) -> None:
    before = len(batching.request.sent(ADMIN))
    await _submit(batching, 7, "SXD", clock, 0)  # 07:00
    await _submit(batching, 8, "SYT", clock, 50)  # 07:00:50
    await _submit(batching, 9, "SGD", clock, 60)  # 07:01:50
    assert _notices(batching, before) == []  # the first is due at 07:02
    clock.wait(WINDOW - 110)
    await batching.sender.drain()
    notices = _notices(batching, before)
    assert len(notices) == 1
    assert "3 đơn vị" in notices[0]
    for line in ("SXD · Sở Xây dựng (07:00)", "SYT · Sở Y tế (07:00)",
                 "SGD · Sở Giáo dục và Đào tạo (07:01)"):
        assert line in notices[0]
    clock.wait(WINDOW * 5)
    await batching.sender.drain()
    assert len(_notices(batching, before)) == 1  # told once


async def test_submits_further_apart_come_as_one_line_each(
        batching: Harness, clock: Now) -> None:
    before = len(batching.request.sent(ADMIN))
    await _submit(batching, 7, "SXD", clock, 0)
    clock.wait(WINDOW)
    await batching.sender.drain()
    await _submit(batching, 8, "SYT", clock, 10 * 60)  # 07:12
    clock.wait(WINDOW)
    await batching.sender.drain()
    assert _notices(batching, before) == ["📥 Đã nhận báo cáo: SXD · Sở Xây dựng lúc 07:00.",
                                          "📥 Đã nhận báo cáo: SYT · Sở Y tế lúc 07:12."]
