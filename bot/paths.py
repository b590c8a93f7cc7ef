"""Where the shipped templates are (stdlib only, so the parsers can read their vocabulary)."""

from __future__ import annotations

from pathlib import Path


def templates_dir() -> Path:
    """Return the templates folder: the installed package's (bot/templates), else the checkout's."""
    here = Path(__file__).resolve().parent
    installed = here / "templates"
    return installed if (installed / "messages").is_dir() else here.parent / "templates"
