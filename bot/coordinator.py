"""Coordinator commands in chat (/new, /status, /invites, …), free of any platform.

A channel checks who may use them (`is_coordinator_command`) and passes the attached file, if
any (an Upload, loaded by bot/campaign_upload.py in a worker thread); this module answers with
Outgoing messages, including the first question for contacts who were bound to a unit in an
earlier round.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot import texts
from bot.campaign_upload import Upload, load_upload
from bot.channels.base import Capabilities, Incoming, Outgoing
from bot.compile import summary_message
from bot.engine import Engine, split_command
from bot.export import export
from bot.file_checks import CampaignFileError
from bot.model import REPORTED, Campaign, Invite, UnitProgress
from bot.outputs import write_outputs, write_unit_report
from bot.store import Store

if TYPE_CHECKING:
    from bot.sweep import Sweeper

log = logging.getLogger(__name__)
READ_ONLY = frozenset({"status", "compile", "export"})  # also on a closed round
COMMANDS = frozenset({"new", "status", "invites", "compile", "export", "remind", "return", "close"})
NOT_YET: frozenset[str] = frozenset()


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
                 invite_url: Callable[[str], str | None], data_dir: Path) -> None:
        self.store = store
        self.engine = engine
        self.tz = tz
        self.invite_url = invite_url
        self.data_dir = data_dir
        self.sweeper: Sweeper | None = None  # set by a channel that can send reminders

    async def handle(self, incoming: Incoming, caps: Capabilities,
                     upload: Upload | None = None) -> list[Outgoing]:
        """Run one command (or a campaign file sent with /new) and return every message."""
        command, arg = split_command(incoming.text)
        if upload is not None or command == "new":
            return await self.new(incoming, caps, upload)
        if command in NOT_YET:
            return [self.reply(incoming, caps, "coordinator.not_yet", command=command)]
        campaign = await self.campaign(arg, closed_too=command in READ_ONLY)
        if campaign is None:
            return [self.reply(incoming, caps, "coordinator.no_campaign")]
        if campaign.status == "closed" and command not in READ_ONLY:
            return [self.reply(incoming, caps, "coordinator.round_closed", campaign=campaign)]
        if command == "invites":
            invites = await self.store.regenerate_invites(campaign.id)
            return [self.invites(incoming, caps, campaign, invites, "coordinator.invites_new")]
        if command == "compile":
            return await self.compile(campaign, [incoming.chat_id], incoming.channel, caps)
        if command == "export":
            return await self.export(campaign, incoming, caps)
        if command == "remind":
            count = 0 if self.sweeper is None else await self.sweeper.remind_now(
                campaign, self.engine.clock())
            return [self.reply(incoming, caps, "coordinator.reminded", count=count)]
        if command == "return":
            return await self.return_unit(campaign, incoming, caps, arg)
        if command == "close":
            return await self.close(campaign, incoming, caps)
        table = await unit_table(self.store, campaign)
        return [self.reply(incoming, caps, "coordinator.status", campaign=campaign, rows=table,
                           reported=sum(r.status in REPORTED for r in table))]

    def folder(self, campaign: Campaign) -> Path:
        """Return a new folder for this round's outputs."""
        stamp = self.engine.clock().astimezone(self.tz).strftime("%Y%m%d-%H%M%S-%f")
        return self.data_dir / "outputs" / f"dot-{campaign.id}" / stamp

    async def compile(self, campaign: Campaign, chats: list[str], channel: str,
                      caps: Capabilities, folder: Path | None = None) -> list[Outgoing]:
        """Compile a round: the summary message, the .docx and the .xlsx to every chat given.

        A compile that fails reaches every chat as a message saying so, never as silence.
        """
        try:
            sheets = await self.store.sheets(campaign.id)
            report, paths = await asyncio.to_thread(
                write_outputs, campaign.spec, sheets, self.engine.clock(),
                folder or self.folder(campaign), False)
        except Exception as error:
            return self.failed(campaign, chats, channel, caps, error)
        parts = summary_message(report, caps.format, caps.max_length)
        files = [p for p in paths if p.suffix in (".docx", ".xlsx")]
        replies = []
        for chat in chats:
            replies += [Outgoing(chat, part, channel=channel) for part in parts]
            replies += self.files(chat, channel, caps, files)
        return replies

    async def export(self, campaign: Campaign, incoming: Incoming,
                     caps: Capabilities) -> list[Outgoing]:
        """Send the data of a round as .xlsx and .csv."""
        try:
            sheets = await self.store.sheets(campaign.id)
            paths = await asyncio.to_thread(export, campaign.spec, sheets, self.folder(campaign))
        except Exception as error:
            return self.failed(campaign, [incoming.chat_id], incoming.channel, caps, error)
        return self.files(incoming.chat_id, incoming.channel, caps, list(paths))

    def failed(self, campaign: Campaign, chats: list[str], channel: str, caps: Capabilities,
               error: Exception) -> list[Outgoing]:
        """Log a failed compile or export and tell every chat that asked for it."""
        log.error("round %s: compile failed", campaign.id, exc_info=error)
        text = texts.render("coordinator.compile_failed", caps.format, title=campaign.spec.title,
                            detail=f"{type(error).__name__}: {error}")
        return [Outgoing(chat, text, channel=channel) for chat in chats]

    def files(self, chat: str, channel: str, caps: Capabilities, paths: list[Path]
              ) -> list[Outgoing]:
        """Return documents, or where they were saved when the channel cannot carry files."""
        if caps.documents:
            return [Outgoing(chat, "", document=path, channel=channel) for path in paths]
        text = texts.render("coordinator.files_saved", caps.format, paths=[str(p) for p in paths])
        return [Outgoing(chat, text, channel=channel)]

    async def on_submitted(self, reply: Outgoing, caps: Capabilities,
                           coordinators: list[str]) -> list[Outgoing]:
        """After a unit submits: its own report to the contact; a full compile when all have."""
        campaign = await self.store.campaign(int(reply.extra["campaign"]))
        if campaign is None:
            return []
        code, now = reply.extra["unit"], self.engine.clock()
        sheets = await self.store.sheets(campaign.id)
        try:
            path = await asyncio.to_thread(write_unit_report, campaign.spec, sheets, now, code,
                                           self.folder(campaign) / f"{code}.docx")
            replies = self.files(reply.chat_id, reply.channel, caps, [path])
        except Exception as error:  # the answers are submitted; only the file is missing
            log.error("round %s: report of %s failed", campaign.id, code, exc_info=error)
            replies = [Outgoing(reply.chat_id, texts.render("coordinator.unit_report_failed",
                                                            caps.format), channel=reply.channel)]
        if all(sheet.status in ("submitted", "edited") for sheet in sheets) and coordinators:
            replies += await self.compile(campaign, coordinators, reply.channel, caps)
        return replies

    async def return_unit(self, campaign: Campaign, incoming: Incoming, caps: Capabilities,
                          arg: str) -> list[Outgoing]:
        """/return UNIT reason [question ids]: send a sheet back for correction."""
        words = arg.split()
        codes = {u.code.upper(): u for u in campaign.spec.units}
        unit = codes.get(words[0].upper()) if words else None
        if unit is None:
            return [self.reply(incoming, caps, "coordinator.return_how",
                               codes=", ".join(codes))]
        known = {q.id for q in campaign.spec.questionnaire.questions}
        qids = [w for w in words[1:] if w in known]
        reason = " ".join(w for w in words[1:] if w not in known).strip()
        await self.store.return_unit(campaign.id, unit.code, qids, self.engine.clock())
        asks = [campaign.spec.questionnaire.get(q).ask for q in qids]
        replies = [self.reply(incoming, caps, "coordinator.returned", unit=unit.name,
                              reason=reason, asks=asks)]
        for contact in await self.store.bound_contacts(campaign.id):
            if contact.unit_code != unit.code:
                continue
            notice = texts.render("coordinator.returned_contact", caps.format, reason=reason,
                                  asks=asks, title=campaign.spec.title)
            replies.append(Outgoing(contact.chat_id, notice, channel=contact.channel))
            opened = Incoming(contact.channel, contact.chat_id, user_id=contact.user_id)
            replies += await self.engine.handle(opened, caps, campaign.id)
        return replies

    async def close(self, campaign: Campaign, incoming: Incoming,
                    caps: Capabilities) -> list[Outgoing]:
        """/close: no more edits; contacts are told; a final compile is kept and sent."""
        await self.store.set_campaign_status(campaign.id, "closed")
        closed = await self.store.campaign(campaign.id)
        assert closed is not None
        replies = [self.reply(incoming, caps, "coordinator.closed", campaign=closed)]
        for contact in await self.store.bound_contacts(campaign.id):
            notice = texts.render("coordinator.closed_contact", caps.format,
                                  title=campaign.spec.title)
            replies.append(Outgoing(contact.chat_id, notice, channel=contact.channel))
        return replies + await self.compile(closed, [incoming.chat_id], incoming.channel, caps,
                                            folder=self.data_dir / "outputs"
                                            / f"dot-{campaign.id}" / "final")

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
            return [self.reply(incoming, caps, "coordinator.new_how")]
        try:
            spec = await asyncio.to_thread(load_upload, upload, self.tz,
                                           self.data_dir / "templates")
        except CampaignFileError as error:
            return [self.reply(incoming, caps, "coordinator.new_invalid", file=upload.name,
                               problems=error.lines(caps.format))]
        campaign_id, invites = await self.store.create_campaign(spec, self.engine.clock())
        campaign = await self.store.campaign(campaign_id)
        assert campaign is not None
        replies = [self.invites(incoming, caps, campaign, invites, "coordinator.created")]
        for contact in await self.store.bound_contacts(campaign_id):
            opened = Incoming(contact.channel, contact.chat_id, user_id=contact.user_id)
            replies += await self.engine.handle(opened, caps, campaign_id)
        return replies

    def invites(self, incoming: Incoming, caps: Capabilities, campaign: Campaign,
                invites: list[Invite], key: str) -> Outgoing:
        """Return the message listing one invite link per unit."""
        rows = [{"code": i.code, "name": i.name, "token": i.token, "url": self.invite_url(i.token)}
                for i in invites]
        return self.reply(incoming, caps, key, campaign=campaign, rows=rows)

    def reply(self, incoming: Incoming, caps: Capabilities, key: str, **context: Any) -> Outgoing:
        """Return one rendered message to the coordinator's chat."""
        text = texts.render(key, caps.format, **context)
        return Outgoing(incoming.chat_id, text, channel=incoming.channel)
