"""The coordinators' web page: the rounds at a glance, a unit's sheet, and every action.

Server-rendered Jinja2 (templates/web/*.html, autoescaped) and one stylesheet, no script.
Reading pages read the store; every action is the coordinator's chat command run by the same
`Coordinator.handle` as in chat, from the chat `web`/<coordinator> (bot/web/feed.py): durable
and exactly once through the outbox, keyed by the form's own one-time key, so a form sent twice
acts once. What an action owes that chat is shown on the round's page.

Who may see what (status codes):
- GET /login/<token>: 200 the "Đăng nhập" button; 404 unknown link; 410 used or expired.
- POST /login/<token>: 303 to / with the session cookie; 403 from another site; 404; 410.
- /healthz, /files/<token> (their own capability) and /static/style.css: anyone.
- Any other page without a live session: 401 (a page saying to send /web in chat).
- Any POST without a live session: 401; with a wrong or missing CSRF token, or from another
  site: 403; over MAX_UPLOAD (or of no declared length): 413, unread; a form that cannot be
  read: 400; a round or unit that does not exist: 404.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import shutil
import tempfile
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from starlette.background import BackgroundTask
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from bot import texts
from bot.campaigns.units import Unit
from bot.campaigns.upload import Upload
from bot.channels.base import Incoming, Outgoing
from bot.coordinator import channel_name, history_rows, unit_table
from bot.display import format_value
from bot.documents.charts import progress_chart
from bot.documents.outputs import write_unit_report
from bot.documents.wording import question_heading
from bot.evidence import Evidence, EvidenceStore
from bot.model import REPORTED, Campaign, Sheet
from bot.paths import templates_dir
from bot.store.outbox import TASK
from bot.store.web import RoundContact
from bot.web.auth import COOKIE, SESSION_TTL, LoginLinks, csrf_ok, csrf_token
from bot.web.feed import WEB, WEB_CAPS, FeedTransport
from bot.web.files import disposition
from bot.web.links import guess_mime
from bot.web.pages import NO_STORE

if TYPE_CHECKING:
    from bot.hub import Hub

log = logging.getLogger(__name__)
# A same-origin Referrer-Policy: with "no-referrer" Chromium sends `Origin: null` on our POSTs.
HEADERS = {**NO_STORE, "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY",
           "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'self';"
                                      " form-action 'self'; frame-ancestors 'none'"}
STATUSES = ("not_started", "in_progress", "returned", "submitted", "edited")
SORTS = ("code", "name", "status", "answered", "activity", "reminders")
ONCE_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MAX_UPLOAD = 25 * 1024 * 1024
REPLY_WAIT = 5.0  # seconds an action waits for its reply to land on the page
ACTIONS = {"remind": "/remind", "compile": "/compile", "export": "/export", "close": "/close",
           "invites": "/invites"}
CLOSED_SHOWN = 5
FEED_SHOWN = 15  # the page's latest messages shown


def environment() -> Environment:
    """Return the Jinja2 environment of templates/web (autoescaped, Vietnamese filters)."""
    env = Environment(loader=FileSystemLoader(templates_dir() / "web"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(vn_int=texts.vn_int, vn_dec=texts.vn_dec, vn_date=texts.vn_date,
                       hm=texts.hm, size=texts.file_size,
                       status=lambda s: texts.render(f"status.{s}"), channel=channel_name)
    return env


def time_left(deadline: datetime, now: datetime) -> dict[str, Any]:
    """Return the time to a deadline in days, hours and minutes (and whether it is past)."""
    seconds = int((deadline - now).total_seconds())
    past = seconds < 0
    seconds = abs(seconds)
    return {"past": past, "days": seconds // 86400, "hours": seconds % 86400 // 3600,
            "minutes": seconds % 3600 // 60}


class Site:
    """The routes of the coordinators' web page, on the bot's one HTTP server."""

    def __init__(self, hub: Hub, links: LoginLinks, feed: FeedTransport,
                 clock: Callable[[], datetime]) -> None:
        self.hub = hub
        self.store = hub.store
        self.links = links
        self.feed = feed
        self.clock = clock
        self.env = environment()
        self.origin = _origin(links.public_url)
        # The page's own path under the public URL ("/rb" behind a proxy at <host>/rb/): every
        # link and redirect starts with it; the proxy hands the server paths without it.
        self.base = urlsplit(links.public_url).path.rstrip("/")
        self.env.globals["base"] = self.base

    def routes(self) -> list[Route]:
        """Return every route of the page."""
        return [
            Route("/static/style.css", self.style, methods=["GET"]),
            Route("/login/{token}", self.login, methods=["GET", "POST"]),
            Route("/logout", self.guarded(self.logout), methods=["POST"]),
            Route("/", self.guarded(self.home), methods=["GET"]),
            Route("/new", self.guarded(self.new_round), methods=["POST"]),
            Route("/round/{id:int}", self.guarded(self.round_page), methods=["GET"]),
            Route("/round/{id:int}/chart.png", self.guarded(self.chart), methods=["GET"]),
            Route("/round/{id:int}/do/{action}", self.guarded(self.act), methods=["POST"]),
            Route("/round/{id:int}/unit/{code}", self.guarded(self.unit_page), methods=["GET"]),
            Route("/round/{id:int}/unit/{code}/report.docx", self.guarded(self.unit_docx),
                  methods=["GET"]),
            Route("/round/{id:int}/unit/{code}/return", self.guarded(self.return_unit),
                  methods=["POST"]),
            Route("/round/{id:int}/unit/{code}/file/{n:int}", self.guarded(self.unit_file),
                  methods=["GET"]),
            Route("/feed/{entry:int}", self.guarded(self.feed_file), methods=["GET"]),
        ]

    # rendering ----------------------------------------------------------------------------

    def html(self, name: str, http_status: int = 200, /, **context: Any) -> HTMLResponse:
        """Return the page templates/web/<name>.html."""
        text = self.env.get_template(f"{name}.html").render(**context)
        return HTMLResponse(text, status_code=http_status, headers=HEADERS)

    def redirect(self, path: str) -> RedirectResponse:
        """Return a 303 to one of the page's paths (under the public URL's own path)."""
        return RedirectResponse(f"{self.base}{path}", status_code=303, headers=NO_STORE)

    def refusal(self, name: str, status: int) -> HTMLResponse:
        """Return a short page saying why not (templates/web/refused.html)."""
        return self.html("refused", status, reason=name, owner=None)

    async def style(self, _request: Request) -> Response:
        """Serve the one stylesheet."""
        return FileResponse(templates_dir() / "web" / "style.css", media_type="text/css",
                            headers={"Cache-Control": "max-age=3600",
                                     "X-Content-Type-Options": "nosniff"})

    # signing in ---------------------------------------------------------------------------

    async def login(self, request: Request) -> Response:
        """GET: the "Đăng nhập" button; POST (same site only): spend the link, sign in."""
        token = str(request.path_params["token"])
        if request.method == "GET":
            found = await self.links.login(token)
            if found.outcome != "ok":
                return self.refusal(f"login_{found.outcome}", _login_status(found.outcome))
            return self.html("login", token=token, owner=None)
        if not self.same_site(request):
            return self.refusal("cross_site", 403)
        found, cookie = await self.links.spend(token)
        if found.outcome != "ok":
            return self.refusal(f"login_{found.outcome}", _login_status(found.outcome))
        response = self.redirect("/")
        response.set_cookie(COOKIE, cookie, max_age=int(SESSION_TTL.total_seconds()),
                            path=self.base or "/",
                            httponly=True, samesite="strict", secure=self.links.secure)
        return response

    async def logout(self, request: Request, owner: str) -> Response:
        """End this session (Đăng xuất)."""
        await self.links.end(request.cookies.get(COOKIE, ""))
        response = self.html("refused", 200, reason="signed_out", owner=None)
        response.delete_cookie(COOKIE, path=self.base or "/", httponly=True, samesite="strict",
                               secure=self.links.secure)
        return response

    def same_site(self, request: Request) -> bool:
        """Return whether a POST comes from our own pages (Origin, else Sec-Fetch-Site)."""
        origin = request.headers.get("origin")
        if origin is not None and origin != "null":
            return origin == self.origin or origin == _origin(str(request.base_url))
        # neither header: not known to be ours, refused (every browser sends one of them)
        return request.headers.get("sec-fetch-site", "") in ("same-origin", "none")

    def guarded(self, endpoint: Callable[..., Awaitable[Response]]
                ) -> Callable[[Request], Awaitable[Response]]:
        """Return the endpoint behind the session check (and, for a POST, the CSRF check)."""

        async def checked(request: Request) -> Response:
            cookie = request.cookies.get(COOKIE, "")
            owner = await self.links.session(cookie)
            if owner is None:
                return self.refusal("signed_out_needed", 401)
            if request.method == "POST":
                declared = request.headers.get("content-length", "")
                if not declared.isdigit() or int(declared) > MAX_UPLOAD:
                    return self.refusal("too_large", 413)  # unread
                form = await request.form(max_files=1, max_fields=200, max_part_size=MAX_UPLOAD)
                request.state.form = form
                given = form.get("csrf")
                if not self.same_site(request) or not isinstance(given, str) \
                        or not csrf_ok(cookie, given):
                    return self.refusal("csrf", 403)
            request.state.csrf = csrf_token(cookie)
            return await endpoint(request, owner)

        return checked

    def context(self, request: Request, owner: str, **more: Any) -> dict[str, Any]:
        """Return what every signed-in page needs: who, the CSRF token, a fresh form key."""
        channel, _, user = owner.partition(":")
        return {"owner": {"channel": channel, "id": user}, "csrf": request.state.csrf,
                "once": secrets.token_urlsafe(16), "now": self.clock(), **more}

    # reading ------------------------------------------------------------------------------

    async def home(self, request: Request, owner: str) -> Response:
        """The open rounds and the latest closed ones."""
        summaries = await self.store.campaigns()
        open_rounds = [s for s in summaries if s.status == "open"]
        closed = sorted((s for s in summaries if s.status != "open"), key=lambda s: -s.id)
        return self.html("home", **self.context(
            request, owner, open_rounds=sorted(open_rounds, key=lambda s: s.deadline),
            closed=closed[:CLOSED_SHOWN], feed=self.feed_view(owner)))

    async def campaign_or_none(self, request: Request) -> Campaign | None:
        """Return the round named in the path."""
        return await self.store.campaign(int(request.path_params["id"]))

    async def round_page(self, request: Request, owner: str) -> Response:
        """A round: chart, deadline and time left, the unit table (filtered, sorted), actions."""
        campaign = await self.campaign_or_none(request)
        if campaign is None:
            return self.refusal("no_round", 404)
        spec = campaign.spec
        table = await unit_table(self.store, campaign)
        groups = {u.code: u.group for u in spec.units}
        contacts: dict[str, list[RoundContact]] = {}
        for contact in await self.store.web.round_contacts(campaign.id):
            contacts.setdefault(contact.unit_code, []).append(contact)
        activity = await self.store.web.last_activity(campaign.id)
        reminders = Counter(code for code, _contact, _slot
                            in await self.store.reminders_sent(campaign.id))
        rows: list[dict[str, Any]] = []
        for row in table:
            rows.append({"row": row, "group": groups.get(row.code),
                         "contacts": contacts.get(row.code, []),
                         "activity": activity.get(row.code),
                         "reminders": reminders.get(row.code, 0)})
        status = request.query_params.get("status", "")
        group = request.query_params.get("group", "")
        shown = [r for r in rows if (not status or r["row"].status == status)
                 and (not group or r["group"] == group)]
        sort = request.query_params.get("sort", "code")
        sort = sort if sort in SORTS else "code"
        descending = request.query_params.get("desc") == "1"
        shown.sort(key=_sort_key(sort, spec), reverse=descending)
        counts = Counter(r.status for r in table)
        return self.html("round", **self.context(
            request, owner, campaign=campaign, rows=shown, total=len(rows),
            reported=sum(r.status in REPORTED for r in table), counts=counts,
            statuses=STATUSES, groups=sorted({g for g in groups.values() if g}),
            status=status, group=group, sort=sort, desc=descending,
            left=time_left(spec.deadline, self.clock()), feed=self.feed_view(owner),
            done=request.query_params.get("done", "")))

    async def chart(self, request: Request, owner: str) -> Response:
        """The progress chart of a round (submitted / in progress / not started, by group)."""
        campaign = await self.campaign_or_none(request)
        if campaign is None:
            return self.refusal("no_round", 404)
        table = await unit_table(self.store, campaign)
        groups = {u.code: u.group for u in campaign.spec.units}
        note = texts.render("chart.progress_note", date=texts.vn_date(self.clock()),
                            reported=sum(r.status in REPORTED for r in table), total=len(table))
        chart = await asyncio.to_thread(progress_chart,
                                        [(groups.get(r.code), r.status) for r in table], note)
        return Response(chart.png, media_type="image/png", headers=NO_STORE)

    async def unit_page(self, request: Request, owner: str) -> Response:
        """A unit's sheet: every answer as the report shows it, its history, its contacts."""
        found = await self.unit_sheet(request)
        if isinstance(found, Response):
            return found
        campaign, unit, sheet = found
        questions = campaign.spec.questionnaire.questions
        answers = [{"question": q, "heading": question_heading(q),
                    "value": format_value(q, sheet.answers[q.id])
                    if q.id in sheet.answers else None} for q in questions]
        contacts = [c for c in await self.store.web.round_contacts(campaign.id)
                    if c.unit_code == unit.code]
        history = await history_rows(self.store, campaign, unit.code, "plain")
        files = [{"n": n, "name": e.name, "size": e.size, "ask": question_heading(e.question),
                  "kept": path is not None} for n, (e, path) in enumerate(
                      self.evidence(campaign, unit.code, sheet.answers))]
        return self.html("unit", **self.context(
            request, owner, campaign=campaign, unit=unit, sheet=sheet, answers=answers,
            questions=questions, contacts=contacts, history=list(reversed(history)),
            files=files))

    async def unit_sheet(self, request: Request) -> tuple[Campaign, Unit, Sheet] | Response:
        """Return the round, unit and sheet a unit's URL names, or the 404 page."""
        campaign = await self.campaign_or_none(request)
        unit = _unit(campaign, str(request.path_params["code"]))
        if campaign is None or unit is None:
            return self.refusal("no_unit", 404)
        sheet = next((s for s in await self.store.sheets(campaign.id) if s.code == unit.code),
                     None)
        if sheet is None:
            return self.refusal("no_unit", 404)
        return campaign, unit, sheet

    def evidence(self, campaign: Campaign, code: str,
                 answers: dict[str, Any]) -> list[tuple[Evidence, Path | None]]:
        """Return a unit's evidence files, each with where it is kept (None: gone)."""
        return EvidenceStore(self.hub.settings.data_dir).unit_files(
            code, campaign.spec.questionnaire.questions, answers)

    async def unit_file(self, request: Request, owner: str) -> Response:
        """One of a unit's evidence files, under the name its contact gave it."""
        found = await self.unit_sheet(request)
        if isinstance(found, Response):
            return found
        campaign, unit, sheet = found
        files = self.evidence(campaign, unit.code, sheet.answers)
        n = int(request.path_params["n"])
        if not 0 <= n < len(files) or files[n][1] is None:
            return self.refusal("no_file", 404)
        item, path = files[n]
        assert path is not None
        return _file(path, item.name)

    async def unit_docx(self, request: Request, owner: str) -> Response:
        """The unit's own report as the contact gets it (.docx, written now)."""
        campaign = await self.campaign_or_none(request)
        unit = _unit(campaign, str(request.path_params["code"]))
        if campaign is None or unit is None:
            return self.refusal("no_unit", 404)
        sheets = await self.store.sheets(campaign.id)
        folder = Path(tempfile.mkdtemp(prefix="unit-", dir=self.hub.coordinator.data_dir))
        path = await asyncio.to_thread(write_unit_report, campaign.spec, sheets, self.clock(),
                                       unit.code, folder / f"{unit.code}.docx")
        response = _file(path, f"{unit.code}.docx")
        # written for this answer only: removed once sent (a page fetch leaves nothing behind)
        response.background = BackgroundTask(shutil.rmtree, folder, ignore_errors=True)
        return response

    async def feed_file(self, request: Request, owner: str) -> Response:
        """A file the bot delivered to this coordinator's page (a compile's, an export's)."""
        entry = self.feed.find(owner, int(request.path_params["entry"]))
        if entry is None or entry.document is None or not entry.document.is_file():
            return self.refusal("no_file", 404)
        return _file(entry.document, entry.document.name)

    def feed_view(self, owner: str) -> list[dict[str, Any]]:
        """Return the latest messages on this coordinator's page, oldest first (as in chat)."""
        return [{"id": e.id, "at": e.at, "text": Markup(e.text),  # rendered by us, escaped
                 "document": e.document.name if e.document else None}
                for e in reversed(self.feed.recent(owner)[:FEED_SHOWN])]

    # acting -------------------------------------------------------------------------------

    async def command(self, request: Request, owner: str, text: str,
                      campaign_id: int | None = None, upload: Upload | None = None,
                      picked: tuple[list[str], str] | None = None) -> list[Outgoing] | None:
        """Run a coordinator's command from this page's chat, exactly once per form; wait
        until its replies are on the page. None: the form's key is missing or malformed."""
        once = request.state.form.get("once")
        if not isinstance(once, str) or not ONCE_RE.match(once):
            return None
        incoming = Incoming(WEB, owner, user_id=owner, text=text, message_id=f"page:{once}")
        before = self.feed.count(owner)
        made = await self.hub.coordinator.handle(incoming, WEB_CAPS, upload, campaign_id, picked)
        mine = [m for m in made if m.channel == WEB and m.chat_id == owner
                and not m.extra.get(TASK) and (m.text or m.document)]
        if mine and not await self.feed.wait(owner, before + len(mine), REPLY_WAIT):
            log.warning("web: the replies of %s are late", text.split()[0])
        return made

    async def act(self, request: Request, owner: str) -> Response:
        """Remind, compile, export, close or new invites: the chat command for this round."""
        action = str(request.path_params["action"])
        campaign = await self.campaign_or_none(request)
        if action not in ACTIONS:
            return self.refusal("no_action", 404)
        if campaign is None:
            return self.refusal("no_round", 404)
        made = await self.command(request, owner, ACTIONS[action], campaign.id)
        if made is None:
            return self.refusal("csrf", 403)
        return self.redirect(f"/round/{campaign.id}?done={action}#feed")

    async def return_unit(self, request: Request, owner: str) -> Response:
        """Send a unit's sheet back with a reason and the questions picked."""
        campaign = await self.campaign_or_none(request)
        unit = _unit(campaign, str(request.path_params["code"]))
        if campaign is None or unit is None:
            return self.refusal("no_unit", 404)
        form = request.state.form
        reason = str(form.get("reason") or "").strip()
        qids = [str(q) for q in form.getlist("question")]
        made = await self.command(request, owner, f"/return {unit.code}", campaign.id,
                                  picked=(qids, reason))
        if made is None:
            return self.refusal("csrf", 403)
        return self.redirect(f"/round/{campaign.id}?done=return#feed")

    async def new_round(self, request: Request, owner: str) -> Response:
        """Create a round from an uploaded campaign file (its problems shown, nothing made)."""
        sent = request.state.form.get("file")
        if not isinstance(sent, UploadFile) or not sent.filename:
            return self.redirect("/?done=nofile#feed")
        upload = Upload(sent.filename, await sent.read())
        made = await self.command(request, owner, "/new", upload=upload)
        if made is None:
            return self.refusal("csrf", 403)
        created = next((m.extra["campaign"] for m in made
                        if m.extra.get(TASK) == "open_round"), None)
        target = f"/round/{created}?done=new" if created else "/?done=new"
        return self.redirect(f"{target}#feed")


def _origin(url: str) -> str:
    """Return scheme://host[:port] of a URL as a browser's Origin says it (no default port)."""
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address
    port = parts.port
    default = {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{host}" if port is None or port == default else f"{scheme}://{host}:{port}"


def _login_status(outcome: str) -> int:
    return 404 if outcome == "unknown" else 410


def _unit(campaign: Campaign | None, code: str) -> Any:
    if campaign is None:
        return None
    return next((u for u in campaign.spec.units if u.code.upper() == code.upper()), None)


def _sort_key(sort: str, spec: Any) -> Callable[[dict[str, Any]], Any]:
    order = {u.code: i for i, u in enumerate(spec.units)}
    statuses = {s: i for i, s in enumerate(STATUSES)}
    keys: dict[str, Callable[[dict[str, Any]], Any]] = {
        "code": lambda r: order.get(r["row"].code, 0),
        "name": lambda r: r["row"].name.casefold(),
        "status": lambda r: (statuses.get(r["row"].status, 0), order.get(r["row"].code, 0)),
        "answered": lambda r: (r["row"].answered / max(r["row"].total, 1), r["row"].answered),
        "activity": lambda r: r["activity"].timestamp() if r["activity"] else 0.0,
        "reminders": lambda r: r["reminders"],
    }
    return keys[sort]


def _file(path: Path, filename: str) -> Response:
    return FileResponse(path, media_type=guess_mime(filename),
                        headers={**NO_STORE, "Content-Disposition": disposition(filename)})
