"""Coordinator commands in chat (/new, /status, /invites, …), free of any platform.

A channel checks who may use them (`is_coordinator_command`) and passes the attached file's
bytes, if any; this module answers with Outgoing messages, including the first question for
contacts who were bound to a unit in an earlier round.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import Any

from bot import texts
from bot.campaign_file import (
    CampaignFileError,
    CampaignSpec,
    Problem,
    load_campaign,
    load_campaign_text,
)
from bot.channels.base import Capabilities, Incoming, Outgoing
from bot.engine import Engine, split_command
from bot.model import Campaign, Invite
from bot.store import Store

COMMANDS = frozenset({"new", "status", "invites", "compile", "export", "remind", "return", "close"})
NOT_YET = frozenset({"compile", "export", "remind", "return", "close"})
MAX_FILE_BYTES = 2_000_000


def is_coordinator_command(text: str | None) -> bool:
    """Return whether a message is one of the coordinators' commands."""
    return split_command(text)[0] in COMMANDS


@dataclass(frozen=True)
class Upload:
    """A file a coordinator attached."""

    name: str
    data: bytes


async def unit_table(store: Store, campaign: Campaign) -> list[dict[str, Any]]:
    """Return every unit's status, answered/total and bound contacts."""
    contacts = await store.contact_counts(campaign.id)
    questionnaire = campaign.spec.questionnaire
    table = []
    for sheet in await store.sheets(campaign.id):
        answered, total = questionnaire.progress(sheet.answers)
        table.append({"code": sheet.code, "name": sheet.name, "status": sheet.status,
                      "answered": answered, "total": total,
                      "contacts": contacts.get(sheet.code, 0)})
    return table


class Coordinator:
    """Answers coordinators' commands for one channel."""

    def __init__(self, store: Store, engine: Engine, tz: tzinfo,
                 invite_url: Callable[[str], str | None]) -> None:
        self.store = store
        self.engine = engine
        self.tz = tz
        self.invite_url = invite_url

    async def handle(self, incoming: Incoming, caps: Capabilities,
                     upload: Upload | None = None) -> list[Outgoing]:
        """Run one command (or a campaign file sent with /new) and return every message."""
        command, arg = split_command(incoming.text)
        if upload is not None or command == "new":
            return await self.new(incoming, caps, upload)
        if command in NOT_YET:
            return [self.reply(incoming, caps, "coordinator.not_yet", command=command)]
        campaign = await self.campaign(arg)
        if campaign is None:
            return [self.reply(incoming, caps, "coordinator.no_campaign")]
        if command == "invites":
            invites = await self.store.regenerate_invites(campaign.id)
            return [self.invites(incoming, caps, campaign, invites, "coordinator.invites_new")]
        table = await unit_table(self.store, campaign)
        return [self.reply(incoming, caps, "coordinator.status", campaign=campaign, rows=table,
                           reported=sum(r["status"] in ("submitted", "edited") for r in table))]

    async def campaign(self, arg: str) -> Campaign | None:
        """Return the round named by number, else the newest open one."""
        campaign_id = int(arg) if arg.strip().isdigit() else await self.store.latest_open_campaign()
        return None if campaign_id is None else await self.store.campaign(campaign_id)

    async def new(self, incoming: Incoming, caps: Capabilities,
                  upload: Upload | None) -> list[Outgoing]:
        """Create a round from an attached campaign file; invite units and bound contacts."""
        if upload is None:
            return [self.reply(incoming, caps, "coordinator.new_how")]
        try:
            spec = load_upload(upload, self.tz)
        except CampaignFileError as error:
            lines = [p.message(caps.format) for p in error.problems]
            return [self.reply(incoming, caps, "coordinator.new_invalid", file=upload.name,
                               problems=lines)]
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


def load_upload(upload: Upload, tz: tzinfo) -> CampaignSpec:
    """Load a self-contained campaign file, or the campaign.yaml of a zipped campaign folder."""
    if len(upload.data) > MAX_FILE_BYTES:
        raise CampaignFileError([Problem(upload.name, None, "", "file_too_large",
                                         {"limit": MAX_FILE_BYTES})])
    if not upload.name.lower().endswith(".zip"):
        return load_campaign_text(upload.name, upload.data.decode("utf-8", errors="replace"), tz)
    with tempfile.TemporaryDirectory(prefix="reportbot-") as folder:
        return load_campaign(_unzip(upload, Path(folder)), tz)


def _unzip(upload: Upload, folder: Path) -> Path:
    """Extract a zipped campaign folder safely; return the path of its campaign.yaml."""
    try:
        with zipfile.ZipFile(io.BytesIO(upload.data)) as archive:
            names = [n for n in archive.namelist()
                     if not n.startswith("/") and ".." not in Path(n).parts]
            for name in names:
                archive.extract(name, folder)
    except (zipfile.BadZipFile, OSError) as error:
        problem = Problem(upload.name, None, "", "bad_zip", {"error": str(error)})
        raise CampaignFileError([problem]) from error
    candidates = sorted((p for p in folder.rglob("campaign.y*ml")), key=lambda p: len(p.parts))
    if not candidates:
        raise CampaignFileError([Problem(upload.name, None, "", "zip_without_campaign", {})])
    return candidates[0]
