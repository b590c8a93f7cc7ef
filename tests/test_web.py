"""The bot's HTTP server (bot/web): a real uvicorn on 127.0.0.1, spoken to with httpx."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest

from bot.channels.base import WebhookAnswer
from bot.store import Store
from bot.web import DownloadLinks, WebServer
from bot.web.files import disposition

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
NAME = "báo-cáo-tổng-hợp-Đợt 1.docx"


class Now:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class Recorder:
    """A webhook handler that keeps what it was given."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, str], bytes]] = []

    async def __call__(self, headers: Mapping[str, str], body: bytes) -> WebhookAnswer:
        self.calls.append((dict(headers), body))
        return 200, {"ok": True, "echo": headers.get("X-Test", "")}


class Running:
    """A started server, its stop event, its task and a client for it."""

    def __init__(self, server: WebServer) -> None:
        self.server = server
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.client = httpx.AsyncClient()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    async def start(self) -> Running:
        started = asyncio.Event()
        self.task = asyncio.create_task(self.server.serve(self.stop, started))
        await asyncio.wait_for(started.wait(), 10)
        return self

    async def close(self) -> None:
        await self.client.aclose()
        self.stop.set()
        if self.task is not None:
            await asyncio.wait_for(self.task, 15)


@pytest.fixture
def now() -> Now:
    return Now()


@pytest.fixture
def links(store: Store, now: Now) -> DownloadLinks:
    return DownloadLinks(store, "https://bot.example.vn/rb/", now)


@pytest.fixture
async def web(links: DownloadLinks) -> AsyncIterator[Running]:
    server = WebServer("127.0.0.1", 0)
    server.add_files(links)
    running = await Running(server).start()
    yield running
    await running.close()


def token_of(url: str) -> str:
    assert url.startswith("https://bot.example.vn/rb/files/")
    return url.rsplit("/", 1)[1]


async def test_healthz_answers_ok_and_a_failing_check_answers_503() -> None:
    healthy = True

    async def check() -> bool:
        if not healthy:
            raise RuntimeError("database is locked")
        return True

    running = await Running(WebServer("127.0.0.1", 0, check)).start()
    try:
        answer = await running.client.get(running.base + "/healthz")
        assert (answer.status_code, answer.json()) == (200, {"ok": True})
        healthy = False
        answer = await running.client.get(running.base + "/healthz")
        assert (answer.status_code, answer.json()) == (503, {"ok": False})
    finally:
        await running.close()


async def test_a_webhook_gets_the_headers_and_body_and_its_answer_is_sent(web: Running) -> None:
    recorder = Recorder()
    web.server.add_webhook("/hook", recorder)
    answer = await web.client.post(web.base + "/hook", content=b'{"a": 1}',
                                   headers={"x-test": "s3cret"})
    assert answer.status_code == 200 and answer.json() == {"ok": True, "echo": "s3cret"}
    headers, body = recorder.calls[0]
    assert body == b'{"a": 1}' and "x-test" in headers


async def test_a_body_over_1_mb_is_refused_without_calling_the_handler(web: Running) -> None:
    recorder = Recorder()
    web.server.add_webhook("/hook", recorder)
    answer = await web.client.post(web.base + "/hook", content=b"x" * (1024 * 1024 + 1))
    assert answer.status_code == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
        for _ in range(20):
            yield b"y" * 65536

    answer = await web.client.post(web.base + "/hook", content=chunks())
    assert answer.status_code == 413
    assert recorder.calls == []
    assert (await web.client.post(web.base + "/hook", content=b"{}")).status_code == 200


async def test_other_methods_get_405_and_unknown_paths_a_vietnamese_404(web: Running) -> None:
    recorder = Recorder()
    web.server.add_webhook("/hook", recorder)
    answer = await web.client.get(web.base + "/hook")
    assert answer.status_code == 405 and "POST" in answer.headers["allow"]
    assert "Không hỗ trợ" in answer.text
    answer = await web.client.get(web.base + "/khong-co")
    assert answer.status_code == 404 and "Không tìm thấy trang" in answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert "Traceback" not in answer.text and recorder.calls == []


async def test_a_link_downloads_the_file_under_its_vietnamese_name(
        web: Running, links: DownloadLinks, tmp_path: Path) -> None:
    path = tmp_path / "out.docx"
    path.write_bytes(b"PK\x03\x04 word file")
    url = await links.url(path, NAME)
    answer = await web.client.get(f"{web.base}/files/{token_of(url)}")
    assert answer.status_code == 200 and answer.content == b"PK\x03\x04 word file"
    assert answer.headers["content-type"] == DOCX
    value = answer.headers["content-disposition"]
    assert value.startswith("attachment;")
    assert 'filename="bao-cao-tong-hop-Dot 1.docx"' in value  # the ASCII fallback
    assert unquote(value.split("filename*=UTF-8''", 1)[1]) == NAME
    head = await web.client.head(f"{web.base}/files/{token_of(url)}")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(b"PK\x03\x04 word file"))


def test_the_disposition_header_is_ascii_and_names_the_file_twice() -> None:
    value = disposition('a"b\\đ.xlsx')
    value.encode("ascii")  # a header value must be ASCII: raises if not
    assert 'filename="a_b_d.xlsx"' in value
    assert unquote(value.split("''", 1)[1]) == 'a"b\\đ.xlsx'


def database_bytes(folder: Path) -> bytes:
    """Return the bytes of the test database and its WAL, if any."""
    return b"".join(p.read_bytes() for p in folder.glob("test.sqlite3*"))


async def test_the_database_holds_no_clear_token(links: DownloadLinks, store: Store,
                                                 tmp_path: Path) -> None:
    url = await links.url(tmp_path / "a.xlsx", "dữ-liệu.xlsx")
    token = token_of(url)
    assert len(token) >= 43  # 256 bits
    await store.close()
    raw = database_bytes(tmp_path)
    assert "dữ-liệu.xlsx".encode() in raw  # the row is there...
    assert token.encode() not in raw  # ...but not its token


async def test_an_expired_link_says_so_with_410(web: Running, links: DownloadLinks, now: Now,
                                                tmp_path: Path) -> None:
    path = tmp_path / "du-lieu.csv"
    path.write_text("a,b\n", encoding="utf-8")
    url = await links.url(path, "du-lieu.csv")
    answer = await web.client.get(f"{web.base}/files/{token_of(url)}")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    now.now += timedelta(days=7)
    answer = await web.client.get(f"{web.base}/files/{token_of(url)}")
    assert answer.status_code == 410 and "đã hết hạn" in answer.text
    assert "a,b" not in answer.text


async def test_a_file_gone_from_disk_gets_a_page_not_a_crash(
        web: Running, links: DownloadLinks, tmp_path: Path) -> None:
    path = tmp_path / "tong-hop.zip"
    path.write_bytes(b"PK")
    url = await links.url(path, "tổng-hợp.zip")
    path.unlink()
    answer = await web.client.get(f"{web.base}/files/{token_of(url)}")
    assert answer.status_code == 410 and "tổng-hợp.zip" in answer.text


@pytest.mark.parametrize("token", ["A" * 43, "x", "%00%ff", "Z" * 5000, "đ%20..%2F..%2Fetc"])
async def test_unknown_or_garbage_tokens_get_404(web: Running, token: str) -> None:
    answer = await web.client.get(f"{web.base}/files/{token}")
    assert answer.status_code == 404  # a token with "/" in it matches no route: 404 all the same
    assert "Không" in answer.text and "Traceback" not in answer.text


async def test_the_server_stops_when_told_and_frees_its_port() -> None:
    running = await Running(WebServer("127.0.0.1", 0)).start()
    port = running.server.port
    assert port != 0
    assert (await running.client.get(running.base + "/healthz")).status_code == 200
    await running.close()
    assert running.task is not None and running.task.done()
    with pytest.raises(httpx.ConnectError):
        await httpx.AsyncClient().get(f"http://127.0.0.1:{port}/healthz")
    with socket.socket() as again:  # the port can be listened on again at once (as a restart
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # would: still listening
        again.bind(("127.0.0.1", port))  # on it would fail even so)
        again.listen()


async def test_a_port_in_use_is_a_one_line_config_error() -> None:
    from bot.config import ConfigError

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = WebServer("127.0.0.1", taken.getsockname()[1])
        with pytest.raises(ConfigError, match="REPORTBOT_WEBHOOK_LISTEN"):
            await server.serve(asyncio.Event())
