"""`GET /files/{token}`: the file behind a download link, or a short page saying why not."""

from __future__ import annotations

import asyncio
import os
import re
import stat
import unicodedata
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from bot.web.links import DownloadLinks
from bot.web.pages import NO_STORE, page

UNSAFE_ASCII = re.compile(r'[^A-Za-z0-9._ ()-]+')


def ascii_fallback(filename: str) -> str:
    """Return the name without diacritics, for clients that ignore filename* (RFC 6266)."""
    plain = filename.replace("đ", "d").replace("Đ", "D")
    plain = unicodedata.normalize("NFKD", plain).encode("ascii", "ignore").decode("ascii")
    return UNSAFE_ASCII.sub("_", plain).strip(" _") or "tep"


def disposition(filename: str) -> str:
    """Return `Content-Disposition: attachment` carrying the real name (RFC 6266 and 5987)."""
    name = unicodedata.normalize("NFC", filename)
    return (f'attachment; filename="{ascii_fallback(name)}"; '
            f"filename*=UTF-8''{quote(name, safe='')}")


def files_endpoint(links: DownloadLinks) -> Callable[[Request], Awaitable[Response]]:
    """Return the endpoint that serves download links."""

    async def download(request: Request) -> Response:
        """Send the file of a live link; 404 unknown, 410 expired or gone."""
        found = await links.find(str(request.path_params["token"]))
        if found.outcome == "unknown" or found.link is None:
            return page("link_unknown", 404)
        link = found.link
        if found.outcome == "expired":
            return page("link_expired", 410, expired=link.expires_at)
        try:
            found_stat = await asyncio.to_thread(os.stat, link.path)
        except OSError:
            found_stat = None
        if found_stat is None or not stat.S_ISREG(found_stat.st_mode):
            return page("link_gone", 410, filename=link.filename)
        headers = {**NO_STORE, "Content-Disposition": disposition(link.filename)}
        return FileResponse(link.path, media_type=link.mime, headers=headers,
                            stat_result=found_stat)

    return download
