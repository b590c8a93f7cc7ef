"""Every text a person reads: a catalogue of Jinja2 templates in templates/messages/*.yaml.

Each YAML file maps a dotted key (``error.not_a_number``) to a Jinja2 template string. Keys are
unique across files. A template is rendered for one output format:

- ``plain``: no escaping; ``|b`` and ``|i`` leave the text as it is (terminal, Zalo Bot).
- ``html``: autoescape on (Telegram HTML); ``|b`` and ``|i`` wrap the escaped text in <b>/<i>.

Filters available in every template: ``b``, ``i``, ``vn_int`` (1.525.000), ``vn_dec`` (87,75),
``vn_date`` (ISO date, or a moment's local date, to 04/10/2021), ``hm`` (a moment's local
time: 18:41; local means REPORTBOT_TZ, see `use_timezone`), ``period`` (the "." a sentence
ending in the value still needs: ``{{ x }}{{ x|period }}`` never gives ".."); the function
``t("other.key", **context)`` includes another message. Undefined variables raise (StrictUndefined).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import date, datetime, tzinfo
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import yaml
from jinja2 import Environment, StrictUndefined, Template
from markupsafe import Markup, escape

from bot.paths import templates_dir

Format = Literal["plain", "html"]


def vn_int(value: Any) -> str:
    """Format a whole number with "." grouping: 1525000000 -> 1.525.000.000."""
    return f"{int(value):,}".replace(",", ".")


def vn_dec(value: Any, places: int | None = None) -> str:
    """Format a decimal with "," as decimal mark and "." grouping: 87.75 -> 87,75."""
    number = Decimal(str(value))
    if places is not None:
        number = number.quantize(Decimal(1).scaleb(-places))
    text = format(number.normalize() if places is None else number, "f")
    whole, _, frac = text.partition(".")
    sign = "-" if whole.startswith("-") else ""
    grouped = vn_int(whole.lstrip("-") or "0")
    return f"{sign}{grouped},{frac}" if frac else f"{sign}{grouped}"


_display_tz: tzinfo = ZoneInfo("Asia/Ho_Chi_Minh")


def use_timezone(tz: tzinfo) -> None:
    """Show every time a person reads in this timezone (REPORTBOT_TZ; set once at start-up)."""
    global _display_tz
    _display_tz = tz


def local(moment: datetime) -> datetime:
    """Return an aware moment in the display timezone (a naive one is taken as already local)."""
    return moment.astimezone(_display_tz) if moment.tzinfo else moment


def hm(moment: datetime) -> str:
    """Format the local time of day of a moment: 18:41."""
    return local(moment).strftime("%H:%M")


def vn_date(value: Any) -> str:
    """Format an ISO date, a date or a moment (its local date) as dd/mm/yyyy."""
    if isinstance(value, datetime):
        value = local(value)
    day = value if isinstance(value, date) else date.fromisoformat(str(value))
    return day.strftime("%d/%m/%Y")


SENTENCE_ENDS = (".", "!", "?", "…")


def file_size(size: int) -> str:
    """Return a file's size as people read it: "350 KB" (rounded up), "1,2 MB"; "" when unknown
    (0). The report's evidence list and the web page say it alike."""
    if size <= 0:
        return ""
    kilobytes = max(1, -(-size // 1024))
    if kilobytes < 1024:
        return render("size.kb", size=vn_int(kilobytes))
    return render("size.mb", size=vn_dec(round(Decimal(size) / (1024 * 1024), 1)))


def period(value: Any) -> str:
    """Return the full stop a sentence ending in value needs: none after ".", "!", "?" or "…"."""
    return "" if str(value).rstrip().endswith(SENTENCE_ENDS) else "."


def _wrap(tag: str, fmt: Format) -> Callable[[Any], Any]:
    if fmt == "plain":
        return lambda value: value
    return lambda value: Markup(f"<{tag}>{escape(value)}</{tag}>")


def _environment(fmt: Format) -> Environment:
    env = Environment(
        autoescape=fmt == "html",
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters.update(
        b=_wrap("b", fmt), i=_wrap("i", fmt), vn_int=vn_int, vn_dec=vn_dec, vn_date=vn_date,
        period=period, hm=hm,
    )
    return env


class Catalogue:
    """The message templates of one folder, compiled lazily per format."""

    def __init__(self, directory: Path) -> None:
        self.sources = _load_sources(directory / "messages")
        self._envs: dict[Format, Environment] = {
            fmt: _environment(fmt) for fmt in ("plain", "html")
        }
        for fmt in ("plain", "html"):
            self._envs[fmt].globals["t"] = self._nested(fmt)
        self._compiled: dict[tuple[str, str], Template] = {}
        self._static: dict[tuple[str, str], str] = {}

    def render(self, key: str, fmt: Format = "plain", /, **context: Any) -> str:
        """Render one message, NFC-normalised, without surrounding blank lines."""
        if not context and (fmt, key) in self._static:
            return self._static[(fmt, key)]
        template = self._compiled.get((fmt, key))
        if template is None:
            template = self._envs[fmt].from_string(self.sources[key])
            # Jinja2 chains a template's globals to its environment's (a ChainMap) and copies
            # them into every render's context; a plain dict halves the cost of a render.
            # The environment's globals are complete before any template is compiled.
            template.globals = dict(template.globals)
            self._compiled[(fmt, key)] = template
        text = unicodedata.normalize("NFC", template.render(**context)).strip()
        if not context:
            self._static[(fmt, key)] = text
        return text


    def _nested(self, fmt: Format) -> Callable[..., Markup | str]:
        """Return `t(key, **context)`: another catalogue message, usable inside a template."""

        def nested(key: str, **context: Any) -> Markup | str:
            text = self.render(key, fmt, **context)
            return Markup(text) if fmt == "html" else text

        return nested


def _load_sources(folder: Path) -> dict[str, str]:
    sources: dict[str, str] = {}
    for path in sorted(folder.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for key, text in data.items():
            if key in sources:
                raise ValueError(f"{path.name}: message key {key!r} is defined twice")
            sources[key] = str(text)
    return sources


@cache
def catalogue() -> Catalogue:
    """Return the catalogue of the shipped templates."""
    return Catalogue(templates_dir())


def render(key: str, fmt: Format = "plain", /, **context: Any) -> str:
    """Render a message of the shipped catalogue."""
    return catalogue().render(key, fmt, **context)
