"""The coordinators hear of each submit and each edit after it; /history shows the changes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot import outbox
from bot.campaigns.campaign import load_campaign_text
from bot.channels.base import ZALO_BOT, split_parts
from bot.followups import FollowUps
from bot.model import Campaign
from bot.notices import Notices
from bot.outbox import Sender
from bot.store import Store
from bot.store.notices import Notice
from tests.conftest import SMALL_CAMPAIGN, TZ
from tests.test_telegram import (
    ADMIN,
    Harness,
    answer_all,
    create,
    harness,
    invite_token,
    open_harness,
)

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
    # who: the name the contact has on Telegram
    assert "12 người → 15 người" in line and "· User 7 ·" in line and ":" in line.split("·")[0]


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


async def test_a_unit_returned_and_submitted_again_in_one_window_is_one_line(
        batching: Harness, clock: Now) -> None:
    before = len(batching.request.sent(ADMIN))
    await _submit(batching, 7, "SXD", clock, 0)  # 07:00
    await _submit(batching, 8, "SYT", clock, 10)
    clock.wait(20)
    assert "Đã trả lại" in await batching.text(ADMIN, "/return SXD Số tiền chưa khớp tien")
    clock.wait(30)
    await batching.text(7, "12 triệu")
    assert "Đã gửi báo cáo" in await batching.text(7, "/submit")  # 07:01
    clock.wait(WINDOW)
    await batching.sender.drain()
    [notice] = [t for t in _notices(batching, before) if "Đã nhận" in t]
    assert "2 đơn vị" in notice
    assert notice.count("SXD · Sở Xây dựng") == 1 and "SXD · Sở Xây dựng (07:01)" in notice


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


def _restarted(harness: Harness) -> Sender:
    """Return the sender of a restarted process: the same database, nothing in memory."""
    hub = harness.channel.hub
    followups = FollowUps(hub.coordinator, hub.coordinator_chats(), hub.caps_of, WINDOW)
    return Sender(harness.store, hub.transports, hub.sender.clock, hub.notices, followups,
                  batches=followups.notices)


async def test_a_kill_between_owing_and_telling_tells_each_submit_once(
        batching: Harness, clock: Now) -> None:
    before = len(batching.request.sent(ADMIN))
    await _submit(batching, 7, "SXD", clock, 0)  # its notice recorded, pending
    real = batching.sender
    batching.sender = Sender(batching.store, {}, real.clock, real.notices)  # killed: does nothing
    await batching.text(8, f"/start {await invite_token(batching, 'SYT')}")
    for text in ("12", "không", "bỏ qua", "100%", "10tr", "1", "1", "/submit"):
        await batching.text(8, text)  # owed in the outbox, never sent: the process was killed
    assert _notices(batching, before) == []
    clock.wait(WINDOW)
    restarted = _restarted(batching)
    await restarted.start_workers()  # runs SYT's task left in the outbox: its notice recorded
    await asyncio.gather(*restarted.workers.values())
    assert await restarted.batches.flush_due(clock()) is None  # both owed in one message ...
    assert _notices(batching, before) == []  # ... and killed again before it was sent
    batching.sender = _restarted(batching)
    await batching.sender.drain()
    clock.wait(WINDOW)
    await batching.sender.drain()
    notices = _notices(batching, before)
    assert len(notices) == 1
    assert "2 đơn vị" in notices[0] and "SXD · Sở Xây dựng" in notices[0]
    assert "SYT · Sở Y tế" in notices[0]
    assert sum("Đã gửi báo cáo" in p["text"] for p in batching.request.sent(8)) == 1


async def test_edits_in_one_window_name_what_each_unit_changed(
        batching: Harness, clock: Now) -> None:
    await _submit(batching, 7, "SXD", clock, 0)
    await _submit(batching, 8, "SYT", clock, 0)
    clock.wait(WINDOW)
    await batching.sender.drain()
    before = len(batching.request.sent(ADMIN))
    clock.wait(10 * 60)  # 07:12
    for text in ("/edit 1", "15"):
        await batching.text(7, text)
    clock.wait(30)
    for text in ("/edit 5", "20tr"):
        await batching.text(7, text)
    clock.wait(30)  # 07:13
    for text in ("/edit 1", "40"):
        await batching.text(8, text)
    clock.wait(WINDOW)
    await batching.sender.drain()
    notices = _notices(batching, before)
    assert len(notices) == 1
    assert "2 đơn vị sửa báo cáo" in notices[0] and "Đã nhận" not in notices[0]
    sxd = next(line for line in notices[0].splitlines() if "SXD" in line)
    assert "(07:12)" in sxd and "Tổng số người" in sxd and "Số tiền ủng hộ" in sxd
    syt = next(line for line in notices[0].splitlines() if "SYT" in line)
    assert "(07:13)" in syt and "Tổng số người" in syt and "Số tiền" not in syt


async def test_the_last_submit_tells_the_pending_notices_before_the_compile(
        tmp_path: Path, clock: Now) -> None:
    async with open_harness(tmp_path, {"REPORTBOT_NOTICE_WINDOW": str(WINDOW)}, clock) as made:
        await create(made)
        before = len(made.request.sent(ADMIN))
        await _submit(made, 7, "SXD", clock, 0)
        await _submit(made, 8, "SYT", clock, 30)  # the round is complete: compiled at once
        lines = _admin_lines(made, before)
        told = next(i for i, t in enumerate(lines) if "Đã nhận báo cáo của 2 đơn vị" in t)
        compiled = next(i for i, t in enumerate(lines) if "TỔNG HỢP" in t)
        assert told < compiled
        clock.wait(WINDOW)
        await made.sender.drain()
        assert sum("Đã nhận báo cáo" in t for t in _admin_lines(made, before)) == 1


async def test_a_submit_whose_notice_still_waits_in_its_chat_is_told_before_the_compile(
        tmp_path: Path, clock: Now) -> None:
    async with open_harness(tmp_path, {"REPORTBOT_NOTICE_WINDOW": str(WINDOW)}, clock) as made:
        await create(made)
        before = len(made.request.sent(ADMIN))
        real = made.sender
        made.sender = Sender(made.store, {}, real.clock, real.notices)  # sends nothing
        await answer_all(made, 7, "SXD")  # everything owed to SXD's chat waits its turn ...
        await answer_all(made, 8, "SYT")  # ... and SYT's submit completes the round
        restarted = made.sender = _restarted(made)
        await restarted.work("telegram", "8", from_db=True)  # SYT's turn comes first
        await restarted.work("telegram", str(ADMIN), from_db=True)
        lines = _admin_lines(made, before)
        compiled = [i for i, t in enumerate(lines) if "TỔNG HỢP" in t]
        told = [i for i, t in enumerate(lines[:compiled[0]]) if "Đã nhận báo cáo" in t]
        assert len(told) == 1, lines  # one message before the report, naming both units
        assert "SXD · Sở Xây dựng" in lines[told[0]] and "SYT · Sở Y tế" in lines[told[0]]
        await restarted.work("telegram", "7", from_db=True)  # SXD's own notice task: recorded
        clock.wait(WINDOW)
        await made.sender.drain()
        assert sum("SXD" in t for t in _notices(made, before)) == 1  # told once


async def test_compile_tells_the_pending_notices_before_the_report(
        batching: Harness, clock: Now) -> None:
    before = len(batching.request.sent(ADMIN))
    await _submit(batching, 7, "SXD", clock, 0)
    clock.wait(30)  # inside the window: not told yet
    assert _notices(batching, before) == []
    await batching.text(ADMIN, "/compile")
    lines = _admin_lines(batching, before)
    compiled = [i for i, t in enumerate(lines) if "TỔNG HỢP" in t]
    assert compiled and any("Đã nhận báo cáo: SXD" in t for t in lines[:compiled[0]]), lines
    clock.wait(WINDOW)
    await batching.sender.drain()
    assert sum("Đã nhận báo cáo" in t for t in _notices(batching, before)) == 1


async def test_a_long_batch_comes_in_parts_under_the_channel_limit_one_unit_per_line(
        tmp_path: Path) -> None:
    units = [(f"X{i:02d}", f"Ủy ban nhân dân xã Tịnh Hòa số {i} huyện Sơn Tịnh") for i in range(60)]
    campaign = Campaign(1, load_campaign_text("dot.yaml", SMALL_CAMPAIGN.replace(
        "  - {code: SXD, name: Sở Xây dựng}\n  - {code: SYT, name: Sở Y tế}\n",
        "".join(f"  - {{code: {c}, name: {n}}}\n" for c, n in units)), TZ), "open",
        datetime(2023, 10, 1, tzinfo=UTC))
    at = datetime(2023, 10, 20, 1, 0, tzinfo=UTC)
    notices = [Notice(i, 1, code, at + timedelta(seconds=i), ()) for i, (code, _) in
               enumerate(units)]
    store = await Store.open(tmp_path / "t.sqlite3")
    try:
        [message] = Notices(store, [("zalo", "1")], lambda _c: ZALO_BOT).messages(campaign,
                                                                                 notices)
    finally:
        await store.close()
    parts = split_parts(message, ZALO_BOT)
    assert len(parts) > 1 and all(len(p.text) <= ZALO_BOT.max_length for p in parts)
    assert parts[0].text.startswith("📥 Đã nhận báo cáo của 60 đơn vị:")
    lines = [line for p in parts for line in p.text.splitlines()[1 if p is parts[0] else 0:]]
    assert lines == [f"- {c} · {n} ({(at + timedelta(seconds=i)).astimezone(TZ):%H:%M})"
                     for i, (c, n) in enumerate(units)]


async def test_an_edit_right_after_the_submit_is_told_with_it_as_the_submit(
        batching: Harness, clock: Now) -> None:
    before = len(batching.request.sent(ADMIN))
    await _submit(batching, 7, "SXD", clock, 0)
    clock.wait(20)
    for text in ("/edit 1", "15"):
        await batching.text(7, text)
    clock.wait(WINDOW)
    await batching.sender.drain()
    assert _notices(batching, before) == ["📥 Đã nhận báo cáo: SXD · Sở Xây dựng lúc 07:00."]
    assert "12 người → 15 người" in await batching.text(ADMIN, "/history SXD")


async def test_the_running_sender_tells_a_batch_when_it_is_due_not_at_its_next_look(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outbox, "LOOK_EVERY", 60.0)
    async with open_harness(tmp_path, {"REPORTBOT_NOTICE_WINDOW": "5"}) as made:
        await create(made)
        before = len(made.request.sent(ADMIN))
        await answer_all(made, 7, "SXD")
        submitted = time.monotonic()
        assert _notices(made, before) == []  # due 5 s after the submit
        stop = asyncio.Event()
        running = asyncio.create_task(made.sender.run(stop))
        try:
            while not _notices(made, before):
                assert time.monotonic() - submitted < 20, "the batch waited for the next look"
                await asyncio.sleep(0.05)
        finally:
            stop.set()
            await running
        assert len(_notices(made, before)) == 1
