"""The coordinators' web page in process: sign-in links, sessions, CSRF, actions exactly once.

The hub, its outbox sender and the page run in this test's loop with a clock the test moves;
httpx speaks to the Starlette app directly. Telegram is a transport that keeps what it is given.
The browser tests (tests/test_web_browser.py) drive the same page through `reportbot run`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bot import config
from bot.campaigns.campaign import load_campaign_text
from bot.channels.base import TELEGRAM, Incoming, Outgoing
from bot.hub import Hub
from bot.store import Store
from bot.web import WebServer, add_pages
from bot.web.links import token_hash
from bot.web.site import _origin
from tests.conftest import SMALL_CAMPAIGN, TZ
from tests.e2e_rig import ROOT, command

PUBLIC = "https://bao-cao.example.gov.vn"
ADMIN = "900"
OTHER = "901"  # a second coordinator
BROWSER = {"Sec-Fetch-Site": "same-origin"}  # what a browser says of a form on our own page
INVITES = "Đã tạo lại mã mời cho đợt 1"


class Now:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class Kept:
    """Telegram as a transport that keeps every message."""

    name = "telegram"
    caps = TELEGRAM

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    def parts(self, message: Outgoing) -> list[Outgoing]:
        return [message]

    async def send(self, part: Outgoing) -> None:
        self.sent.append(part)


class Page:
    """The hub with its sender running, the page, a client, and Telegram's messages."""

    def __init__(self, store: Store, folder: Path, public: str = PUBLIC) -> None:
        self.clock = Now()
        settings = config.load({"REPORTBOT_ADMINS": f"telegram:{ADMIN},telegram:{OTHER}",
                                "REPORTBOT_PUBLIC_URL": public,
                                "REPORTBOT_DATA_DIR": str(folder),
                                "REPORTBOT_DB": str(folder / "bot.sqlite3")}, env_file=None)
        self.store = store
        self.db = folder / "test.sqlite3"
        self.hub = Hub(store, settings, self.clock)
        self.telegram = Kept()
        self.hub.transports["telegram"] = self.telegram
        server = WebServer("127.0.0.1", 0)
        self.site = add_pages(server, self.hub, public, self.clock)
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=server.app),
                                        base_url=PUBLIC, headers=BROWSER)
        self.updates = 0

    async def chat(self, text: str, user: str = ADMIN, name: str | None = None) -> list[str]:
        """Someone (named `name` on Telegram) types; return the texts they got."""
        self.updates += 1
        before = len(self.telegram.sent)
        await self.hub.receive(Incoming("telegram", user, user_id=user, text=text,
                                        message_id=str(self.updates), name=name))
        await self.hub.sender.drain()
        return [m.text for m in self.telegram.sent[before:] if m.chat_id == user]

    async def link_token(self, user: str = ADMIN) -> str:
        """A coordinator sends /web; return the token of the link they get."""
        texts = await self.chat("/web", user)
        return re.findall(r"/login/([A-Za-z0-9_-]+)", texts[-1])[0]

    async def sign_in(self, user: str = ADMIN) -> httpx.Response:
        token = await self.link_token(user)
        return await self.client.post(f"/login/{token}")

    def csrf_and_once(self, html: str) -> tuple[str, str]:
        csrf = re.findall(r'name="csrf" value="([^"]+)"', html)[0]
        once = re.findall(r'name="once" value="([^"]+)"', html)[0]
        return csrf, once


@asynccontextmanager
async def sending(made: Page) -> AsyncIterator[Page]:
    """Run the hub's outbox sender (an action waits for its replies on the page) meanwhile."""
    stop = asyncio.Event()
    sender = asyncio.create_task(made.hub.sender.run(stop))
    try:
        yield made
    finally:
        stop.set()
        await sender
        await made.client.aclose()


@pytest.fixture
async def page(store: Store, tmp_path: Path) -> AsyncIterator[Page]:
    made = Page(store, tmp_path)
    await store.create_campaign(load_campaign_text("small.yaml", SMALL_CAMPAIGN, TZ),
                                made.clock())
    async with sending(made):
        yield made


async def small_round(store: Store, folder: Path) -> tuple[Page, int, dict[str, str]]:
    """The page (its sender not running yet), the small round's id and its invite tokens."""
    made = Page(store, folder)
    campaign_id, invites = await store.create_campaign(
        load_campaign_text("small.yaml", SMALL_CAMPAIGN, TZ), made.clock())
    return made, campaign_id, {i.code: i.token for i in invites}


def unit_row(table: str, code: str) -> str:
    """The HTML of a unit's row in the round page's table."""
    return table.split(f'data-code="{code}"')[1].split("</tr>")[0]


def every_text_in(db: Path) -> str:
    """Every value of every table of the database, as one string."""
    with closing(sqlite3.connect(db)) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return "\n".join(str(value) for table in tables
                         for row in conn.execute(f"SELECT * FROM {table}") for value in row)


async def test_the_link_is_in_no_table_and_spent_once(page: Page, store: Store) -> None:
    token = await page.link_token()
    assert len(token) >= 43  # 256 bits
    text = every_text_in(page.db)
    assert token not in text  # not in the outbox row that carried it, not in web_logins
    assert token_hash(token) in text
    for _ in range(2):  # a link preview (GET) spends nothing
        shown = await page.client.get(f"/login/{token}")
        assert shown.status_code == 200 and "Đăng nhập" in shown.text
    signed = await page.client.post(f"/login/{token}")
    assert signed.status_code == 303 and signed.headers["location"] == "/"
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" in cookie
    assert "Max-Age=36000" in cookie
    assert (await page.client.get("/")).status_code == 200
    again = httpx.AsyncClient(transport=page.client._transport, base_url=PUBLIC,
                              headers=BROWSER)
    assert (await again.post(f"/login/{token}")).status_code == 410
    assert (await again.get(f"/login/{token}")).status_code == 410
    assert (await again.get("/")).status_code == 401


async def test_a_link_lasts_15_minutes_and_a_session_10_hours(page: Page) -> None:
    token = await page.link_token()
    page.clock.now += timedelta(minutes=15, seconds=1)
    assert (await page.client.post(f"/login/{token}")).status_code == 410
    assert (await page.sign_in()).status_code == 303
    page.clock.now += timedelta(hours=9, minutes=59)
    assert (await page.client.get("/")).status_code == 200
    page.clock.now += timedelta(minutes=2)
    refused = await page.client.get("/round/1")
    assert refused.status_code == 401 and "/web" in refused.text


async def test_a_login_from_another_site_is_refused_and_spends_nothing(page: Page) -> None:
    token = await page.link_token()
    other = await page.client.post(f"/login/{token}", headers={"Origin": "https://evil.example"})
    assert other.status_code == 403
    assert (await page.client.post(f"/login/{token}",
                                   headers={"Origin": PUBLIC})).status_code == 303


async def test_a_login_post_that_says_nothing_of_its_origin_is_refused(page: Page) -> None:
    token = await page.link_token()
    bare = httpx.AsyncClient(transport=page.client._transport, base_url=PUBLIC)
    assert (await bare.post(f"/login/{token}")).status_code == 403  # no Origin, no Sec-Fetch-Site
    assert (await page.client.post(f"/login/{token}")).status_code == 303  # not spent by it


def test_an_origin_is_compared_as_browsers_send_it() -> None:
    assert _origin("https://bao-cao.example.gov.vn:443/rb") == "https://bao-cao.example.gov.vn"
    assert _origin("HTTP://Host.example:8080/x") == "http://host.example:8080"


async def test_web_off_ends_every_session_of_that_coordinator(page: Page) -> None:
    await page.sign_in()
    unused = await page.link_token()  # sent a minute ago, still in the chat
    assert (await page.client.get("/")).status_code == 200
    assert "Đã đăng xuất trang web" in (await page.chat("/web off"))[-1]
    assert (await page.client.get("/")).status_code == 401
    assert (await page.client.post(f"/login/{unused}")).status_code == 410


async def test_an_action_sent_twice_acts_once(page: Page, store: Store) -> None:
    await page.sign_in()
    html = (await page.client.get("/round/1")).text
    csrf, once = page.csrf_and_once(html)
    for _ in range(2):
        done = await page.client.post("/round/1/do/invites", data={"csrf": csrf, "once": once})
        assert done.status_code == 303
    feed = page.site.feed.recent(f"telegram:{ADMIN}")
    assert len(feed) == 1 and INVITES in feed[0].text
    assert (await page.client.get("/round/1")).text.count(INVITES) == 1
    forged = await page.client.post("/round/1/do/close", data={"csrf": "x" * 64, "once": once})
    assert forged.status_code == 403
    assert (await store.campaign(1)).status == "open"  # type: ignore[union-attr]
    closed = await page.client.post("/round/1/do/close", data={"csrf": csrf, "once": "c" * 20})
    assert closed.status_code == 303
    assert (await store.campaign(1)).status == "closed"  # type: ignore[union-attr]
    home = (await page.client.get("/")).text
    assert home.index("Đã kết thúc gần đây") < home.index('href="/round/1"')
    closed_page = (await page.client.get("/round/1")).text
    assert "Đã kết thúc." in closed_page and "/do/close" not in closed_page


async def test_a_broken_campaign_file_creates_nothing_and_says_why(page: Page,
                                                                   store: Store) -> None:
    await page.sign_in()
    csrf, once = page.csrf_and_once((await page.client.get("/")).text)
    broken = SMALL_CAMPAIGN.replace("deadline: 2023-10-31 17:00", "deadline: ngày mai")
    sent = await page.client.post("/new", data={"csrf": csrf, "once": once},
                                  files={"file": ("dot-moi.yaml", broken.encode())})
    assert sent.status_code == 303 and sent.headers["location"].startswith("/?")
    assert len(await store.campaigns()) == 1
    home = (await page.client.get("/")).text
    assert "chưa hợp lệ, chưa tạo đợt báo cáo nào" in home and "dòng" in home
    csrf, once = page.csrf_and_once(home)
    good = SMALL_CAMPAIGN.replace("deadline: 2023-10-31 17:00", "deadline: 2026-03-20 17:00")
    sent = await page.client.post("/new", data={"csrf": csrf, "once": once},
                                  files={"file": ("dot-moi.yaml", good.encode())})
    assert sent.headers["location"].startswith("/round/2")
    round_page = (await page.client.get("/round/2")).text
    assert "Đã tạo đợt báo cáo số 2" in round_page
    assert "còn 18 ngày" in round_page  # 2 March 8:00 to 20 March 17:00, Vietnam time
    chart = await page.client.get("/round/2/chart.png")
    assert chart.headers["content-type"] == "image/png" and chart.content[:4] == b"\x89PNG"


def test_demo_web_serves_the_demo_round_with_a_sign_in_link(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("REPORTBOT_", "TELEGRAM_", "ZALO_"))}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    process = subprocess.Popen([*command(), "demo", "--out", str(tmp_path / "demo"), "--web",
                                "--port", "0"], cwd=tmp_path, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert process.stdout is not None
        link = ""
        deadline = time.monotonic() + 120
        while not link and time.monotonic() < deadline:
            line = process.stdout.readline()
            assert line, process.stderr.read() if process.stderr else ""
            link = next(iter(re.findall(r"http://127\.0\.0\.1:\d+/login/\S+", line)), "")
        with httpx.Client(base_url=link.split("/login/")[0], headers=BROWSER) as client:
            assert client.get("/").status_code == 401
            assert "Đăng nhập" in client.get(link).text
            assert client.post(link).status_code == 303
            home = client.get("/")
            assert home.status_code == 200 and "Quảng Ngãi" in home.text
            table = client.get("/round/1?status=submitted").text
            assert table.count("<tr data-code=") == 3  # the demo's three submitted units
            sheet = client.get("/round/1/unit/SXD").text  # its contact sent sample files
            assert "Tệp minh chứng" in sheet and "/round/1/unit/SXD/file/0" in sheet
            # the answers under the report's headings, not the questions the contact was asked
            assert "<th>2. Khó khăn, hạn chế</th>" in sheet and "<th>2. Đơn vị gặp" not in sheet
            kept = client.get("/round/1/unit/SXD/file/0")
            assert kept.status_code == 200 and len(kept.content) > 100
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    assert process.returncode == 0


async def test_a_units_evidence_files_are_listed_and_downloaded(store: Store,
                                                               tmp_path: Path) -> None:
    made = Page(store, tmp_path)
    asks = SMALL_CAMPAIGN.replace(
        "        - {id: ghi_chu,",
        "        - {id: minh_chung, type: file, ask: \"Tệp minh chứng?\", required: false}\n"
        "        - {id: ghi_chu,")
    campaign_id, _ = await store.create_campaign(load_campaign_text("small.yaml", asks, TZ),
                                                 made.clock())
    content = b"%PDF-1.4 minh chung"
    digest = hashlib.sha256(content).hexdigest()
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / f"{digest}.pdf").write_bytes(content)
    item = {"name": "Kế hoạch 692.pdf", "mime": "application/pdf", "size": len(content),
            "file_id": f"sha256:{digest}"}
    await store.transaction(lambda conn: conn.execute(
        "INSERT INTO answers (campaign_id, unit_code, question_id, value_json, updated_at)"
        " VALUES (?, 'SXD', 'minh_chung', ?, '2026-03-02T01:00:00+00:00')",
        (campaign_id, json.dumps([item]))))
    async with sending(made):
        await made.sign_in()
        sheet = (await made.client.get(f"/round/{campaign_id}/unit/SXD")).text
        assert "Kế hoạch 692.pdf" in sheet and "Tệp minh chứng" in sheet
        got = await made.client.get(f"/round/{campaign_id}/unit/SXD/file/0")
        assert got.status_code == 200 and got.content == content
        assert "K%E1%BA%BF" in got.headers["content-disposition"]  # the real name (RFC 5987)
        assert (await made.client.get(f"/round/{campaign_id}/unit/SXD/file/1")).status_code == 404


async def test_web_without_the_http_server_says_so(store: Store, tmp_path: Path) -> None:
    settings = config.load({"REPORTBOT_ADMINS": f"telegram:{ADMIN}",
                            "REPORTBOT_DATA_DIR": str(tmp_path)}, env_file=None)
    hub = Hub(store, settings, Now())
    kept = Kept()
    hub.transports["telegram"] = kept
    await hub.receive(Incoming("telegram", ADMIN, user_id=ADMIN, text="/web", message_id="1"))
    await hub.sender.drain()
    assert [m.text for m in kept.sent] == [
        "Trang web chưa được bật trên máy chủ này (người vận hành cần đặt REPORTBOT_PUBLIC_URL)."]


async def test_what_a_contact_typed_is_shown_as_text(store: Store, tmp_path: Path) -> None:
    made, campaign_id, tokens = await small_round(store, tmp_path)
    token = tokens["SXD"]
    hostile = "<script>alert(1)</script> & <b>đậm</b>"
    for text in (f"/start {token}", "12", "không", hostile):
        await made.chat(text, user="7")
    async with sending(made):
        await made.sign_in()
        sheet = (await made.client.get(f"/round/{campaign_id}/unit/SXD")).text
        assert "<script>" not in sheet and "<b>đậm</b>" not in sheet
        escaped = "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;đậm&lt;/b&gt;"
        assert sheet.count(escaped) == 2  # the answer, and its line in the history
        table = (await made.client.get(f"/round/{campaign_id}?sort=answered&desc=1")).text
        assert table.index('data-code="SXD"') < table.index('data-code="SYT"')


async def test_a_form_too_large_is_refused_unread(page: Page,
                                                               monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    monkeypatch.setattr("bot.web.site.MAX_UPLOAD", 1000)
    await page.sign_in()
    csrf, once = page.csrf_and_once((await page.client.get("/")).text)
    sent = await page.client.post("/new", data={"csrf": csrf, "once": once},
                                  files={"file": ("to.yaml", b"x" * 5000)})
    assert sent.status_code == 413 and "Tệp quá lớn" in sent.text
    assert len(await page.store.campaigns()) == 1
    garbled = await page.client.post("/new", content=b"--x\r\nnot a form",
                                     headers={"content-type": "multipart/form-data; boundary=x"})
    assert garbled.status_code == 400 and "Yêu cầu không hợp lệ" in garbled.text


async def test_the_table_says_why_a_contact_cannot_be_reached(store: Store,
                                                              tmp_path: Path) -> None:
    made, campaign_id, tokens = await small_round(store, tmp_path)
    await made.chat(f"/start {tokens['SXD']}", user="7")
    await made.chat(f"/start {tokens['SYT']}", user="8")
    await store.outbox.unreachable("telegram", "7", made.clock(), lambda _contact: [])
    await store.outbox.outside_window("telegram", "8", made.clock())
    async with sending(made):
        await made.sign_in()
        table = (await made.client.get(f"/round/{campaign_id}")).text
        assert "không liên lạc được: đã chặn bot" in unit_row(table, "SXD")
        assert "không nhắn được: quá 7 ngày không nhắn cho OA" in unit_row(table, "SYT")


async def test_a_contact_is_shown_by_the_name_it_has_on_its_platform(store: Store,
                                                                     tmp_path: Path) -> None:
    made, campaign_id, tokens = await small_round(store, tmp_path)
    await made.chat(f"/start {tokens['SXD']}", user="7", name="Nguyễn Thị <b>Lan</b>")
    await made.chat("1250", user="7")
    await made.chat(f"/start {tokens['SYT']}", user="8")  # a platform that gives no name
    await made.chat(f"/start {tokens['SXD']}", user="7")  # bound again, no name: kept
    async with sending(made):
        await made.sign_in()
        table = (await made.client.get(f"/round/{campaign_id}")).text
        assert "Nguyễn Thị &lt;b&gt;Lan&lt;/b&gt;" in unit_row(table, "SXD")  # escaped
        assert "contact\">8 · Telegram" in unit_row(table, "SYT")  # its user id, then
        sheet = (await made.client.get(f"/round/{campaign_id}/unit/SXD")).text
        history = sheet.split('class="history"')[1]
        assert "Nguyễn Thị &lt;b&gt;Lan&lt;/b&gt;" in history  # who answered
    history_text = (await made.chat("/history SXD"))[-1]
    assert "· Nguyễn Thị <b>Lan</b> · Tổng số người" in history_text  # this harness: plain text


async def test_an_export_lands_on_the_page_of_who_asked_only(page: Page) -> None:
    await page.sign_in()
    csrf, once = page.csrf_and_once((await page.client.get("/round/1")).text)
    done = await page.client.post("/round/1/do/export", data={"csrf": csrf, "once": once})
    assert done.headers["location"].startswith("/round/1?done=export")
    deadline = time.monotonic() + 30
    while not re.findall(r'href="/feed/(\d+)">⬇ du-lieu.csv', html := (
            await page.client.get("/round/1")).text):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    entry = re.findall(r'href="/feed/(\d+)">⬇ du-lieu.csv', html)[0]
    got = await page.client.get(f"/feed/{entry}")
    assert got.status_code == 200 and "du-lieu.csv" in got.headers["content-disposition"]
    assert got.content.decode("utf-8-sig").splitlines()[0].startswith("unit_code")
    other = httpx.AsyncClient(transport=page.client._transport, base_url=PUBLIC,
                              headers=BROWSER)
    token = await page.link_token(OTHER)
    assert (await other.post(f"/login/{token}")).status_code == 303
    assert (await other.get(f"/feed/{entry}")).status_code == 404  # not theirs
    assert "du-lieu.csv" not in (await other.get("/round/1")).text
    await other.aclose()


async def test_the_feed_is_shown_again_after_a_restart(page: Page, store: Store,
                                                      tmp_path: Path) -> None:
    await page.sign_in()
    csrf, once = page.csrf_and_once((await page.client.get("/round/1")).text)
    await page.client.post("/round/1/do/export", data={"csrf": csrf, "once": once})
    deadline = time.monotonic() + 30
    while "du-lieu.csv" not in (await page.client.get("/round/1")).text:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    await page.hub.sender.drain()  # every mark written: what a stopped process leaves
    again = Page(store, tmp_path)  # the restarted process: the same database, a new feed
    again.updates = page.updates  # Telegram's next update ids
    await again.hub.channels["web"].start()
    await again.sign_in()
    html = (await again.client.get("/round/1")).text
    entry = re.findall(r'href="/feed/(\d+)">⬇ du-lieu.csv', html)
    assert entry and "Chưa có thao tác nào" not in html
    got = await again.client.get(f"/feed/{entry[0]}")
    assert got.status_code == 200 and "du-lieu.csv" in got.headers["content-disposition"]
    await again.client.aclose()


async def test_behind_a_proxy_at_a_path_every_link_keeps_it(store: Store, tmp_path: Path) -> None:
    made = Page(store, tmp_path, public=f"{PUBLIC}/rb")
    await store.create_campaign(load_campaign_text("small.yaml", SMALL_CAMPAIGN, TZ),
                                made.clock())
    async with sending(made):
        texts = await made.chat("/web")
        assert f"{PUBLIC}/rb/login/" in texts[-1]
        token = await made.link_token()
        login_page = (await made.client.get(f"/login/{token}")).text  # the proxy strips /rb
        assert f'action="/rb/login/{token}"' in login_page
        signed = await made.client.post(f"/login/{token}")
        assert signed.headers["location"] == "/rb/"
        assert "Path=/rb" in signed.headers["set-cookie"]
        made.client.cookies.set("reportbot_session", signed.cookies["reportbot_session"])
        home = (await made.client.get("/")).text
        assert 'href="/rb/round/1"' in home and 'href="/rb/static/style.css"' in home
        assert not re.findall(r'(?:href|action|src)="/(?!rb/)', home)


async def test_a_units_docx_is_written_for_each_download_and_leaves_nothing_behind(
        page: Page, tmp_path: Path) -> None:
    import io

    from docx import Document

    await page.sign_in()
    before = _tree(tmp_path)
    for _ in range(2):
        got = await page.client.get("/round/1/unit/SXD/report.docx")
        assert got.status_code == 200 and "SXD.docx" in got.headers["content-disposition"]
        text = "\n".join(p.text for p in Document(io.BytesIO(got.content)).paragraphs)
        assert "Sở Xây dựng".upper() in text.upper()
    assert [p for p in _tree(tmp_path) if p not in before] == []


def _tree(folder: Path) -> list[Path]:
    """Return every path under a folder but SQLite's own side files."""
    return sorted(p.relative_to(folder) for p in folder.rglob("*")
                  if not p.name.endswith(("-wal", "-shm", "-journal")))
