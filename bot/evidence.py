"""Evidence files: what a contact sends for a `file` question, kept under REPORTBOT_DATA_DIR.

A channel offers a file (`Offer`: the name and what the platform says of its type and size, and
how to download it: Telegram's getFile, a Zalo image or file URL). `EvidenceStore.keep` refuses
what is too big or of a type the report cannot use before downloading when the platform says so,
downloads into a temporary file of <DATA_DIR>/files (at most MAX_BYTES, streamed where the
platform allows), checks the type again from the content (`filetype`), and moves the file to
<DATA_DIR>/files/<sha256><suffix>: the same content sent twice is kept once. The answer then
records name, mime, size and `file_id` "sha256:<hex>" (bot/engine.py `file_item`), which find
the file again (`EvidenceStore.path_of`, `sha256_of`).

Order: the file is kept *before* the answer that names it is stored (bot/hub.py `receive`). A
kill in between leaves a kept file and no answer; the platform delivers the message again
(Telegram: the offset had not moved; Zalo: the inbox row is not done), the download gives the
same file at the same place and the answer is stored once. A message already answered is not
downloaded again. A refused or failed download is told to the contact (`refusal`), never an
answer without its file.

Reading them back: `unit_evidence` (a unit's files in questionnaire order, each with its place
minh-chung/<CODE>/<name> in a compile), `report_evidence` (every reported unit's),
`EvidenceStore.path_of` / `unit_files` (where the kept files lie).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import os
import tempfile
import time
import unicodedata
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any

import filetype
import httpx

from bot import texts
from bot.channels.base import Attachment
from bot.questionnaire import Question

if TYPE_CHECKING:
    from bot.compile import Report

__all__ = ["ALLOWED", "EVIDENCE_DIR", "MAX_BYTES", "Evidence", "EvidenceStore", "Kept",
           "NotFetched", "Offer", "Refused", "TooBig", "http_download", "read_offer", "refusal",
           "report_evidence", "safe_name", "unit_evidence"]

MAX_BYTES = 20 * 1024 * 1024  # Telegram's getFile limit; the same for every channel
TIMEOUT = 60.0
FOLDER = "files"
PART = ".part-"  # a download under way
EVIDENCE_DIR = "minh-chung"  # in a compile's folder: minh-chung/<CODE>/<file>
MAX_NAME = 120
_UNSAFE = set('<>:"/\\|?*')
# What a report's evidence may be: pictures and office documents, by suffix -> MIME type.
ALLOWED = {
    ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp",
    ".heic": "image/heic", ".pdf": "application/pdf", ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".ppt": "application/vnd.ms-powerpoint",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
}
# Containers whose content sniffing cannot always tell the members apart: a suffix of one family
# is believed when the content is of the same family.
_FAMILIES = ({".doc", ".xls", ".ppt"}, {".docx", ".xlsx", ".pptx", ".odt", ".ods", ".zip"},
             {".jpg", ".jpeg"})

Download = Callable[[IO[bytes], int], Awaitable[None]]
"""Writes the file into the open binary file, at most `limit` bytes (else raises TooBig, or
NotFetched when it cannot); the type is then found from the content, not from what was said."""


class TooBig(Exception):
    """The file is over the limit (said by the platform, or found while downloading)."""


class NotFetched(Exception):
    """The file could not be downloaded (the network, an error page)."""


class Refused(Exception):
    """A file not kept, and why: `code` is "too_big", "wrong_type" or "failed"."""

    def __init__(self, code: str, name: str) -> None:
        super().__init__(code)
        self.code = code
        self.name = name


@dataclass(frozen=True)
class Offer:
    """A file a person sent: what the platform says of it and how to download it."""

    name: str
    size: int | None
    download: Download


@dataclass(frozen=True)
class Kept:
    """A file kept in the evidence store."""

    attachment: Attachment
    path: Path


class EvidenceStore:
    """The files of <DATA_DIR>/files, one per content."""

    def __init__(self, data_dir: Path, limit: int = MAX_BYTES) -> None:
        self.data_dir = data_dir
        self.folder = data_dir / FOLDER
        self.limit = limit
        self._swept = False

    async def keep(self, offer: Offer) -> Kept:
        """Download and keep one file; raise Refused (too big, wrong type, failed)."""
        if offer.size is not None and offer.size > self.limit:
            raise Refused("too_big", offer.name)
        suffix = _suffix(offer.name)
        if suffix and suffix not in ALLOWED:
            raise Refused("wrong_type", offer.name)
        await asyncio.to_thread(self.folder.mkdir, parents=True, exist_ok=True)
        if not self._swept:
            self._swept = True
            await asyncio.to_thread(self._sweep)
        handle, temp = tempfile.mkstemp(dir=self.folder, prefix=PART)
        try:
            with os.fdopen(handle, "wb") as out:
                try:
                    await offer.download(out, self.limit)
                except TooBig:
                    raise Refused("too_big", offer.name) from None
                except (NotFetched, httpx.HTTPError, OSError):
                    raise Refused("failed", offer.name) from None
            return await asyncio.to_thread(self._settle, Path(temp), offer)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)

    def _sweep(self) -> None:
        """Remove what downloads cut off by a kill left (once a process, an hour old)."""
        stale = time.time() - 3600
        for part in self.folder.glob(PART + "*"):
            with contextlib.suppress(OSError):
                if part.stat().st_mtime < stale:
                    part.unlink()

    def _settle(self, temp: Path, offer: Offer) -> Kept:
        """Check what was downloaded and move it to its place by content."""
        size = temp.stat().st_size
        if size > self.limit:
            raise Refused("too_big", offer.name)
        if size == 0:
            raise Refused("failed", offer.name)
        kind = filetype.guess(str(temp))
        found = "." + kind.extension if kind is not None else ""
        suffix = _suffix(offer.name) or found
        if suffix not in ALLOWED or not _agree(suffix, found):
            raise Refused("wrong_type", offer.name)
        name = offer.name if _suffix(offer.name) else offer.name + found
        digest = hashlib.sha256()
        with temp.open("rb") as source:
            for chunk in iter(lambda: source.read(1 << 20), b""):
                digest.update(chunk)
        hexdigest = digest.hexdigest()
        kept = self.folder / f"{hexdigest}{suffix}"
        os.replace(temp, kept)
        return Kept(Attachment(name, ALLOWED[suffix], size, f"sha256:{hexdigest}"), kept)

    def unit_files(self, code: str, questions: Iterable[Question],
                   answers: Mapping[str, Any]) -> list[tuple[Evidence, Path | None]]:
        """Return a unit's evidence files (`unit_evidence`) and where each lies in the store
        (None: not kept, or gone): what a page listing a unit's files needs."""
        return [(e, self.path_of(e.item)) for e in unit_evidence(code, questions, answers)]

    def path_of(self, item: dict[str, Any]) -> Path | None:
        """Return where the file of a stored answer item lies (None: never kept, or gone)."""
        digest = sha256_of(item)
        if digest is None:
            return None
        name = str(item.get("name", ""))
        path = self.folder / f"{digest}{_suffix(name)}"
        if path.is_file():
            return path
        # kept by the Zalo OA channel before the shared store: files/zalo_oa/<sha256><suffix>
        older = self.folder / "zalo_oa" / f"{digest}{PurePosixPath(name).suffix.lower()}"
        return older if older.is_file() else None


def sha256_of(item: dict[str, Any]) -> str | None:
    """Return the sha256 of a stored file item, None for one the store did not keep."""
    file_id = str(item.get("file_id", ""))
    # "sha256": answers stored before `file_id` carried it
    digest = item.get("sha256") or (file_id[7:] if file_id.startswith("sha256:") else None)
    return str(digest) if digest and len(str(digest)) == 64 else None


def refusal(error: Refused, fmt: texts.Format) -> str:
    """Return what a contact reads when a file was not kept."""
    allowed = ", ".join(sorted({s[1:].upper() for s in ALLOWED if s != ".jpeg"}))
    return texts.render(f"evidence.{error.code}", fmt, name=error.name,
                        limit=MAX_BYTES // (1024 * 1024), allowed=allowed)


@dataclass(frozen=True)
class Evidence:
    """One kept file of a unit's answer, and its place in a compile: minh-chung/<CODE>/<name>."""

    code: str
    question: Question
    item: dict[str, Any]
    path: PurePosixPath

    @property
    def name(self) -> str:
        """The file's name as the contact sent it."""
        return str(self.item.get("name") or self.path.name)

    @property
    def size(self) -> int:
        """The file's size in bytes (0 when unknown)."""
        size = self.item.get("size")
        return size if isinstance(size, int) else 0


def unit_evidence(code: str, questions: Iterable[Question],
                  answers: Mapping[str, Any]) -> list[Evidence]:
    """Return the files of one unit's answers, question by question in questionnaire order,
    each with its place minh-chung/<CODE>/<safe name> (Vietnamese kept, collisions numbered).

    This is what a compile writes and what the reports and the web pages list.
    """
    folder = PurePosixPath(EVIDENCE_DIR) / safe_name(code, "don-vi")
    taken: set[str] = set()
    found = []
    for question in questions:
        items = answers.get(question.id)
        if question.type != "file" or not isinstance(items, list):
            continue
        for item in items:
            if isinstance(item, dict):
                name = _numbered(safe_name(str(item.get("name") or ""), "tep"), taken)
                found.append(Evidence(code, question, item, folder / name))
    return found


def report_evidence(report: Report) -> list[Evidence]:
    """Return the files of every reported unit of a report, in roster order."""
    questions = report.spec.questionnaire.questions
    return [e for row in report.reported for e in unit_evidence(row.code, questions, row.answers)]


def safe_name(name: str, fallback: str) -> str:
    """Return a file name safe on every system: no folders ("/" becomes "-"), no characters
    Windows refuses, no leading dots, at most MAX_NAME characters; Vietnamese kept (NFC)."""
    text = "".join("-" if c in "/\\" else " " if unicodedata.category(c)[0] == "C"
                   or c in _UNSAFE else c for c in unicodedata.normalize("NFC", name))
    text = " ".join(text.split()).strip(" .-")
    stem, dot, suffix = text.rpartition(".")
    if not dot or not 0 < len(suffix) <= 6 or " " in suffix:
        stem, dot, suffix = text, "", ""
    stem = stem.rstrip(" .")[:MAX_NAME - len(dot + suffix)].rstrip(" .")
    return stem + dot + suffix if stem else fallback


def _numbered(name: str, taken: set[str]) -> str:
    """Return `name`, or "name (2).pdf", "name (3).pdf" … when it is taken (case ignored)."""
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    candidate, number = name, 1
    while candidate.casefold() in taken:
        number += 1
        candidate = f"{stem} ({number}){dot}{suffix}"
    taken.add(candidate.casefold())
    return candidate


async def read_offer(offer: Offer, limit: int = MAX_BYTES) -> bytes:
    """Download a file into memory (a coordinator's campaign file), at most `limit` bytes;
    raise TooBig or NotFetched."""
    if offer.size is not None and offer.size > limit:
        raise TooBig(offer.name)
    buffer = io.BytesIO()
    try:
        await offer.download(buffer, limit)
    except httpx.HTTPError as error:
        raise NotFetched(type(error).__name__) from None
    return buffer.getvalue()


def http_download(http: httpx.AsyncClient, url: str) -> Download:
    """Return the download of a file behind a URL (Zalo's image and file links), streamed."""

    async def download(out: IO[bytes], limit: int) -> None:
        size = 0
        async with http.stream("GET", url, timeout=TIMEOUT) as answer:
            if answer.status_code != 200:
                raise NotFetched(f"HTTP {answer.status_code}")
            async for chunk in answer.aiter_bytes():
                size += len(chunk)
                if size > limit:
                    raise TooBig(url)
                out.write(chunk)

    return download


def _suffix(name: str) -> str:
    suffix = PurePosixPath(unicodedata.normalize("NFC", name)).suffix.lower()
    return suffix if 1 < len(suffix) <= 6 else ""


def _agree(suffix: str, found: str) -> bool:
    """Return whether a name's suffix fits the type found in the content."""
    return suffix == found or any(suffix in f and found in f for f in _FAMILIES)
