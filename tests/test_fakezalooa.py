"""The fake Zalo OA servers, driven with plain httpx calls over 127.0.0.1."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from docx import Document

from tests.fakezalooa import (
    APP_ID,
    APP_SECRET,
    MAX_UPLOAD,
    OA_ID,
    OA_SECRET_KEY,
    SIGNATURE_HEADER,
    UPLOAD_TYPES,
    FakeZaloOA,
    new_msg_id,
    new_user_id,
    zevent_mac,
)

USER = "2468458835296197922"
OTHER = "1357924680135792468"
HOUR = 3600.0
DAY = 24 * HOUR
DOCX = UPLOAD_TYPES[".docx"]


@pytest.fixture
def fake() -> Iterator[FakeZaloOA]:
    """A started fake with default options."""
    with FakeZaloOA() as server:
        yield server


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    """A plain httpx client."""
    with httpx.Client(timeout=5) as http:
        yield http


def send(http: httpx.Client, fake: FakeZaloOA, message: dict[str, Any], *,
         user: str = USER, token: str | None = None) -> httpx.Response:
    """POST a cs message with the token in the access_token header."""
    return http.post(fake.message_url, json={"recipient": {"user_id": user}, "message": message},
                     headers={"access_token": token or fake.access_token})


def text(http: httpx.Client, fake: FakeZaloOA, words: str, **kwargs: Any) -> dict[str, Any]:
    """Send a text; the decoded answer (always HTTP 200)."""
    answer = send(http, fake, {"text": words}, **kwargs)
    assert answer.status_code == 200
    return dict(answer.json())


def refresh(http: httpx.Client, fake: FakeZaloOA, token: str, *,
            secret: str = APP_SECRET) -> httpx.Response:
    """POST the OAuth refresh form."""
    return http.post(fake.token_url, headers={"secret_key": secret},
                     data={"refresh_token": token, "app_id": APP_ID,
                           "grant_type": "refresh_token"})


def upload(http: httpx.Client, fake: FakeZaloOA, name: str, content: bytes,
           mime: str | None = None) -> dict[str, Any]:
    """Upload one file in the multipart field ``file``; the decoded answer."""
    part = (name, content) if mime is None else (name, content, mime)
    answer = http.post(fake.upload_url, files={"file": part},
                       headers={"access_token": fake.access_token})
    assert answer.status_code == 200
    return dict(answer.json())


def buttons(count: int, **override: Any) -> dict[str, Any]:
    """A button template of ``count`` query buttons."""
    made = [{"title": f"Chọn {i}", "type": "oa.query.hide", "payload": f"#c5:{i}"}
            for i in range(count)]
    for button in made:
        button.update(override)
    return {"type": "template", "payload": {"buttons": made}}


def docx_bytes(words: str) -> bytes:
    """A small Word file."""
    document = Document()
    document.add_paragraph(words)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


# --------------------------------------------------------------------------- sending


def test_text_success_shape(fake: FakeZaloOA, client: httpx.Client) -> None:
    """A text within the window: error 0, message_id, sent_time in ms as a string, quota."""
    fake.send_text(USER, "Chào")
    body = text(client, fake, "Báo cáo đã nhận ✓")
    assert body["error"] == 0 and body["message"] == "Success"
    data = body["data"]
    assert data["user_id"] == USER and data["sent_time"] == str(int(fake.clock * 1000))
    assert data["quota"] == {"quota_type": "reply", "remain": "7", "total": "8"}
    sent = fake.wait_for_sent(USER, timeout=1)
    assert (sent.message_id, sent.text, sent.charged) == (data["message_id"], "Báo cáo đã nhận ✓",
                                                          False)
    call = fake.calls("message")[0]
    assert call.access_token == fake.access_token and not call.token_in_url
    assert "authorization" not in call.headers


def test_quota_can_be_left_out(client: httpx.Client) -> None:
    """include_quota=False: the retired field is gone."""
    with FakeZaloOA(include_quota=False) as fake:
        fake.send_text(USER, "x")
        assert "quota" not in text(client, fake, "y")["data"]


def test_token_only_in_its_own_header(fake: FakeZaloOA, client: httpx.Client) -> None:
    """No header, Authorization: Bearer or ?access_token= all answer -216, with HTTP 200."""
    fake.send_text(USER, "x")
    body = {"recipient": {"user_id": USER}, "message": {"text": "y"}}
    answers = [
        client.post(fake.message_url, json=body),
        client.post(fake.message_url, json=body,
                    headers={"Authorization": f"Bearer {fake.access_token}"}),
        client.post(fake.message_url, json=body, params={"access_token": fake.access_token}),
        client.post(fake.message_url, json=body, headers={"access_token": "nonsense"}),
    ]
    for answer in answers:
        assert answer.status_code == 200
        assert answer.json() == {"error": -216, "message": "Access token is invalid"}
    assert fake.sent_messages() == []
    assert [c.token_in_url for c in fake.calls("message")] == [False, False, True, False]


def test_text_limit_is_2000_and_never_cut(fake: FakeZaloOA, client: httpx.Client) -> None:
    """2,000 characters go; 2,001 answer -210 with HTTP 200 and nothing is sent."""
    fake.send_text(USER, "x")
    assert text(client, fake, "ữ" * 2000)["error"] == 0
    over = text(client, fake, "a" * 2001)
    assert over["error"] == -210 and "2000" in over["message"]
    assert [len(m.text) for m in fake.sent_messages()] == [2000]
    assert text(client, fake, "")["error"] == -201
    assert text(client, fake, "   ")["error"] == -201


def test_utf16_counting_switch(client: httpx.Client) -> None:
    """count_utf16: an emoji counts 2."""
    with FakeZaloOA(count_utf16=True) as fake:
        fake.send_text(USER, "x")
        assert text(client, fake, "😀" * 1000)["error"] == 0
        assert text(client, fake, "😀" * 1000 + "a")["error"] == -210


def test_malformed_requests_are_201(fake: FakeZaloOA, client: httpx.Client) -> None:
    """Bad JSON, form bodies, a numeric user id, no message: -201."""
    fake.send_text(USER, "x")
    headers = {"access_token": fake.access_token}
    cases = [
        client.post(fake.message_url, content=b"{", headers={
            **headers, "Content-Type": "application/json"}),
        client.post(fake.message_url, data={"recipient": USER}, headers=headers),
        client.post(fake.message_url, json={"recipient": {"user_id": int(USER)},
                                            "message": {"text": "x"}}, headers=headers),
        client.post(fake.message_url, json={"recipient": {"user_id": USER}}, headers=headers),
    ]
    for answer in cases:
        assert answer.status_code == 200 and answer.json()["error"] == -201, answer.text


def test_buttons(fake: FakeZaloOA, client: httpx.Client) -> None:
    """Up to 5 query buttons beside the text; 6, long titles or payloads: -210."""
    fake.send_text(USER, "x")
    ok = send(client, fake, {"text": "Có không?", "attachment": buttons(5)}).json()
    assert ok["error"] == 0
    assert [b["payload"] for b in fake.sent_messages()[0].buttons] == [
        f"#c5:{i}" for i in range(5)]
    refused: list[tuple[dict[str, Any], int]] = [
        ({"text": "?", "attachment": buttons(6)}, -210),
        ({"text": "?", "attachment": buttons(1, title="t" * 101)}, -210),
        ({"text": "?", "attachment": buttons(1, payload="p" * 1001)}, -210),
        ({"text": "?", "attachment": buttons(1, type="postback")}, -201),
        ({"text": "?", "attachment": buttons(1, title="")}, -201),
        ({"text": "?", "attachment": buttons(0)}, -201),
        ({"attachment": buttons(2)}, -201),
        ({"text": "?", "attachment": {"type": "carousel", "payload": {}}}, -201),
    ]
    for message, code in refused:
        assert send(client, fake, message).json()["error"] == code, message
    assert send(client, fake, {"text": "?", "attachment": buttons(
        1, title="t" * 100, payload="p" * 1000, type="oa.query.show")}).json()["error"] == 0
    assert len(fake.sent_messages()) == 2


def test_older_template_style(fake: FakeZaloOA, client: httpx.Client) -> None:
    """template_type "button" (text in the payload) and "list" are accepted too."""
    fake.send_text(USER, "x")
    older = buttons(2)
    older["payload"].update(template_type="button", text="Chọn một")
    assert send(client, fake, {"attachment": older}).json()["error"] == 0
    listed = {"type": "template", "payload": {"template_type": "list", "elements": [
        {"title": "Báo cáo tháng"}]}}
    assert send(client, fake, {"attachment": listed}).json()["error"] == 0
    assert [(m.template_type, m.text) for m in fake.sent_messages()] == [
        ("button", "Chọn một"), ("list", "")]
    wrong = {"type": "template", "payload": {"template_type": "media", "elements": []}}
    assert send(client, fake, {"attachment": wrong}).json()["error"] == -201


def test_quote_message_id(fake: FakeZaloOA, client: httpx.Client) -> None:
    """quote_message_id must name a message of that user."""
    own = fake.send_text(USER, "Câu hỏi")
    theirs = fake.send_text(OTHER, "khác")
    assert send(client, fake, {"text": "Trả lời", "quote_message_id": own}).json()["error"] == 0
    assert fake.sent_messages()[0].quote_message_id == own
    for bad in (theirs, new_msg_id(), 12):
        assert send(client, fake, {"text": "x", "quote_message_id": bad}).json()["error"] == -201


def test_fail_next(fake: FakeZaloOA, client: httpx.Client) -> None:
    """Injected failures, optionally for one user, come back with HTTP 200."""
    fake.send_text(USER, "x")
    fake.send_text(OTHER, "x")
    fake.fail_next("message", -211, times=2, user_id=USER)
    assert text(client, fake, "1", user=OTHER)["error"] == 0
    assert text(client, fake, "2")["error"] == -211
    assert text(client, fake, "3")["message"] == "Out of quota"
    assert text(client, fake, "4")["error"] == 0
    fake.fail_next("message", -218, "custom")
    assert text(client, fake, "5") == {"error": -218, "message": "custom"}


def test_reply_cap(client: httpx.Client) -> None:
    """The old cap (8 replies per interaction): then -211 (or -218), reset by a new message."""
    with FakeZaloOA(reply_cap=2, quota_error=-218) as fake:
        fake.send_text(USER, "x")
        remains = [text(client, fake, "a")["data"]["quota"]["remain"] for _ in range(2)]
        assert remains == ["7", "6"]
        assert text(client, fake, "b")["error"] == -218
        fake.send_text(USER, "again")
        assert text(client, fake, "c")["error"] == 0


def test_rate_limit_per_minute(client: httpx.Client) -> None:
    """Beyond rate_limit calls in a minute of the clock: -32 until the next minute."""
    with FakeZaloOA(rate_limit=3, start_clock=1_700_000_090.0) as fake:
        fake.send_text(USER, "x")
        assert [text(client, fake, "a")["error"] for _ in range(4)] == [0, 0, 0, -32]
        fake.advance(20)
        assert text(client, fake, "b")["error"] == 0


# --------------------------------------------------------------------------- the reply window


@pytest.fixture
def lasting() -> Iterator[FakeZaloOA]:
    """A fake whose access token outlives the days the clock is moved (25 h otherwise)."""
    with FakeZaloOA(expires_in=30 * 86400) as server:
        yield server


def test_reply_window(lasting: FakeZaloOA, client: httpx.Client) -> None:
    """47 h: free; 50 h: accepted and charged; 7 days: still; 7 days + 1 s: -230."""
    fake = lasting
    fake.send_text(USER, "x")
    fake.advance(47 * HOUR)
    assert text(client, fake, "47h")["error"] == 0
    fake.advance(3 * HOUR)
    assert text(client, fake, "50h")["error"] == 0
    fake.advance(7 * DAY - 50 * HOUR)
    assert text(client, fake, "7d")["error"] == 0
    fake.advance(1)
    assert text(client, fake, "7d1s") == {
        "error": -230, "message": "User has not interacted with the OA in the past 7 days"}
    assert [(m.text, m.charged) for m in fake.sent_messages()] == [
        ("47h", False), ("50h", True), ("7d", True)]
    fake.send_text(USER, "back")
    assert text(client, fake, "again")["error"] == 0


def test_window_error_wording_switch(client: httpx.Client) -> None:
    """window_error=-232: the other wording; a user who never interacted gets it too."""
    with FakeZaloOA(window_error=-232, expires_in=30 * 86400) as fake:
        assert text(client, fake, "x")["error"] == -232
        fake.follow(USER)
        fake.advance(7 * DAY + 1)
        assert text(client, fake, "x")["error"] == -232


def test_interactions(fake: FakeZaloOA, client: httpx.Client) -> None:
    """Images, files, follows and taps open the window; receipts do not."""
    assert text(client, fake, "never")["error"] == -230
    users = [new_user_id() for _ in range(4)]
    fake.send_image(users[0], "https://photo.zalo.me/a.jpg")
    fake.send_file(users[1], "https://f.zalo.me/b.pdf", "b.pdf", 1234)
    fake.follow(users[2])
    fake.received(users[3], [new_msg_id()])
    fake.seen(users[3], [new_msg_id()])
    assert [text(client, fake, "x", user=u)["error"] for u in users] == [0, 0, 0, -230]


def test_follow_unfollow_ban(fake: FakeZaloOA, client: httpx.Client) -> None:
    """Unfollowed: -213; following again reopens; banned: -227."""
    fake.send_text(USER, "x")
    fake.unfollow(USER)
    assert text(client, fake, "a")["error"] == -213
    fake.follow(USER)
    assert text(client, fake, "b")["error"] == 0
    fake.ban(USER)
    assert text(client, fake, "c")["error"] == -227


def test_followers_only_switch(client: httpx.Client) -> None:
    """followers_only: someone who wrote without following gets -213."""
    with FakeZaloOA(followers_only=True) as fake:
        fake.send_text(USER, "x")
        assert text(client, fake, "a")["error"] == -213
        old = fake.add_follower(last_interaction=fake.clock - 3 * DAY)
        assert text(client, fake, "b", user=old)["error"] == 0
        assert fake.sent_messages(old)[0].charged


# --------------------------------------------------------------------------- uploads


def test_upload_and_send_a_docx(fake: FakeZaloOA, client: httpx.Client) -> None:
    """A .docx uploads to a token, is sent as a file attachment and can be opened back."""
    fake.send_text(USER, "x")
    answer = upload(client, fake, "Báo cáo tổng hợp.docx", docx_bytes("Tổng hợp"), DOCX)
    assert answer["error"] == 0 and answer["message"] == "Success"
    token = answer["data"]["token"]
    sent = send(client, fake, {"attachment": {"type": "file", "payload": {"token": token}}})
    assert sent.json()["error"] == 0
    stored = fake.sent_messages()[0].file
    assert stored is not None and stored.name == "Báo cáo tổng hợp.docx"
    document = Document(io.BytesIO(fake.file(token).content))
    assert document.paragraphs[0].text == "Tổng hợp"
    for message in ({"attachment": {"type": "file", "payload": {"token": "unknown"}}},
                    {"text": "kèm", "attachment": {"type": "file", "payload": {"token": token}}}):
        assert send(client, fake, message).json()["error"] == -201


def test_upload_limits(fake: FakeZaloOA, client: httpx.Client) -> None:
    """Only PDF/DOC/DOCX with their content type, 1 byte to 5 MB; no token: -216."""
    assert upload(client, fake, "a.pdf", b"%PDF-1.4", "application/pdf")["error"] == 0
    assert upload(client, fake, "a.doc", b"\xd0\xcf", "application/msword")["error"] == 0
    assert upload(client, fake, "big.docx", b"x" * MAX_UPLOAD, DOCX)["error"] == 0
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    refused = [
        (("big.docx", b"x" * (MAX_UPLOAD + 1), DOCX), -210),
        (("data.xlsx", b"PK", xlsx), -201),
        (("a.docx", b"PK", "application/octet-stream"), -201),
        (("noext", b"x", "application/pdf"), -201),
        (("empty.pdf", b"", "application/pdf"), -201),
    ]
    for (name, content, mime), code in refused:
        assert upload(client, fake, name, content, mime)["error"] == code, name
    assert len(fake.files()) == 3
    bare = client.post(fake.upload_url, files={"file": ("a.pdf", b"%PDF")})
    assert bare.status_code == 200 and bare.json()["error"] == -216
    wrong_field = client.post(fake.upload_url, files={"document": ("a.pdf", b"%PDF")},
                              headers={"access_token": fake.access_token})
    assert wrong_field.json()["error"] == -201


def test_upload_type_check_switch(client: httpx.Client) -> None:
    """check_upload_type=False: the extension alone decides."""
    with FakeZaloOA(check_upload_type=False) as fake:
        assert upload(client, fake, "a.docx", b"PK", "application/octet-stream")["error"] == 0
        assert upload(client, fake, "a.xlsx", b"PK", "application/octet-stream")["error"] == -201


# --------------------------------------------------------------------------- tokens


def test_refresh_is_single_use(fake: FakeZaloOA, client: httpx.Client) -> None:
    """A refresh gives a new pair; the old refresh token is dead; the new one works."""
    first_access, first_refresh = fake.access_token, fake.refresh_token
    answer = refresh(client, fake, first_refresh)
    assert answer.status_code == 200
    pair = answer.json()
    assert set(pair) == {"access_token", "refresh_token", "expires_in"}
    assert pair["expires_in"] == "90000"
    assert pair["refresh_token"] != first_refresh and pair["access_token"] != first_access
    again = refresh(client, fake, first_refresh)
    assert again.status_code == 200
    assert again.json()["error"] == -118 and "access_token" not in again.json()
    assert {"error_name", "error_description"} <= set(again.json())
    fake.send_text(USER, "x")
    assert text(client, fake, "new", token=pair["access_token"])["error"] == 0
    assert text(client, fake, "old", token=first_access)["error"] == 0  # until it expires
    assert refresh(client, fake, pair["refresh_token"]).json()["access_token"]
    assert [r.old_refresh_token for r in fake.refreshes] == [first_refresh,
                                                             pair["refresh_token"]]


def test_refresh_request_rules(fake: FakeZaloOA, client: httpx.Client) -> None:
    """Wrong secret_key, app_id or grant_type, a JSON body or an unknown token: errors."""
    token = fake.refresh_token
    assert refresh(client, fake, token, secret="wrong").json()["error"] == -14003
    bad_forms = [
        {"refresh_token": token, "app_id": "1", "grant_type": "refresh_token"},
        {"refresh_token": token, "app_id": APP_ID, "grant_type": "authorization_code"},
    ]
    for form in bad_forms:
        answer = client.post(fake.token_url, headers={"secret_key": APP_SECRET}, data=form)
        assert "access_token" not in answer.json()
    as_json = client.post(fake.token_url, headers={"secret_key": APP_SECRET}, json={
        "refresh_token": token, "app_id": APP_ID, "grant_type": "refresh_token"})
    assert "access_token" not in as_json.json()
    assert refresh(client, fake, "made-up").json()["error"] == -118
    assert refresh(client, fake, token).json()["refresh_token"]  # still live after all that
    assert len(fake.refreshes) == 1


def test_oauth2_error_style(client: httpx.Client) -> None:
    """oauth_errors="oauth2": a reused token answers invalid_grant with HTTP 400."""
    with FakeZaloOA(oauth_errors="oauth2") as fake:
        old = fake.refresh_token
        refresh(client, fake, old)
        again = refresh(client, fake, old)
        assert again.status_code == 400
        assert again.json()["error"] == "invalid_grant" and "error_description" in again.json()


def test_access_token_expires_on_the_clock(client: httpx.Client) -> None:
    """expires_in=3600: fine at 3,599 s, -216 at 3,600 s; the refreshed one works."""
    with FakeZaloOA(expires_in=3600) as fake:
        fake.send_text(USER, "x")
        fake.advance(3599)
        assert text(client, fake, "a")["error"] == 0
        fake.advance(1)
        assert text(client, fake, "b")["error"] == -216
        pair = refresh(client, fake, fake.refresh_token).json()
        assert pair["expires_in"] == "3600"
        assert text(client, fake, "c", token=pair["access_token"])["error"] == 0


def test_expired_error_switch(client: httpx.Client) -> None:
    """expired_error=-220: an expired token answers -220; an unknown one still -216."""
    with FakeZaloOA(expired_error=-220, expires_in=60) as fake:
        fake.send_text(USER, "x")
        fake.advance(61)
        assert text(client, fake, "a")["error"] == -220
        assert text(client, fake, "a", token="junk")["error"] == -216


def test_refresh_kills_old_switch(client: httpx.Client) -> None:
    """refresh_kills_old: the previous access token dies at once."""
    with FakeZaloOA(refresh_kills_old=True) as fake:
        fake.send_text(USER, "x")
        old = fake.access_token
        new = refresh(client, fake, fake.refresh_token).json()["access_token"]
        assert text(client, fake, "a", token=old)["error"] == -216
        assert text(client, fake, "b", token=new)["error"] == 0


def test_revoke_and_authorize(fake: FakeZaloOA, client: httpx.Client) -> None:
    """revoke(): tokens die and every refresh fails; authorize() grants a new pair."""
    fake.send_text(USER, "x")
    old_access, old_refresh = fake.access_token, fake.refresh_token
    fake.revoke()
    assert text(client, fake, "a", token=old_access)["error"] == -216
    assert refresh(client, fake, old_refresh).json()["error"] == -118
    access, new_refresh = fake.authorize()
    assert text(client, fake, "b", token=access)["error"] == 0
    assert refresh(client, fake, new_refresh).status_code == 200
    fake.fail_next("oauth", "client")
    assert refresh(client, fake, fake.refresh_token).json()["error"] == -14003


# --------------------------------------------------------------------------- webhook


class _Receiver:
    """The bot's side: records POSTs; answers ``statuses`` in turn (then 200), each after the
    next of ``delays`` seconds (then at once)."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        self.delays: list[float] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append((dict(self.headers), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                time.sleep(receiver.delays.pop(0) if receiver.delays else 0.0)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                """Stay quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}/zalo-oa"

    def events(self) -> list[dict[str, Any]]:
        """The bodies received, decoded."""
        return [json.loads(body) for _, body in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    """A webhook receiver on 127.0.0.1."""
    hook = _Receiver()
    yield hook
    hook.close()


@pytest.fixture
def hooked(receiver: _Receiver) -> Iterator[FakeZaloOA]:
    """A fake whose webhook points at the receiver, with quick redeliveries."""
    with FakeZaloOA(webhook_url=receiver.url, webhook_timeout=0.3, max_redeliveries=3,
                    redelivery_delay=0.02, redelivery_delay_max=0.05) as server:
        yield server


def test_event_shape_and_signature(hooked: FakeZaloOA, receiver: _Receiver) -> None:
    """user_send_text as ZALO.md shows it, signed with sha256(app_id+body+timestamp+key)."""
    msg_id = hooked.send_text(USER, "Chào")
    delivery = hooked.wait_for_delivery(timeout=3)
    assert delivery.ok and delivery.msg_id == msg_id and delivery.attempt == 1
    headers, raw = receiver.requests[0]
    event = json.loads(raw)
    assert event["app_id"] == APP_ID and event["event_name"] == "user_send_text"
    assert event["sender"] == {"id": USER} and event["recipient"] == {"id": OA_ID}
    assert event["message"] == {"text": "Chào", "msg_id": msg_id}
    assert event["timestamp"] == str(int(hooked.clock * 1000))
    assert event["user_id_by_app"].isdigit()
    expected = zevent_mac(event["app_id"], raw, event["timestamp"], OA_SECRET_KEY)
    assert headers[SIGNATURE_HEADER] == f"mac={expected}"
    reserialized = json.dumps(event).encode()  # not the bytes sent: another MAC
    assert zevent_mac(APP_ID, reserialized, event["timestamp"], OA_SECRET_KEY) != expected


def test_sign_with_oa_id(receiver: _Receiver) -> None:
    """sign_with="oa_id": the minority guide's MAC."""
    with FakeZaloOA(webhook_url=receiver.url, sign_with="oa_id") as fake:
        fake.send_text(USER, "x")
        fake.wait_for_delivery(timeout=3)
        headers, raw = receiver.requests[0]
        timestamp = json.loads(raw)["timestamp"]
        assert headers[SIGNATURE_HEADER] == "mac=" + zevent_mac(OA_ID, raw, timestamp,
                                                                  OA_SECRET_KEY)


def test_other_events(hooked: FakeZaloOA, receiver: _Receiver) -> None:
    """Image, file, follow/unfollow and receipts have their documented shapes."""
    hooked.send_image(USER, "https://photo.zalo.me/a.jpg", "ảnh")
    hooked.send_file(USER, "https://f.zalo.me/b.pdf", "b.pdf", 2048, "pdf")
    hooked.follow(OTHER)
    hooked.unfollow(OTHER)
    hooked.seen(USER, ["m1"])
    hooked.wait_idle(timeout=3)
    image, file, follow, unfollow, seen = receiver.events()
    assert image["message"]["attachments"][0]["type"] == "image"
    assert image["message"]["attachments"][0]["payload"]["url"] == "https://photo.zalo.me/a.jpg"
    payload = file["message"]["attachments"][0]["payload"]
    assert (payload["name"], payload["size"], payload["type"]) == ("b.pdf", "2048", "pdf")
    assert follow["event_name"] == "follow" and follow["follower"] == {"id": OTHER}
    assert follow["oa_id"] == OA_ID and follow["app_id"] == APP_ID
    assert unfollow["event_name"] == "unfollow"
    assert seen["message"]["msg_ids"] == ["m1"]


def test_tap_arrives_as_user_send_text(hooked: FakeZaloOA, receiver: _Receiver,
                                       client: httpx.Client) -> None:
    """A tap on a query button is an ordinary user_send_text carrying the payload."""
    hooked.echo_sends = False
    hooked.send_text(USER, "x")
    send(client, hooked, {"text": "Có không?", "attachment": buttons(2)})
    tap_id = hooked.tap(USER, "#c5:1")
    tapped = hooked.wait_for_delivery(lambda d: d.msg_id == tap_id, timeout=3).json()
    assert tapped["event_name"] == "user_send_text" and tapped["message"]["text"] == "#c5:1"
    with pytest.raises(ValueError, match="no query button"):
        hooked.tap(USER, "#c5:9")


def test_own_sends_echo(hooked: FakeZaloOA, receiver: _Receiver,
                        client: httpx.Client) -> None:
    """The OA's send comes back as oa_send_text with sender.id the OA id."""
    hooked.send_text(USER, "x")
    message_id = text(client, hooked, "Đã nhận")["data"]["message_id"]
    echo = hooked.wait_for_delivery(lambda d: d.event_name == "oa_send_text", timeout=3)
    event = echo.json()
    assert event["sender"] == {"id": OA_ID} and event["recipient"] == {"id": USER}
    assert event["message"] == {"text": "Đã nhận", "msg_id": message_id}


def test_redelivery_after_500_and_slow_answers(hooked: FakeZaloOA,
                                               receiver: _Receiver) -> None:
    """A 500, then an answer slower than the timeout, then 200: the same bytes three times."""
    receiver.statuses, receiver.delays = [500, 200], [0.0, 0.5]
    msg_id = hooked.send_text(USER, "x")
    hooked.wait_for_delivery(lambda d: d.ok, timeout=3)
    attempts = hooked.deliveries()
    assert [(d.attempt, d.status) for d in attempts][::2] == [(1, 500), (3, 200)]
    assert attempts[1].attempt == 2 and attempts[1].error and not attempts[1].ok
    assert attempts[1].elapsed is not None and attempts[1].elapsed >= 0.3
    assert {d.msg_id for d in attempts} == {msg_id}
    assert len({d.body for d in attempts}) == 1 and len({d.signature for d in attempts}) == 1
    assert not hooked.webhook_disabled


def test_webhook_disabled_after_the_limit(hooked: FakeZaloOA, receiver: _Receiver) -> None:
    """Failing every time: 1 + max_redeliveries attempts, then disabled; later events lost."""
    receiver.statuses = [500] * 10
    hooked.send_text(USER, "x")
    hooked.wait_for_disabled(timeout=5)
    assert [d.attempt for d in hooked.deliveries()] == [1, 2, 3, 4]
    hooked.send_text(USER, "lost")
    assert hooked.undelivered()[-1]["message"]["text"] == "lost"
    assert len(receiver.requests) == 4
    receiver.statuses = []
    hooked.webhook_url = receiver.url  # set again in the console
    assert not hooked.webhook_disabled
    hooked.send_text(USER, "back")
    assert hooked.wait_for_delivery(lambda d: d.ok, timeout=3).json()["message"]["text"] == "back"


def test_redelivery_period_on_the_clock(receiver: _Receiver) -> None:
    """The retry period runs on the fake's clock: past it, the next failure disables."""
    with FakeZaloOA(webhook_url=receiver.url, max_redeliveries=None, redelivery_delay=0.05,
                    redelivery_delay_max=0.05, redelivery_period=12 * HOUR) as fake:
        receiver.statuses = [500] * 100
        fake.send_text(USER, "x")
        fake.wait_for_delivery(lambda d: d.attempt == 2, timeout=3)
        assert not fake.webhook_disabled
        fake.advance(12 * HOUR)
        fake.wait_for_disabled(timeout=3)


def test_no_webhook_no_delivery(fake: FakeZaloOA) -> None:
    """Without a webhook URL events are lost (recorded as undelivered)."""
    fake.send_text(USER, "x")
    assert fake.deliveries() == [] and fake.undelivered()[0]["message"]["text"] == "x"


def test_post_signed_and_unsigned(fake: FakeZaloOA, receiver: _Receiver) -> None:
    """Hand-made posts: correct MAC, a wrong one, none; sent once, never retried."""
    fake.webhook_url = receiver.url
    receiver.statuses = [401, 401, 401]
    event = {"app_id": APP_ID, "event_name": "user_send_text", "timestamp": "1699003881354",
             "sender": {"id": USER}, "recipient": {"id": OA_ID},
             "message": {"msg_id": "abc", "text": "Chào"}}
    good = fake.post_signed(event)
    raw = receiver.requests[0][1]
    assert good.forged and good.status == 401
    assert receiver.requests[0][0][SIGNATURE_HEADER] == "mac=" + zevent_mac(
        APP_ID, raw, "1699003881354", OA_SECRET_KEY)
    fake.post_signed(event, key="not-the-key")
    fake.post_unsigned(event)
    assert receiver.requests[1][0][SIGNATURE_HEADER] != receiver.requests[0][0][SIGNATURE_HEADER]
    assert SIGNATURE_HEADER not in receiver.requests[2][0]
    assert fake.post_signed(b"raw", signature="mac=00").signature == "mac=00"
    assert len(fake.deliveries()) == 4


def test_webhook_never_leaves_127_0_0_1(fake: FakeZaloOA) -> None:
    """A webhook elsewhere is never contacted."""
    fake.max_redeliveries = 0
    fake.webhook_url = "https://example.org/hook"
    fake.send_text(USER, "x")
    delivery = fake.wait_for_delivery(timeout=3)
    assert delivery.status is None and "127.0.0.1" in (delivery.error or "")


# --------------------------------------------------------------------------- the server


def test_unknown_paths_are_404(fake: FakeZaloOA, client: httpx.Client) -> None:
    """Other paths, and other HTTP methods on known ones, answer 404."""
    headers = {"access_token": fake.access_token}
    for answer in (client.post(f"{fake.base_url}/v2.0/oa/message", headers=headers),
                   client.get(fake.message_url, headers=headers),
                   client.post(f"{fake.base_url}/v3.0/oa/message/promotion", headers=headers)):
        assert answer.status_code == 404
    assert {c.kind for c in fake.calls()} == {"unknown"}


def test_threads_stop_at_exit() -> None:
    """Leaving the context stops the server and the webhook worker."""
    fake = FakeZaloOA()
    with fake:
        threads = [fake._thread, fake._worker]
        assert all(t is not None and t.is_alive() for t in threads)
    assert not any(t is not None and t.is_alive() for t in threads)
    with pytest.raises(RuntimeError):
        _ = fake.base_url


def test_id_helpers() -> None:
    """User ids are 19-digit numeric strings; message ids 32 hex digits."""
    user = new_user_id()
    assert user.isdigit() and len(user) == 19
    assert len(new_msg_id()) == 32 and int(new_msg_id(), 16) >= 0


def test_clock_is_frozen_unless_ticking() -> None:
    """The clock moves only by advance() or assignment; ticking=True also follows real time."""
    frozen = FakeZaloOA(start_clock=1_700_000_000.0)
    assert frozen.clock == 1_700_000_000.0
    assert frozen.advance(HOUR) == 1_700_003_600.0
    frozen.clock = 1_800_000_000.0
    assert frozen.clock == 1_800_000_000.0
    ticking = FakeZaloOA(start_clock=1_700_000_000.0, ticking=True)
    first = ticking.clock
    time.sleep(0.01)
    assert ticking.clock > first
