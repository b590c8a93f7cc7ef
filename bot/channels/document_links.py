"""A document as one text message, for channels that cannot carry that file (Zalo Bot; the Zalo
OA for what it cannot upload): its caption and a download link, or where it is on the server."""

from __future__ import annotations

import re

from bot import texts
from bot.channels.base import Links, Outgoing

CAMPAIGN_DIR = re.compile(r"^dot-(\d+)$")  # the coordinator's outputs/dot-<id>/ folders


async def document_text(part: Outgoing, links: Links | None, limit: int) -> str:
    """Return a document's caption and the line that gets it, within `limit` characters.

    Without links (no REPORTBOT_PUBLIC_URL; a row owed while there were) the line names the file's
    place on the server and the command that writes every output of its round.
    """
    path = part.document
    assert path is not None
    if links is not None:
        url = await links.url(path, path.name)
        line = texts.render("zalo.download_link", "plain", name=path.name, url=url)
    else:
        campaign = part.extra.get("campaign") or next(
            (m[1] for m in map(CAMPAIGN_DIR.match, path.parent.parts) if m), None)
        line = texts.render("zalo.file_on_server", "plain", name=path.name, path=str(path),
                            campaign=campaign)
    caption = part.text[:limit - len(line) - 2].rstrip()
    return f"{caption}\n\n{line}" if caption else line
