"""A campaign a coordinator sends in chat with /new: a self-contained .yaml, or a zipped folder.

Decisions:
- An attachment is at most MAX_FILE_BYTES, as every file the loaders read (file_checks).
- A .yaml must be UTF-8 and may name no other file (campaign_file.load_campaign_text): a chat
  never reads a file of the server.
- A .zip holds at most MAX_ZIP_FILES files of at most MAX_ZIP_BYTES unpacked: checked on the sizes
  its directory declares before anything is written, and again on the bytes written, since a
  directory can lie. Entries named by an absolute path or with ``..`` are skipped; nothing is
  written as a symlink. The shallowest ``campaign.yaml`` (or ``.yml``) is loaded ``within`` the
  unzipped folder: its paths may name only files inside it.
- A Word template in the zip is copied to the ``templates`` folder given, named by its content, so
  the campaign keeps it after the unzipped folder is gone.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path, PurePosixPath

from bot.campaigns.campaign import load_campaign, load_campaign_text
from bot.campaigns.checks import MAX_FILE_BYTES, CampaignFileError, Problem, Sink
from bot.campaigns.spec import CampaignSpec
from bot.campaigns.units import decode_utf8

__all__ = ["MAX_ZIP_BYTES", "MAX_ZIP_FILES", "Upload", "load_upload"]

MAX_ZIP_FILES = 200
MAX_ZIP_BYTES = 20_000_000
_CHUNK = 1 << 16
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, RuntimeError,
               NotImplementedError, EOFError, zlib.error)  # RuntimeError: encrypted


@dataclass(frozen=True)
class Upload:
    """A file a coordinator attached."""

    name: str
    data: bytes


def load_upload(upload: Upload, tz: tzinfo, templates: Path) -> CampaignSpec:
    """Load a self-contained campaign file, or the campaign.yaml of a zipped campaign folder."""
    if len(upload.data) > MAX_FILE_BYTES:
        raise CampaignFileError([Problem(upload.name, None, "", "file_too_large",
                                         {"limit": MAX_FILE_BYTES})])
    if not upload.name.lower().endswith(".zip"):
        sink = Sink()
        text = decode_utf8(upload.data, upload.name, sink)
        if text is None:
            raise CampaignFileError(sink.problems)
        return load_campaign_text(upload.name, text, tz)
    with tempfile.TemporaryDirectory(prefix="reportbot-") as name:
        folder = Path(name)
        spec = load_campaign(_unzip(upload, folder), tz, within=folder)
        return spec if spec.template is None else _keep(spec, spec.template, templates)


def _keep(spec: CampaignSpec, template: Path, templates: Path) -> CampaignSpec:
    """Return the campaign with its template copied out of the unzipped folder."""
    data = template.read_bytes()
    kept = templates / f"{hashlib.sha256(data).hexdigest()[:32]}.docx"
    templates.mkdir(parents=True, exist_ok=True)
    kept.write_bytes(data)
    return dataclasses.replace(spec, template=kept.resolve())


def _unzip(upload: Upload, folder: Path) -> Path:
    """Extract a zipped campaign folder within its limits; return the path of its campaign.yaml."""
    try:
        with zipfile.ZipFile(io.BytesIO(upload.data)) as archive:
            members = [info for info in archive.infolist() if not info.is_dir()]
            if len(members) > MAX_ZIP_FILES:
                raise CampaignFileError([Problem(upload.name, None, "", "zip_too_many_files",
                                                 {"limit": MAX_ZIP_FILES})])
            if sum(info.file_size for info in members) > MAX_ZIP_BYTES:
                raise _too_large(upload)
            left = MAX_ZIP_BYTES
            for info in members:
                target = _target(folder, info.filename)
                if target is not None:
                    left = _extract(archive, info, target, left, upload)
    except _ZIP_ERRORS as error:
        problem = Problem(upload.name, None, "", "bad_zip", {"error": str(error)})
        raise CampaignFileError([problem]) from error
    candidates = sorted((p for p in folder.rglob("campaign.y*ml")), key=lambda p: len(p.parts))
    if not candidates:
        raise CampaignFileError([Problem(upload.name, None, "", "zip_without_campaign", {})])
    return candidates[0]


def _target(folder: Path, name: str) -> Path | None:
    """Return where an entry goes inside the folder, or None for a name that would leave it."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or not path.parts or ":" in path.parts[0]:
        return None
    return folder.joinpath(*path.parts)


def _extract(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, left: int,
             upload: Upload) -> int:
    """Write one entry, counting its bytes against what is left; return what is left."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with archive.open(info) as source, target.open("wb") as sink:
        while chunk := source.read(_CHUNK):
            left -= len(chunk)
            if left < 0:
                raise _too_large(upload)
            sink.write(chunk)
    return left


def _too_large(upload: Upload) -> CampaignFileError:
    """Return the refusal of a zip that unpacks past the limit."""
    return CampaignFileError([Problem(upload.name, None, "", "zip_too_large",
                                      {"limit": MAX_ZIP_BYTES})])
