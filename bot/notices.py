"""The coordinators hear of each submit and each edit after it: batched when many come together.

A submit (or an edit of a reported sheet) owes a ``submitted`` task row, written in that step's
transaction (bot/store/steps.py). Run by the sender, the task records a pending notice, once per
task row, due a window after the submit (REPORTBOT_NOTICE_WINDOW, 2 minutes by default). When
the first pending notice is due, every pending notice is told in one message per coordinator
("📥 Đã nhận báo cáo của 5 đơn vị: …", "✏️ 2 đơn vị sửa báo cáo đã gửi: …"), written to the
outbox in the transaction that marks them told: a kill before it leaves them pending, a kill
after it leaves the message owed, so each is told once. A notice alone in its window reads as
one short line, as it did before batching. An edit is one line per unit naming every question
it changed in the window; an edit after a submit told in the same message is not told apart
(the coordinators read the report as it is then). A long batch is cut into parts under the channel's
limit at line breaks by the transport (bot/splitting.py), one unit per line.

A compile (the one that completes a round, ``round_complete``, and /compile, /close) first
tells whatever is pending, so the
coordinators read the submits before the consolidated report: also the submits whose task still
waits in their own chat (behind that unit's .docx), recorded then under their task row's key.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import groupby

from bot import texts
from bot.channels.base import Capabilities, Outgoing
from bot.model import Campaign
from bot.store import Store
from bot.store.notices import Notice

ONE = timedelta(microseconds=1)
WINDOW = 120.0  # seconds a notice waits for others to come with it (REPORTBOT_NOTICE_WINDOW)


@dataclass(frozen=True)
class Line:
    """One unit in a notice: its code and name, when, and (an edit) the questions changed."""

    code: str
    name: str
    at: datetime
    changed: tuple[str, ...] = ()


class Notices:
    """Records the notices of submits and edits, and tells the coordinators in batches."""

    def __init__(self, store: Store, coordinators: Sequence[tuple[str, str]],
                 caps_of: Callable[[str], Capabilities], window: float = WINDOW) -> None:
        self.store = store
        self.coordinators = list(coordinators)  # (channel, chat id)
        self.caps_of = caps_of
        self.window = timedelta(seconds=window)
        self._next: datetime | None = None  # when the first pending notice is due
        self._known = False  # whether `_next` is what the database says (else: look)
        self._lock = asyncio.Lock()

    async def record(self, params: Mapping[str, str], cause: str) -> None:
        """Record the notice a ``submitted`` task owes, once per cause (its task row)."""
        at = _moment(params["at"])
        due = at + self.window
        await self.store.notices.record(cause, int(params["campaign"]), params["unit"], at,
                                        _changed(params), due)
        if self._known:
            self._next = due if self._next is None else min(self._next, due)

    async def flush_due(self, now: datetime) -> float | None:
        """Tell every pending notice if the first of them is due; return the seconds until the
        next one is due (None: none is pending)."""
        if not self._known:
            self._next, self._known = await self.store.notices.next_due(), True
        if self._next is not None and self._next <= now:
            await self.flush(now)
        return None if self._next is None else max(0.0, (self._next - now).total_seconds())

    async def flush(self, now: datetime) -> int:
        """Tell every pending notice now, due or not; return how many were told."""
        async with self._lock:
            told: list[Notice] = []
            while True:
                pending = await self.store.notices.pending()
                messages: list[Outgoing] = []
                for campaign_id, group in groupby(sorted(pending, key=lambda n: n.campaign_id),
                                                  key=lambda n: n.campaign_id):
                    campaign = await self.store.campaign(campaign_id)
                    if campaign is not None:  # a round deleted meanwhile: nothing to tell
                        messages += self.messages(campaign, list(group))
                if await self.store.notices.owe(pending, messages, now):
                    told = pending
                    break
            self._next, self._known = await self.store.notices.next_due(), True
            return len(told)

    def messages(self, campaign: Campaign, notices: Sequence[Notice]) -> list[Outgoing]:
        """Return one message per coordinator telling a round's notices."""
        names = {u.code: u.name for u in campaign.spec.units}
        questionnaire = campaign.spec.questionnaire
        known = {q.id for q in questionnaire.questions}
        # one line per unit: a unit returned and submitted again in the window is told once,
        # at its last submit
        last: dict[str, Line] = {}
        for n in sorted((n for n in notices if not n.changed), key=lambda n: n.at):
            last.pop(n.unit, None)
            last[n.unit] = Line(n.unit, names.get(n.unit, n.unit), n.at)
        submitted = list(last.values())
        submits = {line.code: line.at for line in submitted}
        edits: dict[str, Line] = {}  # one line per unit: every question it changed, last time
        for notice in notices:
            if not notice.changed or submits.get(notice.unit, notice.at + ONE) <= notice.at:
                continue  # a submit, or an edit after a submit told here: read as it is now
            before = edits.get(notice.unit)
            changed = (*(before.changed if before else ()),
                       *(qid for qid in notice.changed
                         if before is None or qid not in before.changed))
            edits[notice.unit] = Line(notice.unit, names.get(notice.unit, notice.unit),
                                      notice.at, changed)
        edited = [Line(e.code, e.name, e.at,
                       tuple(_short(questionnaire.get(q).ask) if q in known else q
                             for q in e.changed)) for e in edits.values()]
        messages = []
        for channel, chat_id in self.coordinators:
            fmt = self.caps_of(channel).format
            if len(submitted) == 1 and not edited:
                line = submitted[0]
                text = texts.render("coordinator.submitted_notice", fmt, code=line.code,
                                    name=line.name, at=line.at, campaign=campaign)
            elif len(edited) == 1 and not submitted:
                line = edited[0]
                text = texts.render("coordinator.edited_notice", fmt, code=line.code,
                                    name=line.name, at=line.at, changed=list(line.changed),
                                    campaign=campaign)
            else:
                text = texts.render("coordinator.notices_batch", fmt, submitted=submitted,
                                    edited=edited, campaign=campaign)
            messages.append(Outgoing(chat_id, text, channel=channel))
        return messages


def notice_of(params: Mapping[str, str]) -> Notice:
    """Return the notice a ``submitted`` task's parameters describe (told at once, no batch)."""
    return Notice(0, int(params["campaign"]), params["unit"], _moment(params["at"]),
                  _changed(params))


def _moment(text: str) -> datetime:
    at = datetime.fromisoformat(text)
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def _changed(params: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(filter(None, params.get("changed", "").split(",")))


def _short(text: str, limit: int = 50) -> str:
    """Return a question's wording cut to one short line."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"
