"""Coordinator commands in chat (/new, /status, /invites, …), free of any platform.

A channel checks who may use them (`is_coordinator_command`) and passes the attached file, if
any (an Upload, loaded by bot/campaigns/upload.py in a worker thread); this module answers with
Outgoing messages, including the first question for contacts who were bound to a unit in an
earlier round.

With a durable engine, a command that carries its update key is exactly once: a redelivered
command does nothing, and every change (a round created, invites regenerated, a unit returned, a
round closed) is written in one transaction with that key and every message it owes. Slow or
follow-up work (a compile, an export, a contact's first question) is owed as a task row that
the outbox sender runs in its turn (bot/followups.py).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import tzinfo
from pathlib import Path
from sqlite3 import Connection
from typing import TYPE_CHECKING, Any

from bot import texts
from bot.campaigns.checks import CampaignFileError
from bot.campaigns.upload import Upload, load_upload
from bot.channels.base import Capabilities, Incoming, Outgoing
from bot.deliveries import Deliveries
from bot.display import format_value
from bot.engine import Engine, split_command
from bot.invites import Way
from bot.model import REPORTED, Campaign, Invite, Quota, UnitProgress
from bot.store import AlreadyProcessed, Owing, Store
from bot.store.outbox import TASK, secret, task
from bot.store.owing import log_reminder
from bot.store.web import end_sessions
from bot.texts import Format

if TYPE_CHECKING:
    from bot.followups import FollowUps
    from bot.sweep import Sweeper

log = logging.getLogger(__name__)
READ_ONLY = frozenset({"status", "compile", "export", "history"})  # also on a closed round
COMMANDS = frozenset({"new", "status", "invites", "compile", "export", "remind", "return", "close",
                      "history"})
NOT_YET: frozenset[str] = frozenset()


async def history_rows(store: Store, campaign: Campaign, code: str,
                       fmt: Format) -> list[dict[str, Any]]:
    """Return every stored change of a unit's answers, oldest first: when, which question,
    old → new value as the report shows it, and who (a contact's name, or a coordinator)."""
    entries = await store.history(campaign.id, code)
    names = await store.contact_names([e.contact_id for e in entries
                                       if e.contact_id is not None])
    questionnaire = campaign.spec.questionnaire
    known = {q.id for q in questionnaire.questions}
    last: dict[str, str] = {}
    rows = []
    for entry in entries:
        qid = entry.question_id
        question = questionnaire.get(qid) if qid in known else None
        new = format_value(question, entry.value) if question else str(entry.value)
        who = names.get(entry.contact_id) if entry.contact_id is not None else None
        rows.append({"at": entry.at, "ask": question.ask if question else qid,
                     "old": last.get(qid), "new": new,
                     "who": who or texts.render("coordinator.history_someone", fmt)
                     if entry.contact_id is not None
                     else texts.render("coordinator.history_coordinator", fmt)})
        last[qid] = new
    return rows


def channel_name(channel: str) -> str:
    """Return a channel's name as people read it (its id when it has none: the demo's)."""
    key = f"channel_name.{channel}"
    return texts.render(key) if key in texts.catalogue().sources else channel


def is_coordinator_command(text: str | None) -> bool:
    """Return whether a message is one of the coordinators' commands."""
    return split_command(text)[0] in COMMANDS


async def unit_table(store: Store, campaign: Campaign) -> list[UnitProgress]:
    """Return every unit's status, answered/total and bound contacts."""
    contacts = await store.contact_counts(campaign.id)
    questionnaire = campaign.spec.questionnaire
    table = []
    for sheet in await store.sheets(campaign.id):
        answered, total = questionnaire.progress(sheet.answers)
        table.append(UnitProgress(sheet.code, sheet.name, sheet.status, answered, total,
                                  contacts.get(sheet.code, 0), sheet.submitted_at))
    return table


class Coordinator:
    """Answers coordinators' commands for one channel."""

    def __init__(self, store: Store, engine: Engine, tz: tzinfo,
                 invite_ways: Callable[[str], list[Way]], data_dir: Path) -> None:
        self.store = store
        self.engine = engine
        self.tz = tz
        self.invite_ways = invite_ways
        self.data_dir = data_dir
        self.sweeper: Sweeper | None = None  # set by a channel that can send reminders
        self.followups: FollowUps | None = None  # runs task rows; set by FollowUps itself
        self.caps_of: Callable[[str], Capabilities] | None = None  # set by the hub
        self.quotas: Callable[[], Awaitable[list[Quota]]] | None = None  # set by the hub
        self.deliveries = Deliveries(store, engine.clock, tz, data_dir)
        self.web_pages = False  # whether /web has a page to sign in to (set with the server)

    async def handle(self, incoming: Incoming, caps: Capabilities,
                     upload: Upload | None = None, campaign_id: int | None = None,
                     picked: tuple[list[str], str] | None = None) -> list[Outgoing]:
        """Run one command (or a campaign file sent with /new) and return every message.

        The web page names its round (`campaign_id`) and, for /return, the questions and the
        reason as picked on its form (`picked`), instead of words typed after the command.
        """
        if self.durable(incoming) and await self.store.outbox.processed(
                incoming.channel, str(incoming.message_id)):
            return []  # a redelivered command: what it owed is sent or still owed
        command, arg = split_command(incoming.text)
        if upload is not None or command == "new":
            return await self.new(incoming, caps, upload)
        if command == "web":
            return await self.web(incoming, caps, arg)
        if command in NOT_YET:
            return await self.owe(incoming, [self.reply(incoming, caps, "coordinator.not_yet",
                                                        command=command)], caps)
        campaign = await self.campaign(arg if campaign_id is None else str(campaign_id),
                                       closed_too=command in READ_ONLY)
        if campaign is None:
            return await self.owe(incoming, [self.reply(incoming, caps, "coordinator.no_campaign")],
                                  caps)
        if campaign.status == "closed" and command not in READ_ONLY:
            return await self.owe(incoming, [self.reply(incoming, caps, "coordinator.round_closed",
                                                        campaign=campaign)], caps)
        if command == "invites":
            return await self.new_invites(campaign, incoming, caps)
        if command in ("compile", "export"):
            work = task(incoming.channel, incoming.chat_id, command, campaign=str(campaign.id))
            return await self.owe(incoming, [work], caps)
        if command == "remind":
            return await self.remind(campaign, incoming, caps)
        if command == "return":
            return await self.return_unit(campaign, incoming, caps, arg, picked)
        if command == "close":
            return await self.close(campaign, incoming, caps)
        if command == "history":
            return await self.history(campaign, incoming, caps, arg)
        table = await unit_table(self.store, campaign)
        quotas = await self.quotas() if self.quotas is not None else []
        picture = await self.deliveries.progress(campaign, table, incoming.chat_id,
                                                 incoming.channel, caps)
        return await self.owe(incoming, [self.reply(
            incoming, caps, "coordinator.status", campaign=campaign, rows=table,
            reported=sum(r.status in REPORTED for r in table), quotas=quotas), *picture], caps)

    def caps_for(self, channel: str, fallback: Capabilities) -> Capabilities:
        """Return what a recipient's channel can carry (messages are rendered for it)."""
        return fallback if self.caps_of is None else self.caps_of(channel)

    def durable(self, incoming: Incoming) -> bool:
        """Return whether this command's messages go through the outbox, keyed by its update."""
        return self.engine.durable and incoming.message_id is not None

    def owing(self, incoming: Incoming, render: Callable[[Any], list[Outgoing]],
              made: list[Outgoing]) -> Owing | None:
        """Return what a change owes when durable: `render`'s messages, also kept in `made`."""
        if not self.durable(incoming):
            return None

        def rendered(result: Any) -> list[Outgoing]:
            made[:] = render(result)
            return made

        return Owing(incoming.channel, str(incoming.message_id), rendered)

    async def owe(self, incoming: Incoming, messages: list[Outgoing], caps: Capabilities,
                  also: Callable[[sqlite3.Connection], None] | None = None) -> list[Outgoing]:
        """Owe the messages of a command (durable; `also` writes what it logs in the same
        transaction), or run its tasks now."""
        if self.durable(incoming):
            fresh = await self.store.outbox.owe(
                f"{incoming.channel}:{incoming.message_id}", messages, self.engine.clock(),
                key=(incoming.channel, str(incoming.message_id)), also=also)
            return messages if fresh else []
        if also is not None:
            await self.store.transaction(also)
        return await self.expand(messages, caps)

    async def changed(self, incoming: Incoming, made: list[Outgoing], caps: Capabilities,
                      render: Callable[[Any], list[Outgoing]], result: Any) -> list[Outgoing]:
        """Return what a change owes: written with it when durable, else rendered and run now."""
        return made if self.durable(incoming) else await self.expand(render(result), caps)

    async def expand(self, messages: list[Outgoing], caps: Capabilities) -> list[Outgoing]:
        """Run the tasks among messages now (no outbox: the terminal, tests)."""
        if self.followups is None:
            from bot.followups import FollowUps

            FollowUps(self, [], lambda _channel: caps)
        assert self.followups is not None
        expanded: list[Outgoing] = []
        for message in messages:
            if message.extra.get(TASK):
                expanded += await self.expand(list(await self.followups.perform(
                    message.extra, message.channel, message.chat_id, None)), caps)
            else:
                expanded.append(message)
        return expanded

    async def new_invites(self, campaign: Campaign, incoming: Incoming,
                          caps: Capabilities) -> list[Outgoing]:
        """/invites: new tokens for every unit, once per command (the old ones stop working)."""
        made: list[Outgoing] = []

        def render(invites: list[Invite]) -> list[Outgoing]:
            return [secret(self.invites(incoming, caps, campaign, invites,
                                        "coordinator.invites_new"))]

        try:
            invites = await self.store.regenerate_invites(
                campaign.id, self.owing(incoming, render, made), self.engine.clock())
        except AlreadyProcessed:
            return []
        return await self.changed(incoming, made, caps, render, invites)

    async def remind(self, campaign: Campaign, incoming: Incoming,
                     caps: Capabilities) -> list[Outgoing]:
        """/remind: a reminder to every contact of every late unit now, and the count."""
        now = self.engine.clock()
        due = [] if self.sweeper is None else await self.sweeper.due_now(campaign, now)
        reminders = [message for _code, _contact_id, message in due]
        slot = f"now:{incoming.channel}:{incoming.message_id}"  # a redelivery logs nothing new

        def log(conn: sqlite3.Connection) -> None:  # counted with the scheduled ones
            for code, contact_id, _message in due:
                log_reminder(conn, (campaign.id, code, contact_id, slot), now)

        late = [r.code for r in await unit_table(self.store, campaign)
                if r.status not in REPORTED]
        unit_of = {(c.channel, c.chat_id): c.unit_code
                   for c in await self.store.bound_contacts(campaign.id)}
        reached: dict[str, set[str]] = {}
        for message in reminders:
            code = unit_of.get((message.channel, message.chat_id))
            if code is not None:
                reached.setdefault(message.channel, set()).add(code)
        units = set().union(*reached.values())
        channels = [{"name": channel_name(channel), "units": len(codes)}
                    for channel, codes in sorted(reached.items(), key=lambda kv: -len(kv[1]))]
        reply = self.reply(incoming, caps, "coordinator.reminded", count=len(reminders),
                           units=len(units), channels=channels,
                           unreached=[code for code in late if code not in units])
        return await self.owe(incoming, [*reminders, reply], caps, also=log)

    async def return_unit(self, campaign: Campaign, incoming: Incoming, caps: Capabilities,
                          arg: str, picked: tuple[list[str], str] | None = None
                          ) -> list[Outgoing]:
        """/return UNIT reason [question ids]: send a sheet back for correction (`picked`:
        the question ids and the reason chosen on the web page's form)."""
        words = arg.split()
        codes = {u.code.upper(): u for u in campaign.spec.units}
        unit = codes.get(words[0].upper()) if words else None
        if unit is None:
            return await self.owe(incoming, [self.reply(incoming, caps, "coordinator.return_how",
                                                        codes=", ".join(codes))], caps)
        known = {q.id for q in campaign.spec.questionnaire.questions}
        if picked is not None:
            qids, reason = [q for q in picked[0] if q in known], picked[1].strip()
        else:
            qids = [w for w in words[1:] if w in known]
            reason = " ".join(w for w in words[1:] if w not in known).strip()
        asks = [campaign.spec.questionnaire.get(q).ask for q in qids]
        contacts = [c for c in await self.store.bound_contacts(campaign.id)
                    if c.unit_code == unit.code]

        def render(_: object) -> list[Outgoing]:
            replies = [self.reply(incoming, caps, "coordinator.returned", unit=unit.name,
                                  reason=reason, asks=asks)]
            for contact in contacts:
                notice = texts.render("coordinator.returned_contact",
                                      self.caps_for(contact.channel, caps).format,
                                      reason=reason, asks=asks, title=campaign.spec.title)
                replies += [Outgoing(contact.chat_id, notice, channel=contact.channel),
                            task(contact.channel, contact.chat_id, "open",
                                 campaign=str(campaign.id))]
            return replies

        made: list[Outgoing] = []
        try:
            await self.store.return_unit(campaign.id, unit.code, qids, self.engine.clock(),
                                         self.owing(incoming, render, made))
        except AlreadyProcessed:
            return []
        return await self.changed(incoming, made, caps, render, None)

    async def history(self, campaign: Campaign, incoming: Incoming, caps: Capabilities,
                      arg: str) -> list[Outgoing]:
        """/history UNIT: every stored change of a unit's answers (who, when, old → new)."""
        words = arg.split()
        codes = {u.code.upper(): u for u in campaign.spec.units}
        listed = ", ".join(u.code for u in campaign.spec.units)
        if not words:
            reply = self.reply(incoming, caps, "coordinator.history_how", codes=listed)
            return await self.owe(incoming, [reply], caps)
        unit = codes.get(words[0].upper())
        if unit is None:
            reply = self.reply(incoming, caps, "coordinator.history_unknown", code=words[0],
                               campaign=campaign, codes=listed)
            return await self.owe(incoming, [reply], caps)
        rows = await history_rows(self.store, campaign, unit.code, caps.format)
        if not rows:
            reply = self.reply(incoming, caps, "coordinator.history_empty", unit=unit.name,
                               campaign=campaign)
            return await self.owe(incoming, [reply], caps)
        reply = self.reply(incoming, caps, "coordinator.history", unit=unit.name,
                           campaign=campaign, rows=rows)
        return await self.owe(incoming, [reply], caps)

    async def web(self, incoming: Incoming, caps: Capabilities, arg: str) -> list[Outgoing]:
        """/web: a one-time sign-in link to the web page (made when sent); /web off: end
        every session of this coordinator."""
        # the person, as in REPORTBOT_ADMINS (the chat would be a group's where they sent it)
        owner = f"{incoming.channel}:{incoming.user_id or incoming.chat_id}"
        if arg.strip().lower() == "off":
            now = self.engine.clock()
            reply = self.reply(incoming, caps, "coordinator.web_off")
            if not self.durable(incoming):
                await self.store.transaction(lambda conn: end_sessions(conn, owner, now))
                return [reply]

            def end(conn: Connection) -> None:
                end_sessions(conn, owner, now)

            fresh = await self.store.outbox.owe(
                f"{incoming.channel}:{incoming.message_id}", [reply], now,
                key=(incoming.channel, str(incoming.message_id)), also=end)
            return [reply] if fresh else []
        if not self.web_pages or not self.durable(incoming):
            return await self.owe(incoming, [self.reply(
                incoming, caps, "coordinator.web_unavailable")], caps)
        from bot.web.auth import login_message  # the HTTP server's modules: only when it runs

        return await self.owe(incoming, [login_message(incoming.chat_id, incoming.channel, caps)],
                              caps)

    async def close(self, campaign: Campaign, incoming: Incoming,
                    caps: Capabilities) -> list[Outgoing]:
        """/close: no more edits; contacts are told; a final compile is kept and sent."""
        contacts = await self.store.bound_contacts(campaign.id)

        def render(_: object) -> list[Outgoing]:
            replies = [self.reply(incoming, caps, "coordinator.closed", campaign=campaign)]
            for contact in contacts:
                notice = texts.render("coordinator.closed_contact",
                                      self.caps_for(contact.channel, caps).format,
                                      title=campaign.spec.title)
                replies.append(Outgoing(contact.chat_id, notice, channel=contact.channel))
            return [*replies, task(incoming.channel, incoming.chat_id, "compile",
                                   campaign=str(campaign.id), final="1")]

        made: list[Outgoing] = []
        try:
            await self.store.set_campaign_status(campaign.id, "closed",
                                                 self.owing(incoming, render, made),
                                                 self.engine.clock())
        except AlreadyProcessed:
            return []
        return await self.changed(incoming, made, caps, render, None)

    async def campaign(self, arg: str, closed_too: bool = False) -> Campaign | None:
        """Return the round named by number, else the newest open one (else, with `closed_too`,
        the newest one: /compile and /export right after /close work on the round just closed)."""
        if arg.strip().isdigit():
            campaign_id: int | None = int(arg)
        else:
            campaign_id = await self.store.latest_open_campaign()
            if campaign_id is None and closed_too:
                campaign_id = await self.store.newest_campaign()
        return None if campaign_id is None else await self.store.campaign(campaign_id)

    async def new(self, incoming: Incoming, caps: Capabilities,
                  upload: Upload | None) -> list[Outgoing]:
        """Create a round from an attached campaign file; invite units and bound contacts."""
        if upload is None:
            how = "coordinator.new_how" if caps.uploads else "coordinator.new_no_uploads"
            return await self.owe(incoming, [self.reply(incoming, caps, how)],
                                  caps)
        try:
            spec = await asyncio.to_thread(load_upload, upload, self.tz,
                                           self.data_dir / "templates")
        except CampaignFileError as error:
            return await self.owe(incoming, [self.reply(
                incoming, caps, "coordinator.new_invalid", file=upload.name,
                problems=error.lines(caps.format))], caps)
        now = self.engine.clock()

        def render(created: tuple[int, list[Invite]]) -> list[Outgoing]:
            campaign = Campaign(created[0], spec, "open", now)
            return [secret(self.invites(incoming, caps, campaign, created[1],
                                        "coordinator.created")),
                    task(incoming.channel, incoming.chat_id, "open_round",
                         campaign=str(created[0]))]

        made: list[Outgoing] = []
        try:
            created = await self.store.create_campaign(spec, now,
                                                       self.owing(incoming, render, made))
        except AlreadyProcessed:
            return []
        return await self.changed(incoming, made, caps, render, created)

    def invites(self, incoming: Incoming, caps: Capabilities, campaign: Campaign,
                invites: list[Invite], key: str) -> Outgoing:
        """Return the message listing, per unit, how its contacts bind on each channel."""
        rows = [{"code": i.code, "name": i.name, "ways": self.invite_ways(i.token)}
                for i in invites]
        return self.reply(incoming, caps, key, campaign=campaign, rows=rows)

    def reply(self, incoming: Incoming, caps: Capabilities, key: str, **context: Any) -> Outgoing:
        """Return one rendered message to the coordinator's chat."""
        text = texts.render(key, caps.format, **context)
        return Outgoing(incoming.chat_id, text, channel=incoming.channel)
