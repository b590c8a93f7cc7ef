"""The short Vietnamese pages the HTTP server answers with (templates/messages/web.yaml)."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup
from starlette.responses import HTMLResponse

from bot import texts

NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer"}


def page_html(name: str, **context: Any) -> str:
    """Return the HTML page `web.<name>`: its title and text in the page frame."""
    title = Markup(texts.render(f"web.{name}.title", "html", **context))
    text = Markup(texts.render(f"web.{name}.text", "html", **context))
    return texts.render("web.page", "html", title=title, text=text)


def page(name: str, status: int, headers: dict[str, str] | None = None,
         **context: Any) -> HTMLResponse:
    """Return the page `web.<name>` as a response with `status`."""
    return HTMLResponse(page_html(name, **context), status_code=status,
                        headers={**NO_STORE, **(headers or {})})
