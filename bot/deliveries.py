"""What a round's documents send, and to whom: the compile, the export, a unit's own report.

Each returns the Outgoing messages for the chats given, rendered for their channel: documents
where the channel carries files or download links, else where the files are on the server. A
failure reaches the chats as a message saying so, never as silence.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, tzinfo
from pathlib import Path

from bot import texts
from bot.channels.base import Capabilities, Outgoing
from bot.compile import aggregate, summary_message
from bot.documents.charts import progress_chart
from bot.documents.export import export
from bot.documents.outputs import (
    EVIDENCE_ZIP,
    PROGRESS_PICTURE,
    write_evidence,
    write_outputs,
    write_unit_report,
)
from bot.evidence import EvidenceStore
from bot.model import REPORTED, Campaign, Sheet, UnitProgress
from bot.store import Store

log = logging.getLogger(__name__)


class Deliveries:
    """Writes a round's outputs to a new folder and returns the messages that carry them."""

    def __init__(self, store: Store, clock: Callable[[], datetime], tz: tzinfo,
                 data_dir: Path) -> None:
        self.store = store
        self.clock = clock
        self.tz = tz
        self.data_dir = data_dir
        self.evidence = EvidenceStore(data_dir)
        # Whether a channel without documents still takes them (as download links): the hub's.
        self.takes_documents: Callable[[str], bool] = lambda _channel: False

    def folder(self, campaign: Campaign) -> Path:
        """Return a new folder for this round's outputs."""
        stamp = self.clock().astimezone(self.tz).strftime("%Y%m%d-%H%M%S-%f")
        return self.data_dir / "outputs" / f"dot-{campaign.id}" / stamp

    async def compile(self, campaign: Campaign, chats: list[str], channel: str,
                      caps: Capabilities, folder: Path | None = None) -> list[Outgoing]:
        """Compile a round: the summary message, the progress chart, the .docx and the .xlsx to
        every chat given (one picture, not one per question: the others are in the .docx).

        A compile that fails reaches every chat as a message saying so, never as silence.
        """
        try:
            sheets = await self.store.sheets(campaign.id)
            report, paths = await asyncio.to_thread(
                write_outputs, campaign.spec, sheets, self.clock(),
                folder or self.folder(campaign), False, self.evidence)
        except Exception as error:
            return self.failed(campaign, chats, channel, caps, error)
        parts = summary_message(report, caps.format, caps.max_length)
        picture = [p for p in paths if p.as_posix().endswith("/" + PROGRESS_PICTURE)]
        files = picture + [p for p in paths if p.suffix in (".docx", ".xlsx", ".zip")]
        replies = []
        for chat in chats:
            replies += [Outgoing(chat, part, channel=channel) for part in parts]
            replies += self.files(chat, channel, caps, files, campaign.id)
            replies += self.no_evidence(campaign, paths, chat, channel, caps)
        return replies

    def no_evidence(self, campaign: Campaign, paths: list[Path], chat: str, channel: str,
                    caps: Capabilities) -> list[Outgoing]:
        """Return the line saying there is no minh-chung.zip, for a round that asks for files."""
        if any(p.name == EVIDENCE_ZIP for p in paths) or not any(
                q.type == "file" for q in campaign.spec.questionnaire.questions):
            return []
        return [Outgoing(chat, texts.render("coordinator.no_evidence", caps.format),
                         channel=channel)]

    async def progress(self, campaign: Campaign, rows: list[UnitProgress], chat: str,
                       channel: str, caps: Capabilities) -> list[Outgoing]:
        """Return the progress chart of /status as a file on a channel that carries files;
        nothing elsewhere (a link would cost a message of a quota for a glance), nor when the
        picture fails."""
        if not caps.documents:
            return []
        groups = {u.code: u.group for u in campaign.spec.units}
        local = self.clock().astimezone(self.tz)
        note = texts.render("chart.progress_note", date=texts.vn_date(local.date()),
                            reported=sum(r.status in REPORTED for r in rows), total=len(rows))
        path = self.folder(campaign) / PROGRESS_PICTURE
        try:
            chart = await asyncio.to_thread(
                progress_chart, [(groups.get(r.code), r.status) for r in rows], note)
            await asyncio.to_thread(_write, path, chart.png)
        except Exception as error:  # the table went out; only the picture is missing
            log.error("round %s: progress chart failed", campaign.id, exc_info=error)
            return []
        return [Outgoing(chat, "", document=path, channel=channel)]

    async def export(self, campaign: Campaign, chat: str, channel: str,
                     caps: Capabilities) -> list[Outgoing]:
        """Send the data of a round as .xlsx and .csv, and its evidence files as one .zip."""
        try:
            sheets = await self.store.sheets(campaign.id)
            paths = await asyncio.to_thread(self.write_export, campaign, sheets,
                                            self.folder(campaign))
        except Exception as error:
            return self.failed(campaign, [chat], channel, caps, error)
        return (self.files(chat, channel, caps, paths, campaign.id)
                + self.no_evidence(campaign, paths, chat, channel, caps))

    def write_export(self, campaign: Campaign, sheets: list[Sheet], out: Path) -> list[Path]:
        """Write the data files and minh-chung.zip (when there are evidence files)."""
        paths = list(export(campaign.spec, sheets, out))
        return paths + write_evidence(aggregate(campaign.spec, sheets, self.clock()),
                                      self.evidence, out)

    def failed(self, campaign: Campaign, chats: list[str], channel: str, caps: Capabilities,
               error: Exception) -> list[Outgoing]:
        """Log a failed compile or export and tell every chat that asked for it."""
        log.error("round %s: compile failed", campaign.id, exc_info=error)
        text = texts.render("coordinator.compile_failed", caps.format, title=campaign.spec.title,
                            detail=f"{type(error).__name__}: {error}")
        return [Outgoing(chat, text, channel=channel) for chat in chats]

    def files(self, chat: str, channel: str, caps: Capabilities, paths: list[Path],
              campaign_id: int, for_contact: bool = False) -> list[Outgoing]:
        """Return documents, or what to do when the channel can carry neither files nor links.

        A coordinator is told where the files are on the server and how to get them; a contact
        that their report is kept and the coordinating agency has it.
        """
        if caps.documents or self.takes_documents(channel):
            return [Outgoing(chat, "", document=path, channel=channel) for path in paths]
        key = "coordinator.report_kept" if for_contact else "coordinator.files_saved"
        text = texts.render(key, caps.format, paths=[str(p) for p in paths],
                            campaign=campaign_id)
        return [Outgoing(chat, text, channel=channel, extra={"files": str(len(paths))})]

    async def unit_report(self, campaign: Campaign, code: str, chat: str, channel: str,
                          caps: Capabilities) -> list[Outgoing]:
        """Return a unit's own report for one of its contacts (after a submit)."""
        sheets = await self.store.sheets(campaign.id)
        try:
            path = await asyncio.to_thread(write_unit_report, campaign.spec, sheets,
                                           self.clock(), code,
                                           self.folder(campaign) / f"{code}.docx")
        except Exception as error:  # the answers are submitted; only the file is missing
            log.error("round %s: report of %s failed", campaign.id, code, exc_info=error)
            return [Outgoing(chat, texts.render("coordinator.unit_report_failed", caps.format),
                             channel=channel)]
        return self.files(chat, channel, caps, [path], campaign.id, for_contact=True)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
