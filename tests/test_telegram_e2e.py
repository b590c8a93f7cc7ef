"""`reportbot run` as a real subprocess against the fake Bot API on 127.0.0.1, killed mid-round."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SMALL_CAMPAIGN
from tests.e2e_rig import BotProcess
from tests.fakebotapi import FakeBotApi

TOKEN = "123456:TEST-token-abcdefghijklmnopqrstu"
ADMIN, CONTACT, STRANGER = 900, 7, 8


class Bot(BotProcess):
    """The bot process with Telegram alone configured, polling the fake Bot API."""

    def __init__(self, folder: Path, fake: FakeBotApi) -> None:
        super().__init__(folder, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=fake.base_url,
                         REPORTBOT_DB=str(folder / "bot.sqlite3"), REPORTBOT_ADMINS=str(ADMIN))


@pytest.fixture
def fake() -> Iterator[FakeBotApi]:
    with FakeBotApi(token=TOKEN) as server:
        yield server


def test_round_survives_a_sigkill_with_nothing_lost_or_repeated(tmp_path: Path,
                                                               fake: FakeBotApi) -> None:
    bot = Bot(tmp_path, fake)
    (tmp_path / "dot.yaml").write_text(SMALL_CAMPAIGN, encoding="utf-8")
    created = json.loads(bot.cli("campaign", "create", "dot.yaml", "--json"))
    token = next(u["token"] for u in created["units"] if u["code"] == "SXD")
    bot.start()
    try:
        fake.send_text(CONTACT, f"/start {token}")
        fake.wait_for_sent(CONTACT, lambda m: "Câu 1/7" in m.text, timeout=30)
        fake.send_text(CONTACT, "1.250 người")
        asked = fake.wait_for_sent(CONTACT, lambda m: "Câu 2/7" in m.text)
        fake.press_button(CONTACT, asked.message_id, "co_vb:y")
        fake.wait_for_sent(CONTACT, lambda m: "Câu 3/8" in m.text)

        bot.kill()  # the contact keeps typing while the bot is down
        fake.send_text(CONTACT, "Kế hoạch số 692/KH-SXD ngày 04/10/2021 tổ chức thực hiện")
        fake.send_text(CONTACT, "xong")
        fake.send_text(CONTACT, "bỏ qua")
        fake.send_text(CONTACT, "99,5 %")
        bot.start()

        fake.wait_for_sent(CONTACT, lambda m: "Câu 6/8" in m.text, timeout=30)
        for text in ("1,5 tỷ", "1, 3", "2"):
            fake.send_text(CONTACT, text)
        fake.wait_for_sent(CONTACT, lambda m: "BẢNG TRẢ LỜI" in m.text)
        fake.send_text(CONTACT, "/submit")
        fake.wait_for_sent(CONTACT, lambda m: "Đã gửi báo cáo" in m.text)

        fake.send_text(STRANGER, "/compile")
        refusal = fake.wait_for_sent(STRANGER)
        assert "chỉ dành cho cán bộ điều phối" in refusal.text
        fake.send_text(ADMIN, "/status")
        status = fake.wait_for_sent(ADMIN, lambda m: "TÌNH HÌNH BÁO CÁO" in m.text)
        assert "SXD · Sở Xây dựng: đã gửi" in status.text and "SYT · Sở Y tế" in status.text
    finally:
        code, errors = bot.stop()
    assert code == 0, errors
    assert TOKEN not in errors and TOKEN.split(":")[1] not in errors

    db = sqlite3.connect(tmp_path / "bot.sqlite3")
    answers = dict(db.execute("SELECT question_id, value_json FROM answers"))
    assert json.loads(answers["so_nguoi"]) == 1250 and json.loads(answers["tien"]) == 1_500_000_000
    assert json.loads(answers["van_ban"])[0]["number"] == "692/KH-SXD"
    assert answers["ghi_chu"] == "null" and json.loads(answers["ty_le"]) == "99.5"
    history = db.execute("SELECT question_id, value_json, raw FROM answer_history").fetchall()
    assert len(history) == len(set(history)) == 8  # every answer once, none twice
    assert db.execute("SELECT status FROM campaign_units WHERE unit_code = 'SXD'").fetchone() == (
        "submitted",)
    prompts = [m.text for m in fake.sent_messages(CONTACT) if "Câu 4/8" in m.text]
    assert len(prompts) == 1  # the question after the kill was asked once
    errors_logged = [line for line in errors.splitlines() if "failed" in line]
    assert not errors_logged, errors_logged
    print(transcript(fake))  # shown with `pytest -s`: the conversation as the fake saw it


def transcript(fake: FakeBotApi) -> str:
    """Return who said what, in order, one line each, shortened."""
    lines = []
    for call in fake.calls():
        if call.method == "getUpdates":
            continue
        params = call.params
        text = str(params.get("text") or params.get("data") or "")
        chat = params.get("chat_id", "")
        lines.append(f"bot -> {chat} {call.method}: {text[:90]!r}")
    return "\n".join(lines)


def test_reminders_go_out_once_per_late_contact_across_a_restart(tmp_path: Path,
                                                                fake: FakeBotApi) -> None:
    import asyncio
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from bot.campaigns.campaign import load_campaign_text
    from bot.channels.base import TELEGRAM, Incoming
    from bot.engine import Engine
    from bot.store import Store

    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    slot = (datetime.now(tz) - timedelta(minutes=2)).replace(second=0, microsecond=0)
    deadline = slot + timedelta(days=1)
    text = SMALL_CAMPAIGN.replace(
        "deadline: 2023-10-31 17:00",
        f"deadline: {deadline:%Y-%m-%d} 23:59\nreminders: {{before_days: [1], "
        f'at: "{slot:%H:%M}", working_days_only: false, quiet_hours: null}}')
    bot = Bot(tmp_path, fake)

    async def prepare() -> None:
        store = await Store.open(tmp_path / "bot.sqlite3")
        spec = load_campaign_text("dot.yaml", text, tz)
        campaign_id, _ = await store.create_campaign(spec, datetime.now(UTC) - timedelta(hours=1))
        engine = Engine(store)
        for chat, unit in (("7", "SXD"), ("8", "SYT")):
            await store.bind("telegram", chat, chat, unit, datetime.now(UTC))
            await engine.handle(Incoming("telegram", chat, chat), TELEGRAM, campaign_id)
        for answer in ("12", "không", "bỏ qua", "100%", "10tr", "1", "1", "/submit"):
            await engine.handle(Incoming("telegram", "8", "8", text=answer), TELEGRAM, campaign_id)
        await store.close()

    asyncio.run(prepare())
    bot.start()
    try:
        fake.wait_for_sent(CONTACT, lambda m: "Hạn nộp" in m.text, timeout=30)
        fake.wait_for_sent(ADMIN, lambda m: "1/2" in m.text, timeout=30)
        bot.kill()
        bot.start()
        fake.send_text(STRANGER, "/whoami")
        fake.wait_for_sent(STRANGER, lambda m: "Mã người dùng" in m.text, timeout=30)
    finally:
        code, errors = bot.stop()
    assert code == 0, errors
    reminders = [m for m in fake.sent_messages(CONTACT) if "Hạn nộp" in m.text]
    assert len(reminders) == 1
    assert not [m for m in fake.sent_messages(8) if "Hạn nộp" in m.text]  # SYT submitted
    digests = [m for m in fake.sent_messages(ADMIN) if "1/2" in m.text]
    assert len(digests) == 1


def test_webhook_mode_answers_after_processing(tmp_path: Path, fake: FakeBotApi) -> None:
    import socket
    import time
    import urllib.error
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    bot = Bot(tmp_path, fake)
    bot.env.update(REPORTBOT_WEBHOOK_URL="https://bot.example.invalid/telegram",
                   REPORTBOT_WEBHOOK_LISTEN=f"127.0.0.1:{port}", REPORTBOT_WEBHOOK_SECRET="s3cret")
    update = {"update_id": 1, "message": {
        "message_id": 1, "date": int(time.time()), "text": "/whoami",
        "entities": [{"type": "bot_command", "offset": 0, "length": 7}],
        "chat": {"id": STRANGER, "type": "private"},
        "from": {"id": STRANGER, "is_bot": False, "first_name": "A"}}}

    def post(secret: str) -> int:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/telegram", data=json.dumps(update).encode(),
            headers={"Content-Type": "application/json",
                     "X-Telegram-Bot-Api-Secret-Token": secret})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return error.code

    bot.start()
    try:
        fake.wait_for(method="setWebhook", timeout=30)
        deadline = time.monotonic() + 20
        while True:
            try:
                status = post("wrong")
                break
            except urllib.error.URLError:
                assert time.monotonic() < deadline, "the webhook server did not start"
                time.sleep(0.1)
        assert status == 403
        assert post("s3cret") == 200
        reply = fake.wait_for_sent(STRANGER, timeout=10)  # sent before the 200 above
        assert "Mã người dùng của anh/chị: 8" in reply.text
        assert fake.calls("setWebhook")[0].params["secret_token"] == "s3cret"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as health:
            assert json.loads(health.read()) == {"ok": True}
    finally:
        code, errors = bot.stop()
    assert code == 0, errors
    assert "s3cret" not in errors

    # Back to long polling: the webhook left at Telegram is deleted, updates come again.
    del bot.env["REPORTBOT_WEBHOOK_SECRET"], bot.env["REPORTBOT_WEBHOOK_URL"]
    since = fake.calls()[-1].seq
    bot.start()
    try:
        fake.send_text(STRANGER, "/whoami")
        fake.wait_for_sent(STRANGER, lambda m: "Mã người dùng" in m.text, timeout=30, since=since)
        assert fake.calls("deleteWebhook")
    finally:
        code, errors = bot.stop()
    assert code == 0, errors


def test_502_at_start_and_409_while_polling_do_not_end_the_bot(tmp_path: Path,
                                                              fake: FakeBotApi) -> None:
    """Issue #10: one 502 on getMe or one 409 Conflict ended `reportbot run` with exit 70."""
    bot = Bot(tmp_path, fake)
    fake.fail_next("getMe", 502, "Bad Gateway", times=2)
    fake.fail_next("getUpdates", 409, "Conflict: terminated by other getUpdates request; make"
                   " sure that only one bot instance is running", times=2)
    bot.start()
    try:
        fake.send_text(STRANGER, "/whoami")
        fake.wait_for_sent(STRANGER, lambda m: "Mã người dùng" in m.text, timeout=30)
    finally:
        code, errors = bot.stop()
    assert code == 0, errors
    assert "cannot be reached at start-up" in errors and "another instance" in errors
    assert TOKEN not in errors


def test_a_refused_token_ends_the_bot_with_one_line(tmp_path: Path, fake: FakeBotApi) -> None:
    bot = Bot(tmp_path, fake)
    bot.env["TELEGRAM_BOT_TOKEN"] = "654321:WRONG-token-abcdefghijklmnopqrstu"
    bot.start()
    assert bot.process is not None
    _out, errors = bot.process.communicate(timeout=30)
    assert bot.process.returncode == 1
    assert errors.strip() == "Telegram refused TELEGRAM_BOT_TOKEN (Unauthorized)"
