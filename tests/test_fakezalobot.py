"""The fake Zalo Bot Platform server, driven with plain httpx calls over 127.0.0.1."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tests.fakezalobot import MAX_TEXT, WEBHOOK_SET, FakeZaloBot, new_id

USER = "6ede9afa66b88fe6d6a9"
OTHER = "a1b2c3d4e5f6a7b8c9d0"
HEX20 = re.compile(r"[0-9a-f]{20}")
SECRET = "s3cret-token-42"


@pytest.fixture
def fake() -> Iterator[FakeZaloBot]:
    """A fake with short polls."""
    with FakeZaloBot(max_poll_wait=0.3) as server:
        yield server


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    """A plain httpx client."""
    with httpx.Client(timeout=5) as http:
        yield http


def call(http: httpx.Client, fake: FakeZaloBot, method: str, **params: Any) -> httpx.Response:
    """POST JSON params to a method."""
    return http.post(fake.api_url(method), json=params)


def ms_now() -> int:
    """Epoch ms."""
    return int(time.time() * 1000)


def known(fake: FakeZaloBot, user: str = USER) -> None:
    """The contact writes once (so the bot may answer); the update is polled away."""
    message_id = fake.send_text(user, "xin chào")
    with httpx.Client() as http:
        got = call(http, fake, "getUpdates", timeout="1").json()["result"]
    assert got["message"]["message_id"] == message_id
    fake.clear()


# --------------------------------------------------------------------------- calls and errors


def test_get_me(fake: FakeZaloBot, client: httpx.Client) -> None:
    """getMe: string id, BASIC account, no groups; nothing Telegram-like."""
    answer = call(client, fake, "getMe")
    assert answer.status_code == 200
    body = answer.json()
    assert body["ok"] is True
    me = body["result"]
    assert me == {"id": "1459232241454765289", "account_name": "bot.ReportbotTest",
                  "account_type": "BASIC", "can_join_groups": False}
    assert fake.calls("getMe")[0].status == 200


def test_wrong_token_is_401(fake: FakeZaloBot, client: httpx.Client) -> None:
    """A wrong token answers 401 in the body (and the status)."""
    answer = client.post(fake.api_url("getMe", token="1:wrong"))
    assert answer.status_code == 401
    assert answer.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


@pytest.mark.parametrize("method", [
    "sendDocument", "getFile", "answerCallbackQuery", "setMyCommands", "editMessageText",
    "deleteMessage", "sendmessage", "GetMe", "getme", "nonsense",
])
def test_missing_methods_are_404(fake: FakeZaloBot, client: httpx.Client, method: str) -> None:
    """Methods Zalo lacks, and wrong spellings (names are case-sensitive), answer 404."""
    answer = call(client, fake, method, chat_id=USER, text="x")
    assert answer.status_code == 404
    assert answer.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


def test_path_without_bot_prefix_is_404(fake: FakeZaloBot, client: httpx.Client) -> None:
    """Only /bot<TOKEN>/<method> exists."""
    assert client.get(f"{fake.base_url}/getMe").status_code == 404


def test_errors_with_http_200() -> None:
    """The other reading: every error comes back with HTTP 200; the body says what it is."""
    with FakeZaloBot(errors_http_200=True, max_poll_wait=0.1) as fake, httpx.Client() as http:
        for response, code in [
            (http.post(fake.api_url("sendDocument")), 404),
            (http.post(fake.api_url("getMe", token="1:x")), 401),
            (call(http, fake, "sendMessage", chat_id="", text="x"), 400),
            (call(http, fake, "getUpdates", timeout="0"), 408),
        ]:
            assert response.status_code == 200
            assert response.json()["ok"] is False and response.json()["error_code"] == code


@pytest.mark.parametrize("encoding", ["json", "form", "multipart", "query"])
def test_params_in_every_encoding(fake: FakeZaloBot, client: httpx.Client,
                                  encoding: str) -> None:
    """sendMessage takes its parameters as JSON, form, multipart or query string."""
    known(fake)
    params = {"chat_id": USER, "text": "Báo cáo đã nhận ✓"}
    url = fake.api_url("sendMessage")
    if encoding == "json":
        answer = client.post(url, json=params)
    elif encoding == "form":
        answer = client.post(url, data=params)
    elif encoding == "multipart":
        answer = client.post(url, data=params, files={"unused": ("a.txt", b"x")})
    else:
        answer = client.get(url, params=params)
    assert answer.status_code == 200, answer.text
    assert fake.sent_messages(USER)[0].text == "Báo cáo đã nhận ✓"
    assert fake.calls("sendMessage")[0].encoding == encoding


# --------------------------------------------------------------------------- sending


def test_send_message_result_and_record(fake: FakeZaloBot, client: httpx.Client) -> None:
    """The result is a 20-hex string message_id and a date in milliseconds."""
    known(fake)
    before = ms_now()
    result = call(client, fake, "sendMessage", chat_id=USER, text="Chào").json()["result"]
    assert set(result) == {"message_id", "date"}
    assert HEX20.fullmatch(result["message_id"])
    assert before - 1000 <= result["date"] <= ms_now() + 1000
    sent = fake.wait_for_sent(USER, lambda m: m.text == "Chào", timeout=1)
    assert (sent.method, sent.message_id, sent.date) == (
        "sendMessage", result["message_id"], result["date"])


def test_text_limit_is_2000_characters(fake: FakeZaloBot, client: httpx.Client) -> None:
    """2,000 characters go; 2,001 and an empty or blank text are refused with 400."""
    known(fake)
    assert call(client, fake, "sendMessage", chat_id=USER, text="ầ" * MAX_TEXT).status_code == 200
    for text, wording in [("ầ" * (MAX_TEXT + 1), "longer than 2000"),
                          ("", "must not be empty"), ("  \n", "must not be empty")]:
        answer = call(client, fake, "sendMessage", chat_id=USER, text=text)
        assert answer.status_code == 400
        assert answer.json()["description"].startswith("Bad request: The text")
        assert wording in answer.json()["description"]
    assert len(fake.sent_messages(USER)) == 1


def test_chat_id_rules(fake: FakeZaloBot, client: httpx.Client) -> None:
    """chat_id: present, a string, a contact who wrote first."""
    known(fake)
    missing = call(client, fake, "sendMessage", text="x").json()
    assert missing == {"ok": False, "error_code": 400,
                       "description": "Bad request: The chat_id must not be empty"}
    number = call(client, fake, "sendMessage", chat_id=1459232241454765289, text="x")
    assert number.status_code == 400 and "string" in number.json()["description"]
    stranger = call(client, fake, "sendMessage", chat_id=OTHER, text="x")
    assert stranger.status_code == 400
    assert fake.sent_messages() == []


def test_send_photo_url_only(fake: FakeZaloBot, client: httpx.Client) -> None:
    """sendPhoto takes an http(s) URL; an upload or another scheme is refused."""
    known(fake)
    ok = call(client, fake, "sendPhoto", chat_id=USER, photo="https://example.org/a.png",
              caption="Ảnh")
    assert ok.status_code == 200 and HEX20.fullmatch(ok.json()["result"]["message_id"])
    sent = fake.sent_messages(USER)[0]
    assert (sent.method, sent.photo, sent.text) == ("sendPhoto", "https://example.org/a.png",
                                                    "Ảnh")
    upload = client.post(fake.api_url("sendPhoto"), data={"chat_id": USER},
                         files={"photo": ("a.png", b"\x89PNG", "image/png")})
    assert upload.status_code == 400 and "upload" in upload.json()["description"]
    for photo in ["file:///etc/passwd", "a.png", ""]:
        assert call(client, fake, "sendPhoto", chat_id=USER, photo=photo).status_code == 400
    long_caption = call(client, fake, "sendPhoto", chat_id=USER, photo="http://x.vn/a.jpg",
                        caption="c" * (MAX_TEXT + 1))
    assert long_caption.status_code == 400
    assert len(fake.sent_messages(USER)) == 1


def test_send_chat_action_has_no_result(fake: FakeZaloBot, client: httpx.Client) -> None:
    """sendChatAction answers {"ok": true} and nothing else; it costs no quota."""
    known(fake)
    answer = call(client, fake, "sendChatAction", chat_id=USER, action="typing")
    assert answer.status_code == 200 and answer.json() == {"ok": True}
    assert call(client, fake, "sendChatAction", chat_id=USER, action="upload").status_code == 400
    assert fake.quota_used == 0 and fake.sent_messages() == []


def test_unsupported_params_are_recorded_or_rejected(client: httpx.Client) -> None:
    """reply_markup and friends do nothing but are recorded; "reject" refuses them."""
    with FakeZaloBot() as fake:
        known(fake)
        markup = {"inline_keyboard": [[{"text": "Có", "callback_data": "y"}]]}
        answer = call(client, fake, "sendMessage", chat_id=USER, text="x", reply_markup=markup,
                      parse_mode="html")
        assert answer.status_code == 200
        assert fake.unsupported_params() == [("sendMessage", "parse_mode"),
                                             ("sendMessage", "reply_markup")]
        assert fake.sent_messages()[0].unsupported == ("parse_mode", "reply_markup")
    with FakeZaloBot(unsupported="reject") as strict:
        known(strict)
        refused = call(client, strict, "sendMessage", chat_id=USER, text="x", reply_markup={})
        assert refused.status_code == 400 and "reply_markup" in refused.json()["description"]
        assert strict.sent_messages() == []


def test_quota(client: httpx.Client) -> None:
    """Successful sends count; beyond the quota 429 "Quota exceeded"; a new month resets."""
    with FakeZaloBot(monthly_quota=2) as fake:
        known(fake)
        assert call(client, fake, "sendMessage", chat_id=USER, text="1").status_code == 200
        assert call(client, fake, "sendMessage", chat_id=USER, text="").status_code == 400
        assert call(client, fake, "sendPhoto", chat_id=USER,
                    photo="https://x.vn/p.jpg").status_code == 200
        over = call(client, fake, "sendMessage", chat_id=USER, text="3")
        assert over.status_code == 429
        assert over.json() == {"ok": False, "error_code": 429, "description": "Quota exceeded"}
        assert fake.quota_used == 2 and len(fake.sent_messages()) == 2
        fake.reset_quota()
        assert call(client, fake, "sendMessage", chat_id=USER, text="4").status_code == 200


def test_max_users() -> None:
    """Beyond max_users contacts, a new contact's messages never reach the bot."""
    with FakeZaloBot(max_users=1, max_poll_wait=0.1) as fake, httpx.Client() as http:
        fake.send_text(USER, "một")
        fake.send_text(OTHER, "hai")
        assert [u["message"]["text"] for u in fake.pending_updates()] == ["một"]
        assert len(fake.dropped_updates()) == 1
        assert call(http, fake, "sendMessage", chat_id=OTHER, text="x").status_code == 400


def test_fail_next(fake: FakeZaloBot, client: httpx.Client) -> None:
    """fail_next answers the chosen error, to one chat if asked, ``times`` times."""
    known(fake)
    known(fake, OTHER)
    fake.fail_next("sendMessage", 500, times=2, chat_id=USER)
    assert call(client, fake, "sendMessage", chat_id=OTHER, text="x").status_code == 200
    assert call(client, fake, "sendMessage", chat_id=USER, text="x").status_code == 500
    assert call(client, fake, "sendMessage", chat_id=USER, text="x").json()["error_code"] == 500
    assert call(client, fake, "sendMessage", chat_id=USER, text="x").status_code == 200
    fake.fail_next("getUpdates", 429, html=True)
    page = call(client, fake, "getUpdates", timeout="0")
    assert page.status_code == 429 and page.headers["content-type"].startswith("text/html")
    assert "<html>" in page.text and fake.polls()[-1].error_code == 429


def test_proxy_html_429_on_hard_polling(client: httpx.Client) -> None:
    """Beyond the proxy's rate every request meets an HTML 429, whatever the error style."""
    with FakeZaloBot(errors_http_200=True) as fake:
        fake.proxy_limit(1, burst=2)
        statuses = [call(client, fake, "getMe").status_code for _ in range(4)]
        assert statuses == [200, 200, 429, 429]
        assert fake.proxy_rejections == 2
        assert fake.calls("getMe")[-1].html


# --------------------------------------------------------------------------- polling


def test_one_update_per_poll_with_zalo_shape(fake: FakeZaloBot, client: httpx.Client) -> None:
    """getUpdates answers one update object: string ids, ms date, chat.id == from.id."""
    first = fake.send_text(USER, "Xin chào", display_name="Ted")
    fake.send_text(USER, "Lần hai")
    body = call(client, fake, "getUpdates", timeout="30").json()
    assert body["ok"] is True
    update = body["result"]
    assert isinstance(update, dict) and "update_id" not in update
    assert update["event_name"] == "message.text.received"
    message = update["message"]
    assert message["from"] == {"id": USER, "display_name": "Ted", "is_bot": False}
    assert message["chat"] == {"id": USER, "chat_type": "PRIVATE"}
    assert message["chat"]["id"] == message["from"]["id"]
    assert message["text"] == "Xin chào" and message["message_id"] == first
    assert HEX20.fullmatch(first) and abs(message["date"] - ms_now()) < 5000
    second = call(client, fake, "getUpdates", timeout="30").json()["result"]
    assert second["message"]["text"] == "Lần hai"


def test_other_events(fake: FakeZaloBot, client: httpx.Client) -> None:
    """Images carry their URL (and caption), stickers an id, unsupported events nothing."""
    fake.send_image(USER, "https://f.zalo.me/a.jpg", "Báo cáo")
    fake.send_image(USER, "https://f.zalo.me/b.jpg", fields=["photo_url"])
    fake.send_sticker(USER, "abc123")
    fake.send_unsupported(USER)
    got = [call(client, fake, "getUpdates", timeout="1").json()["result"] for _ in range(4)]
    assert [u["event_name"] for u in got] == [
        "message.image.received", "message.image.received", "message.sticker.received",
        "message.unsupported.received"]
    image = got[0]["message"]
    assert image["photo"] == image["photo_url"] == image["url"] == "https://f.zalo.me/a.jpg"
    assert image["caption"] == "Báo cáo"
    assert "photo" not in got[1]["message"] and "url" not in got[1]["message"]
    assert got[2]["message"]["sticker"] == "abc123"
    assert set(got[3]["message"]) == {"from", "chat", "message_id", "date"}


def test_bot_messages_are_marked(fake: FakeZaloBot) -> None:
    """The bot's own id or is_bot gives from.is_bot; such senders are not contacts."""
    fake.send_text(fake.bot_id, "echo")
    fake.send_text(OTHER, "máy", is_bot=True)
    assert [u["message"]["from"]["is_bot"] for u in fake.pending_updates()] == [True, True]
    with httpx.Client() as http:
        for chat_id in (fake.bot_id, OTHER):
            assert call(http, fake, "sendMessage", chat_id=chat_id, text="x").status_code == 400


def test_empty_poll_answers_408_after_the_timeout(fake: FakeZaloBot,
                                                  client: httpx.Client) -> None:
    """Nothing to read: after `timeout` (capped by max_poll_wait) ok:false, 408."""
    start = time.monotonic()
    answer = call(client, fake, "getUpdates", timeout="30")
    took = time.monotonic() - start
    assert answer.status_code == 408
    assert answer.json() == {"ok": False, "description": "Request timeout", "error_code": 408}
    assert 0.25 <= took < 1.5
    start = time.monotonic()
    assert call(client, fake, "getUpdates", timeout="0.1").status_code == 408
    assert time.monotonic() - start < 0.3
    assert not fake.polls()[0].immediate


def test_empty_poll_ok_empty_reading(client: httpx.Client) -> None:
    """The other reading of an empty poll: {"ok": true, "result": {}}."""
    with FakeZaloBot(empty_poll="ok_empty", max_poll_wait=0.1) as fake:
        answer = call(client, fake, "getUpdates", timeout="5")
        assert answer.status_code == 200 and answer.json() == {"ok": True, "result": {}}


def test_long_poll_wakes_on_update(fake: FakeZaloBot, client: httpx.Client) -> None:
    """A waiting poll answers as soon as the contact writes."""
    fake.max_poll_wait = 3.0
    timer = threading.Timer(0.2, fake.send_text, (USER, "muộn"))
    timer.start()
    start = time.monotonic()
    answer = call(client, fake, "getUpdates", timeout="3")
    timer.join()
    assert answer.json()["result"]["message"]["text"] == "muộn"
    assert time.monotonic() - start < 1.5


def test_telegram_params_are_ignored_but_recorded(fake: FakeZaloBot,
                                                  client: httpx.Client) -> None:
    """offset/limit/allowed_updates do nothing (no confirmation); they are recorded."""
    fake.send_text(USER, "một")
    fake.send_text(USER, "hai")
    got = call(client, fake, "getUpdates", timeout="1", offset=5, limit=100,
               allowed_updates=["message"]).json()["result"]
    assert got["message"]["text"] == "một"
    assert fake.unsupported_params("getUpdates") == [
        ("getUpdates", "allowed_updates"), ("getUpdates", "limit"), ("getUpdates", "offset")]
    assert call(client, fake, "getUpdates", timeout="x").status_code == 400


def test_consume_mode_and_replay(fake: FakeZaloBot, client: httpx.Client) -> None:
    """Consume: a read update is gone; replay() brings it back once."""
    first = fake.send_text(USER, "một")
    assert call(client, fake, "getUpdates", timeout="1").json()["result"]["message"]["text"] \
        == "một"
    assert call(client, fake, "getUpdates", timeout="0").status_code == 408
    assert fake.replay() == 1
    again = call(client, fake, "getUpdates", timeout="1").json()["result"]
    assert again["message"]["message_id"] == first
    assert fake.times_delivered(first) == 2
    assert call(client, fake, "getUpdates", timeout="0").status_code == 408


def test_replay_mode(client: httpx.Client) -> None:
    """Replay: read updates come back at once on later polls, unread first, until the TTL."""
    with FakeZaloBot(delivery="replay", replay_ttl=0.5, max_poll_wait=0.1) as fake:
        one = fake.send_text(USER, "một")
        ids = []
        for _ in range(3):
            ids.append(call(client, fake, "getUpdates", timeout="5").json()["result"]
                       ["message"]["message_id"])
            if len(ids) == 1:
                two = fake.send_text(USER, "hai")
        assert ids == [one, two, one]  # the new one first, then the read ones in turn
        assert all(p.immediate for p in fake.polls())
        assert fake.times_delivered(one) == 2
        time.sleep(0.55)
        assert call(client, fake, "getUpdates", timeout="5").status_code == 408
        assert fake.queued_updates() == []
        fake.replay_ttl = None
        fake.send_text(USER, "ba")
        for _ in range(3):
            assert call(client, fake, "getUpdates", timeout="5").status_code == 200
        assert fake.drain() == 1
        assert call(client, fake, "getUpdates", timeout="0").status_code == 408


def test_poll_gaps_are_recorded(fake: FakeZaloBot, client: httpx.Client) -> None:
    """gaps_after_immediate_polls: time from a poll that returned at once to the next poll."""
    fake.send_text(USER, "một")
    fake.send_text(USER, "hai")
    call(client, fake, "getUpdates", timeout="1")
    call(client, fake, "getUpdates", timeout="1")  # at once again: a busy client
    time.sleep(0.2)
    call(client, fake, "getUpdates", timeout="0.1")  # waited, then 408: not "at once"
    call(client, fake, "getUpdates", timeout="0")  # 408 at once
    call(client, fake, "getUpdates", timeout="0")
    gaps = fake.gaps_after_immediate_polls()
    assert len(gaps) == 3 and gaps[0] < 0.2 and gaps[1] >= 0.2 and gaps[2] < 0.2
    assert [p.immediate for p in fake.polls()] == [True, True, False, True, True]


# --------------------------------------------------------------------------- webhook


class _Receiver:
    """The bot's side of a webhook: records POSTs, answers ``status``."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Stay quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}/zalo/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    """A webhook receiver on 127.0.0.1."""
    hook = _Receiver()
    yield hook
    hook.close()


def test_set_webhook_validation(fake: FakeZaloBot, client: httpx.Client) -> None:
    """url must be https; secret_token 8-256 characters and required."""
    cases = [
        ({"secret_token": SECRET}, "The url must not be empty"),
        ({"url": "http://127.0.0.1:1/h", "secret_token": SECRET}, "https"),
        ({"url": "https://127.0.0.1:1/h"}, "The secret_token must not be empty"),
        ({"url": "https://127.0.0.1:1/h", "secret_token": "short"}, "between 8 and 256"),
        ({"url": "https://127.0.0.1:1/h", "secret_token": "x" * 257}, "between 8 and 256"),
    ]
    for params, wording in cases:
        answer = call(client, fake, "setWebhook", **params)
        assert answer.status_code == 400
        assert answer.json()["description"].startswith("Bad request: ")
        assert wording in answer.json()["description"]
    assert call(client, fake, "getWebhookInfo").json() == {
        "ok": False, "error_code": 404, "description": "Not Found"}


def test_webhook_delivery(fake: FakeZaloBot, client: httpx.Client,
                          receiver: _Receiver) -> None:
    """With a webhook: POSTs with the secret header, wrapped then flat; polling is refused."""
    before = ms_now()
    result = call(client, fake, "setWebhook", url=receiver.url, secret_token=SECRET).json()
    assert result["result"]["url"] == receiver.url
    assert result["result"]["updated_at"] >= before
    info = call(client, fake, "getWebhookInfo").json()["result"]
    assert info == result["result"]
    refused = call(client, fake, "getUpdates", timeout="1")
    assert refused.status_code == 400 and refused.json()["description"] == WEBHOOK_SET
    assert refused.json()["description"].startswith(
        "You cannot use this API while a webhook is set")

    first = fake.send_text(USER, "một")
    fake.wait_for_delivery(lambda d: d.message_id == first, timeout=3)
    receiver.status = 500
    second = fake.send_text(USER, "hai")
    delivered = fake.wait_for_delivery(lambda d: d.message_id == second, timeout=3)
    assert delivered.status == 500 and delivered.shape == "flat"
    headers, body = receiver.requests[0]
    assert headers["X-Bot-Api-Secret-Token"] == SECRET
    wrapped = json.loads(body)
    assert wrapped["ok"] is True and wrapped["result"]["message"]["message_id"] == first
    flat = json.loads(receiver.requests[1][1])
    assert flat["event_name"] == "message.text.received"
    assert flat["message"]["message_id"] == second
    assert [d.status for d in fake.deliveries()] == [200, 500]

    forged = fake.post_to_webhook({"event_name": "x", "message": {}}, secret="wrong-secret")
    assert forged.forged and receiver.requests[-1][0]["X-Bot-Api-Secret-Token"] == "wrong-secret"
    assert fake.replay([first]) == 1
    assert fake.wait_for_delivery(lambda d: d.message_id == first and d.seq > forged.seq,
                                  timeout=3).shape == "wrapped"

    assert call(client, fake, "deleteWebhook").json()["ok"] is True
    assert call(client, fake, "getWebhookInfo").status_code == 404
    fake.send_text(USER, "ba")
    assert call(client, fake, "getUpdates", timeout="1").json()["result"]["message"]["text"] \
        == "ba"


def test_webhook_body_shape_choice(receiver: _Receiver) -> None:
    """webhook_body chooses one shape; updates queued before setWebhook are POSTed."""
    with FakeZaloBot(webhook_body="flat") as fake, httpx.Client() as http:
        waiting = fake.send_text(USER, "chờ")
        call(http, fake, "setWebhook", url=receiver.url, secret_token=SECRET)
        fake.send_text(USER, "mới")
        fake.wait_for_delivery(lambda d: d.message_id != waiting, timeout=3)
        assert [d.shape for d in fake.deliveries()] == ["flat", "flat"]
        assert json.loads(receiver.requests[0][1])["message"]["message_id"] == waiting


def test_webhook_never_leaves_127_0_0_1(fake: FakeZaloBot, client: httpx.Client) -> None:
    """A webhook elsewhere is accepted (as Zalo would) but never contacted."""
    assert call(client, fake, "setWebhook", url="https://example.org/hook",
                secret_token=SECRET).status_code == 200
    fake.send_text(USER, "x")
    delivery = fake.wait_for_delivery(timeout=3)
    assert delivery.status is None and "127.0.0.1" in (delivery.error or "")


def test_ids_helper() -> None:
    """new_id() gives 20 hex digits."""
    assert HEX20.fullmatch(new_id())
