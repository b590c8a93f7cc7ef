"""The lead sentence of a question's part of the report, written in the campaign file
(``report: {lead}``): a Jinja2 template over that question's figures.

A campaign file is input, never code: the template is rendered in jinja2's
ImmutableSandboxedEnvironment, an unknown variable is an error (StrictUndefined), and `check_lead`
renders it at check time against a sample context of the same shape as the real one, so a broken
lead is a ``reportbot check`` error, not a failed compile.

The context (README, "Lời dẫn của một khoản"): every question has ``reported`` (units that
reported), ``total`` (units in the round), ``missing`` (units not reported yet), ``answered``
(reported units that gave an answer other than "không"), ``asked`` (reported units the question
was shown to), ``nothing`` (units that answered "không", "không có" …) and ``unit`` (the display
unit: "người", "ha", "đồng", "%" or ""). By type:

- integer, number, money: ``sum``, ``avg``, ``min``, ``max``;
- percent: ``avg`` (weighted by the ``weight:`` answer when the question names one and every
  unit gave it, ``weighted`` then true; else the plain average of the units), ``min``, ``max``;
  with ``target:``, ``target`` and ``reached`` (units at or above it);
- date: ``min``, ``max`` (the earliest and latest day);
- yesno: ``yes``, ``no``;
- choice, multichoice: ``options`` (label → units that chose it: ``options['Hội nghị']``) and
  ``others`` (units that wrote another answer);
- documents, list, file: ``count`` (items; documents with the same number counted once).

Numbers print in Vietnamese notation (1.250; 99,5) and still compare as numbers
(``{% if sum > 0 %}``); days print as dd/mm/yyyy. Filters: ``words`` (a đồng amount in words),
``vn`` (any number in Vietnamese notation, e.g. after ``round``), and Jinja2's own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, UndefinedError, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from bot import texts
from bot.documents.numwords import amount_in_words
from bot.questionnaire import CHOICE_TYPES, LIST_TYPES, NUMERIC_TYPES, Question

__all__ = ["LeadError", "VnDate", "VnDecimal", "VnInt", "check_lead", "lead_context",
           "render_lead", "sample_context"]

_UNDEFINED = re.compile(r"'([^']+)' is undefined|has no attribute '([^']+)'")


class VnInt(int):
    """A whole number that prints as 1.250."""

    def __str__(self) -> str:
        return texts.vn_int(int(self))


class VnDecimal(Decimal):
    """A decimal that prints as 99,5."""

    def __str__(self) -> str:
        return texts.vn_dec(Decimal.__str__(self))


class VnDate(date):
    """A day that prints as 04/10/2021."""

    def __str__(self) -> str:
        return texts.vn_date(date(self.year, self.month, self.day))


@dataclass(frozen=True)
class LeadError(Exception):
    """A lead that cannot be rendered: ``kind`` is syntax, unknown, unsafe or error."""

    kind: str
    detail: str
    line: int = 1
    name: str = ""
    reason: str = ""  # unsafe: format, exponent, text, number, source, node (detail: its kind),
    # attribute; the campaign_lead.refused_* message that says it in Vietnamese
    limit: int = 0

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"


def vn_figure(value: Any) -> Any:
    """Return a number or day as its Vietnamese-printing twin (None stays None)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, date):
        return VnDate(value.year, value.month, value.day)
    if isinstance(value, int):
        return VnInt(value)
    number = Decimal(str(value))
    exponent = number.as_tuple().exponent
    if number == number.to_integral_value() and isinstance(exponent, int) and exponent >= 0:
        return VnInt(int(number))
    return VnDecimal(number.normalize())


def lead_context(q: Question, *, reported: int, total: int, answered: int, asked: int,
                 nothing: int = 0, figures: Mapping[str, Any] | None = None,
                 options: Sequence[tuple[str, int]] = (), others: int = 0,
                 weighted: bool = False) -> dict[str, Any]:
    """Return the context of a lead: the counts every question has, then its type's figures.

    `figures` holds sum, avg, min, max, count, yes, no, reached as the type has them.
    """
    given = dict(figures or {})
    context: dict[str, Any] = {
        "reported": VnInt(reported), "total": VnInt(total), "missing": VnInt(total - reported),
        "answered": VnInt(answered), "asked": VnInt(asked), "nothing": VnInt(nothing),
        "unit": display_unit(q),
    }
    for key in _figure_keys(q):
        context[key] = vn_figure(given.get(key))
    if q.type == "percent":
        context["weighted"] = weighted
        if q.target is not None:
            context["target"] = vn_figure(q.target)
    if q.type in CHOICE_TYPES:
        context["options"] = {label: VnInt(n) for label, n in options}
        context["others"] = VnInt(others)
    return context


def _figure_keys(q: Question) -> tuple[str, ...]:
    if q.type == "percent":
        return ("avg", "min", "max") + (("reached",) if q.target is not None else ())
    if q.type in NUMERIC_TYPES:
        return ("sum", "avg", "min", "max")
    if q.type == "date":
        return ("min", "max")
    if q.type == "yesno":
        return ("yes", "no")
    if q.type in LIST_TYPES:
        return ("count",)
    return ()


def display_unit(q: Question) -> str:
    """Return the unit a figure of this question is read in: "người", "đồng", "%" or ""."""
    if q.type == "money":
        return texts.render("docx.unit_money")
    if q.type == "percent":
        return "%"
    return q.unit or "" if q.type in NUMERIC_TYPES else ""


def sample_context(q: Question) -> dict[str, Any]:
    """Return a context of the real one's shape with made-up figures, to check a lead with."""
    day = date(2021, 10, 4)
    number = Decimal("97.5") if q.type == "percent" else 1250
    figures = {"sum": 3750, "avg": number, "min": day if q.type == "date" else number,
               "max": day if q.type == "date" else number, "count": 5, "yes": 2, "no": 1,
               "reached": 1}
    return lead_context(q, reported=3, total=4, answered=3, asked=3, nothing=1,
                        figures=figures,
                        options=[(o, 1) for o in q.options], others=1,
                        weighted=q.weight is not None)


MAX_SOURCE = 2_000  # characters of a lead as written
MAX_TEXT = 2_000  # characters of a lead rendered, and of any string or list made on the way
MAX_EXPONENT = 64
MAX_INT_BITS = 256
# What a lead may do: read figures, compare, branch, filter with these. No loops, no calls, no
# macros: a campaign file is input, and a lead must stay small and fast whatever the figures.
_FILTERS = ("abs", "capitalize", "d", "default", "e", "escape", "first", "float", "int", "join",
            "last", "length", "lower", "max", "min", "round", "string", "sum", "title", "trim",
            "upper")
_REFUSED = (nodes.For, nodes.Macro, nodes.CallBlock, nodes.FilterBlock, nodes.Call,
            nodes.Import, nodes.FromImport, nodes.Include, nodes.Extends, nodes.With)


class _Refused(SecurityError):
    """What a lead may not do, by reason (a campaign_lead.refused_* message)."""

    def __init__(self, reason: str, limit: int = 0) -> None:
        super().__init__(f"{reason} (limit {limit})" if limit else reason)
        self.reason, self.limit = reason, limit


class _LeadEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox, with every operator that could make a huge value checked first (and so
    never folded at compile time either)."""

    intercepted_binops = frozenset({"*", "**", "+", "%", "//"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "%" and isinstance(left, str):
            raise _Refused("format")
        if operator == "**" and not _small(right):
            raise _Refused("exponent", MAX_EXPONENT)
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int) \
                        and len(seq) * times > MAX_TEXT:
                    raise _Refused("text", MAX_TEXT)
        result = super().call_binop(context, operator, left, right)
        if isinstance(result, str | list | tuple) and len(result) > MAX_TEXT:
            raise _Refused("text", MAX_TEXT)
        if isinstance(result, int) and result.bit_length() > MAX_INT_BITS:
            raise _Refused("number")
        return result


def _small(exponent: Any) -> bool:
    """Return whether a number is a small enough exponent."""
    return isinstance(exponent, int | Decimal | float) and -MAX_EXPONENT <= exponent <= MAX_EXPONENT


@cache
def _environment() -> ImmutableSandboxedEnvironment:
    env = _LeadEnvironment(undefined=StrictUndefined, autoescape=False, trim_blocks=True,
                           lstrip_blocks=True)
    env.globals.clear()  # range, lipsum, dict, cycler, joiner, namespace
    env.filters = {name: env.filters[name] for name in _FILTERS}
    env.filters.update(words=lambda v: amount_in_words(int(v)), vn=_vn)
    return env


def _vn(value: Any) -> str:
    return str(vn_figure(value))


@cache
def _template(source: str) -> Template:
    if len(source) > MAX_SOURCE:
        raise LeadError("unsafe", "source", reason="source", limit=MAX_SOURCE)
    env = _environment()
    try:
        tree = env.parse(source)
    except TemplateSyntaxError as error:
        raise LeadError("syntax", error.message or str(error), error.lineno) from error
    for node in tree.find_all(_REFUSED):
        raise LeadError("unsafe", type(node).__name__.lower(), node.lineno, reason="node")
    try:
        return env.from_string(tree)
    except TemplateSyntaxError as error:  # a filter it does not know
        raise LeadError("syntax", error.message or str(error), error.lineno) from error
    except Exception as error:  # anything else the compiler refuses
        raise LeadError("error", f"{type(error).__name__}: {error}") from error


def render_lead(source: str, context: Mapping[str, Any]) -> str:
    """Return the lead rendered on one line, or raise LeadError."""
    template = _template(source)
    try:
        chunks: list[str] = []
        size = 0
        for chunk in template.generate(**context):
            size += len(chunk)
            if size > MAX_TEXT:
                raise _Refused("text", MAX_TEXT)
            chunks.append(chunk)
        text = "".join(chunks)
    except UndefinedError as error:
        found = _UNDEFINED.search(str(error))
        name = next((g for g in found.groups() if g), "") if found else ""
        raise LeadError("unknown", str(error), name=name) from error
    except _Refused as error:
        raise LeadError("unsafe", str(error), reason=error.reason, limit=error.limit) from error
    except SecurityError as error:  # the sandbox's own: an attribute or method it keeps out
        raise LeadError("unsafe", str(error), reason="attribute") from error
    except Exception as error:  # a figure of the wrong kind in a filter, a division by zero
        raise LeadError("error", f"{type(error).__name__}: {error}") from error
    return " ".join(text.split())


def check_lead(q: Question) -> LeadError | None:
    """Return why the question's lead cannot be rendered, or None when it can."""
    if q.lead is None:
        return None
    try:
        render_lead(q.lead, sample_context(q))
    except LeadError as error:
        return error
    return None
