"""Issue #14: the coordinators' web page in a real browser, against `reportbot run`.

Headless Chromium from Debian's packages (/usr/bin/chromium, installed by
.ci/install-browser.sh), driven by Playwright's Python client (`playwright install` is never
run). The bot runs as a subprocess with the fake Telegram and the fake Zalo Bot (tests/e2e_rig.py);
the sign-in links come from `/web` sent in those fake chats. Skipped only when Chromium is
missing outside CI (CI=true fails instead). Screenshots of the main pages go to
docs/screenshots/ when REPORTBOT_SCREENSHOTS=1.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from tests.e2e_rig import (
    TG_ADMIN,
    TG_TOKEN,
    WAIT,
    ZALO_ADMIN,
    ZALO_TOKEN,
    Bot,
    Conversation,
    docx_text,
)
from tests.fakebotapi import FakeBotApi
from tests.fakezalobot import FakeZaloBot
from tests.test_multichannel_e2e import campaign_text

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LOGIN = re.compile(r"http://127\.0\.0\.1:\d+/login/[A-Za-z0-9_-]+")
TG_CONTACT = 7
ZALO_CONTACT = "6ede9afa66b88fe6d6a9"
SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 40  # a JPEG's signature


def rig_campaign() -> str:
    """The small round, with a picture asked for after the first question (an evidence file)."""
    first = '{id: so_nguoi, type: integer, ask: "Tổng số người của đơn vị?", unit: người, min: 1}'
    picture = '{id: anh, type: file, ask: "Ảnh minh chứng của đơn vị?", required: false}'
    text = campaign_text()
    assert first in text
    return text.replace(first, f"{first}\n        - {picture}")

if not CHROMIUM.exists():
    if os.environ.get("CI") == "true":
        raise RuntimeError("CI: /usr/bin/chromium is missing (.ci/install-browser.sh installs it)")
    pytest.skip("no /usr/bin/chromium (install it with .ci/install-browser.sh)",
                allow_module_level=True)

from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402


class Rig:
    """The fakes, the bot process, the round and its invite tokens, one browser."""

    def __init__(self, folder: Path, telegram: FakeBotApi, zalo: FakeZaloBot,
                 browser: Browser) -> None:
        self.telegram, self.zalo, self.browser = telegram, zalo, browser
        self.talk = Conversation(telegram, zalo)
        self.bot = Bot(folder, telegram, zalo)
        (folder / "dot.yaml").write_text(rig_campaign(), encoding="utf-8")
        created = json.loads(self.bot.cli("campaign", "create", "dot.yaml", "--json"))
        self.round = created["campaign"]
        self.tokens = {u["code"]: u["token"] for u in created["units"]}
        self.db = folder / "bot.sqlite3"

    def tg_link(self) -> str:
        """A Telegram coordinator sends /web; return the link it gets."""
        return self.web_link(self.telegram, TG_ADMIN)

    def zalo_link(self) -> str:
        """A Zalo coordinator sends /web; return the link it gets."""
        return self.web_link(self.zalo, ZALO_ADMIN)

    @staticmethod
    def web_link(fake: Any, admin: Any) -> str:
        """A coordinator sends /web in a fake platform's chat; return the link it gets."""
        mark = fake.mark()
        fake.send_text(admin, "/web")
        sent = fake.wait_for_sent(admin, lambda m: "/login/" in m.text, WAIT, since=mark)
        return str(LOGIN.findall(sent.text)[0])

    def sign_in(self, link: str) -> Page:
        """Open a link in a fresh browser context and press "Đăng nhập"."""
        page = self.browser.new_context(viewport={"width": 1000, "height": 800}).new_page()
        assert page.goto(link).status == 200
        shoot(page, "dang-nhap")
        page.get_by_role("button", name="Đăng nhập").click()
        page.wait_for_url(f"{self.bot.public}/")
        return page


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    folder = tmp_path_factory.mktemp("web")
    with FakeBotApi(token=TG_TOKEN) as telegram, FakeZaloBot(ZALO_TOKEN) as zalo, \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        made = Rig(folder, telegram, zalo, browser)
        made.bot.start()
        try:
            yield made
        finally:
            status, err = made.bot.stop()
            browser.close()
        assert status == 0, err


def row(page: Page, code: str) -> Any:
    return page.locator(f"tr[data-code='{code}']")


def shoot(page: Page, name: str) -> None:
    """Save a screenshot under docs/screenshots/ when asked (REPORTBOT_SCREENSHOTS=1)."""
    if os.environ.get("REPORTBOT_SCREENSHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def reload_until(page: Page, check: Any, seconds: float = WAIT) -> None:
    """Reload until `check(page)` holds (a deadline, never a pause)."""
    deadline = time.monotonic() + seconds
    while not check(page):
        assert time.monotonic() < deadline, page.inner_text("main")[:2000]
        time.sleep(0.3)
        page.reload()


def test_telegram_sign_in_table_return_and_compile(rig: Rig) -> None:
    page = rig.sign_in(rig.tg_link())
    assert "Đợt thử nghiệm" in page.inner_text("main")
    shoot(page, "trang-chu")
    page.get_by_role("link", name=re.compile("Đợt thử nghiệm")).click()
    assert row(page, "SXD").locator("td.status").inner_text() == "chưa bắt đầu"
    assert row(page, "SXD").locator("td.answered").inner_text().startswith("0/")

    # A contact binds and answers on Telegram: the table follows.
    rig.talk.tg(TG_CONTACT, f"/start {rig.tokens['SXD']}", "Câu 1/8")
    rig.talk.tg(TG_CONTACT, "1.250 người", "Câu 2/8")
    page.reload()
    assert row(page, "SXD").locator("td.status").inner_text() == "đang trả lời"
    assert row(page, "SXD").locator("td.answered").inner_text().startswith("1/")
    assert "User7 · Telegram" in row(page, "SXD").inner_text()  # its name on Telegram
    page.goto(f"{rig.bot.public}/round/{rig.round}?status=in_progress")
    assert page.locator("tbody tr").count() == 1
    shoot(page, "dot-bao-cao")

    # The contact sends a picture for the evidence question: the bot keeps the file.
    mark = rig.telegram.mark()
    rig.telegram.send_photo(TG_CONTACT, PHOTO)
    rig.telegram.wait_for_sent(TG_CONTACT, lambda m: "Đã lưu mục 1" in m.text, WAIT, since=mark)
    rig.talk.tg(TG_CONTACT, "xong", "Câu 3/8")  # a file question takes several: "xong" ends it

    # The unit's sheet: the answers as the report shows them, the history, the file.
    page.goto(f"{rig.bot.public}/round/{rig.round}/unit/SXD")
    assert "1.250 người" in page.locator("tr[data-question='so_nguoi']").inner_text()
    assert "1.250 người" in page.locator("table.history").inner_text()
    files = page.locator("ul.files a.file")
    assert files.count() == 1
    assert len(PHOTO) == 10_251  # 10,01 KiB: "11 KB", rounded up as the report's list says it
    assert "· 11 KB · Ảnh minh chứng" in page.locator("ul.files").inner_text()
    shoot(page, "don-vi")
    with page.expect_download() as download:
        files.first.click()
    assert Path(download.value.path()).read_bytes() == PHOTO
    assert download.value.suggested_filename.endswith(".jpg")

    # Return it with a reason and one question: the contact is told.
    mark = rig.telegram.mark()
    page.fill("textarea[name=reason]", "Số người chưa khớp danh sách")
    page.check("input[name=question][value=so_nguoi]")
    page.get_by_role("button", name="Trả lại báo cáo").click()
    assert "Đã trả lại báo cáo của Sở Xây dựng" in page.inner_text("#feed")
    notice = rig.telegram.wait_for_sent(
        TG_CONTACT, lambda m: "Số người chưa khớp danh sách" in m.text, WAIT, since=mark)
    assert "Tổng số người" in notice.text
    assert row(page, "SXD").locator("td.status").inner_text() == "bị trả lại"

    # Compile: the summary and the files land on the page; the .docx opens.
    page.get_by_role("button", name="Tổng hợp báo cáo").click()
    reload_until(page, lambda p: p.locator("#feed a.file", has_text=".docx").count() > 0)
    assert page.locator("#feed a.file", has_text=".xlsx").count() == 1
    assert "Sở Xây dựng" in page.inner_text("#feed")  # the summary, with who is missing
    shoot(page, "tong-hop")
    with page.expect_download() as download:
        page.locator("#feed a.file", has_text=".docx").first.click()
    text = docx_text(Path(download.value.path()).read_bytes())
    assert "Sở Xây dựng" in text and "Sở Y tế" in text
    unit_docx = page.request.get(f"{rig.bot.public}/round/{rig.round}/unit/SXD/report.docx")
    assert unit_docx.status == 200 and "Sở Xây dựng" in docx_text(unit_docx.body())
    assert re.search(r"\.jpg \(11 KB\)\.", docx_text(unit_docx.body()))  # its picture, listed

    # Đăng xuất ends this browser's session.
    page.get_by_role("button", name="Đăng xuất").click()
    assert page.goto(f"{rig.bot.public}/").status == 401


def test_zalo_sign_in_and_remind(rig: Rig) -> None:
    rig.talk.zl(ZALO_ADMIN, "/whoami", f"zalo:{ZALO_ADMIN}")  # Zalo: the person writes first
    page = rig.sign_in(rig.zalo_link())
    assert "Zalo Bot" in page.inner_text("header")
    page.goto(f"{rig.bot.public}/round/{rig.round}")
    page.set_viewport_size({"width": 390, "height": 800})
    shoot(page, "dot-bao-cao-dien-thoai")
    assert "chưa có đầu mối" in row(page, "SYT").inner_text()
    page.get_by_role("button", name="Nhắc ngay các đơn vị chưa gửi").click()
    assert ("Đã nhắc 1 đầu mối của 1 đơn vị chưa gửi báo cáo: 1 đơn vị qua Telegram."
            " 1 đơn vị không liên lạc được: SYT.") in page.inner_text("#feed")

    # A Zalo contact binds SYT: the page shows it, and the next reminder goes there too.
    rig.talk.zl(ZALO_CONTACT, f"/start {rig.tokens['SYT']}", "Câu 1/8")
    page.reload()
    assert "Zalo 6ede · Zalo Bot" in row(page, "SYT").inner_text()  # its Zalo display name
    mark = rig.zalo.mark()
    page.get_by_role("button", name="Nhắc ngay các đơn vị chưa gửi").click()
    feed = page.locator("#feed .entry").last.inner_text()
    assert "Đã nhắc 2 đầu mối của 2 đơn vị" in feed
    assert "1 đơn vị qua Telegram" in feed and "1 đơn vị qua Zalo Bot" in feed
    rig.zalo.wait_for_sent(ZALO_CONTACT, lambda m: "Đợt thử nghiệm" in m.text, WAIT, since=mark)


def test_refusals(rig: Rig) -> None:
    public = rig.bot.public
    context = rig.browser.new_context()
    page = context.new_page()
    assert page.goto(f"{public}/").status == 401  # no cookie
    assert page.goto(f"{public}/round/{rig.round}").status == 401
    assert page.goto(f"{public}/login/not-a-real-token").status == 404

    # A used link: the second browser to open it is refused.
    link = rig.tg_link()
    rig.sign_in(link)
    assert page.goto(link).status == 410
    assert "đã được dùng" in page.inner_text("main")

    # An expired link (its 15 minutes moved into the past in the database).
    link = rig.tg_link()
    with closing(sqlite3.connect(rig.db)) as conn, conn:
        conn.execute("UPDATE web_logins SET expires_at = '2000-01-01T00:00:00.000000+00:00'"
                     " WHERE used_at IS NULL")
    assert page.goto(link).status == 410
    assert "hết hạn" in page.inner_text("main")

    # A forged CSRF token: refused, nothing done.
    signed = rig.sign_in(rig.tg_link())
    signed.goto(f"{public}/round/{rig.round}")
    signed.locator("form[action$='/do/close'] input[name=csrf]").evaluate(
        "input => input.value = 'forged'")
    response = signed.request.post(f"{public}/round/{rig.round}/do/close",
                                   form={"csrf": "forged", "once": "x" * 20})
    assert response.status == 403
    signed.reload()
    assert "Đã kết thúc" not in signed.inner_text("main")
    # ... and a POST from another site, with the right token, is refused too.
    token = signed.locator("form[action$='/do/close'] input[name=csrf]").input_value()
    response = signed.request.post(f"{public}/round/{rig.round}/do/close",
                                   form={"csrf": token, "once": "y" * 20},
                                   headers={"Origin": "https://evil.example"})
    assert response.status == 403

    # A contact's own chat sending /web: the usual answer to an unknown command, no link.
    mark = rig.telegram.mark()
    rig.talk.tg(TG_CONTACT, "/web", "Không có lệnh /web")
    assert not any("/login/" in m.text for m in rig.telegram.sent_messages(TG_CONTACT)
                   if m.seq > mark)

    # /web off ends every session of that coordinator.
    rig.talk.tg(TG_ADMIN, "/web off", "Đã đăng xuất")
    assert signed.goto(f"{public}/").status == 401
