"""Question types, conditions, answer values and default aggregates.

An answer value is always JSON-able so the store can keep it as JSON as-is:

| type                 | value                                                        |
|----------------------|--------------------------------------------------------------|
| text, longtext       | str                                                          |
| integer, money       | int (money in đồng)                                          |
| number, percent      | str holding a decimal with "." ("99.5")                      |
| date                 | str, ISO date ("2021-10-04")                                 |
| yesno                | bool                                                         |
| choice, multichoice  | {"selected": [label, ...], "other": str or None}             |
| documents            | [{"kind", "number", "date" (ISO or None), "summary"}, ...]   |
| list                 | [str, ...]                                                   |
| file                 | [{"name", "mime", "size", "file_id"}, ...]                   |

A skipped optional question is stored with the value None.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from bot import parsing
from bot.parsing import ParseError

TYPES = (
    "text",
    "longtext",
    "integer",
    "number",
    "percent",
    "money",
    "date",
    "yesno",
    "choice",
    "multichoice",
    "documents",
    "list",
    "file",
)
AGGREGATES = ("sum", "avg", "min", "max", "count", "list", "none")
CHOICE_TYPES = frozenset({"choice", "multichoice"})
LIST_TYPES = frozenset({"documents", "list", "file"})
NUMERIC_TYPES = frozenset({"integer", "number", "percent", "money"})
TEXT_TYPES = frozenset({"text", "longtext"})
CHART_TYPES = NUMERIC_TYPES | CHOICE_TYPES | {"yesno"}  # what `chart:` fits

DEFAULT_AGGREGATE = {
    "text": "list",
    "longtext": "list",
    "integer": "sum",
    "number": "sum",
    "percent": "avg",  # weighted by another answer when the question names a `weight`
    "money": "sum",
    "date": "list",
    "yesno": "count",
    "choice": "count",
    "multichoice": "count",
    "documents": "list",
    "list": "list",
    "file": "count",
}
DEFAULT_MAX_LENGTH = {"text": 500, "longtext": 4000, "list": 500, "documents": 1000}

Value = Any  # a JSON-able answer value, see the module docstring


@dataclass(frozen=True)
class Condition:
    """Show a question only when another answer equals a value or is in a set."""

    id: str
    values: tuple[Any, ...]

    def matches(self, value: Value) -> bool:
        """Return whether the stored answer value satisfies this condition."""
        if value is None:
            return False
        candidates = _comparable(value)
        wanted = {_fold_any(v) for v in self.values}
        return bool(candidates & wanted)


def _fold_any(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value)).normalize()
    return parsing.fold(str(value))


def _comparable(value: Value) -> set[Any]:
    if isinstance(value, dict) and "selected" in value:
        items: list[Any] = list(value["selected"])
        if value.get("other"):
            items.append(value["other"])
        return {_fold_any(v) for v in items}
    if isinstance(value, list):
        return {_fold_any(v) for v in value if isinstance(v, str | int)}
    if isinstance(value, str):
        try:
            return {_fold_any(Decimal(value)), _fold_any(value)}
        except ArithmeticError:
            return {_fold_any(value)}
    return {_fold_any(value)}


@dataclass(frozen=True)
class Question:
    """One scripted question of a questionnaire."""

    id: str
    type: str
    ask: str
    help: str | None = None
    required: bool = True
    min: Decimal | None = None
    max: Decimal | None = None
    max_length: int | None = None
    options: tuple[str, ...] = ()
    other: bool = False
    when: Condition | None = None
    aggregate: str = ""
    unit: str | None = None
    section: int = 0
    chart: bool = False  # a bar chart in the consolidated report (bot/documents/charts.py)
    chart_title: str | None = None  # its title when `chart:` names one, else the question's
    heading: str | None = None  # `report: {heading}`: the khoản's title in the reports
    lead: str | None = None  # `report: {lead}`: a sandboxed Jinja2 template (bot/leads.py)
    weight: str | None = None  # percent: the id of the answer it is weighted by
    target: Decimal | None = None  # percent: "x/y đơn vị đạt <target> %" is said only with it

    def __post_init__(self) -> None:
        if not self.aggregate:
            object.__setattr__(self, "aggregate", DEFAULT_AGGREGATE[self.type])

    @property
    def is_list(self) -> bool:
        """Return whether the answer is built from several messages ended by "xong"."""
        return self.type in LIST_TYPES

    @property
    def limit_length(self) -> int | None:
        """Return the maximum length of one typed text, if any."""
        return self.max_length or DEFAULT_MAX_LENGTH.get(self.type)


@dataclass(frozen=True)
class Section:
    """A titled group of questions ("II. Công tác triển khai")."""

    title: str
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class Questionnaire:
    """The ordered sections and questions of a round."""

    sections: tuple[Section, ...]
    appendix: tuple[str, ...] = ()  # the ids of the appendix table's columns, () for the default
    questions: tuple[Question, ...] = field(init=False, compare=False, repr=False)
    _index: dict[str, int] = field(init=False, compare=False, repr=False)
    _parents: tuple[str, ...] = field(init=False, compare=False, repr=False)
    _visible: dict[str, tuple[tuple[Question, ...], dict[str, int]]] = field(
        init=False, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        questions = tuple(q for s in self.sections for q in s.questions)
        object.__setattr__(self, "questions", questions)
        object.__setattr__(self, "_index", {q.id: i for i, q in enumerate(questions)})
        parents = sorted({q.when.id for q in questions if q.when is not None})
        object.__setattr__(self, "_parents", tuple(parents))
        object.__setattr__(self, "_visible", {})

    def get(self, qid: str) -> Question:
        """Return the question with this id (KeyError if unknown)."""
        return self.questions[self._index[qid]]

    def position(self, qid: str) -> int:
        """Return the 0-based position of a question in the whole questionnaire."""
        return self._index[qid]

    def section_of(self, qid: str) -> Section:
        """Return the section a question belongs to."""
        return self.sections[self.get(qid).section]

    def is_visible(self, question: Question, answers: Mapping[str, Value]) -> bool:
        """Return whether a question is shown, given the answers so far."""
        if question.when is None:
            return True
        parent = self.get(question.when.id)
        if not self.is_visible(parent, answers):
            return False
        return question.when.matches(answers.get(question.when.id))

    def visible(self, answers: Mapping[str, Value]) -> tuple[Question, ...]:
        """Return the questions shown for these answers, in order."""
        return self._shown(answers)[0]

    def number(self, qid: str, answers: Mapping[str, Value]) -> int:
        """Return the 1-based number of a question among those shown (0 if hidden)."""
        return self._shown(answers)[1].get(qid, -1) + 1

    def _shown(self, answers: Mapping[str, Value]) -> tuple[tuple[Question, ...], dict[str, int]]:
        # Only the answers that conditions look at matter, so they key a small memo (none
        # when no question has a condition: then every question is shown, whatever the answers).
        key = repr([answers.get(p) for p in self._parents]) if self._parents else ""
        shown = self._visible.get(key)
        if shown is None:
            questions = tuple(q for q in self.questions if self.is_visible(q, answers))
            shown = (questions, {q.id: i for i, q in enumerate(questions)})
            if len(self._visible) < 1024:
                self._visible[key] = shown
        return shown

    def missing_required(self, answered: Mapping[str, Value]) -> list[Question]:
        """Return visible required questions without an answer."""
        return [
            q
            for q in self.visible(answered)
            if q.required and is_empty(answered.get(q.id))
        ]

    def progress(self, answers: Mapping[str, Value]) -> tuple[int, int]:
        """Return (answered or skipped, total) over the visible questions."""
        visible = self.visible(answers)
        return sum(1 for q in visible if q.id in answers), len(visible)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able form, the inverse of from_dict."""
        return {"sections": [_section_dict(s) for s in self.sections],
                "appendix": list(self.appendix)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Questionnaire:
        """Build from the JSON-able form made by to_dict."""
        sections = []
        for number, s in enumerate(data["sections"]):
            questions = tuple(_question_from_dict(q, number) for q in s["questions"])
            sections.append(Section(title=s["title"], questions=questions))
        return cls(sections=tuple(sections), appendix=tuple(data.get("appendix") or ()))


def is_empty(value: Value) -> bool:
    return value is None or value == [] or value == ""


def _section_dict(section: Section) -> dict[str, Any]:
    return {"title": section.title, "questions": [_question_dict(q) for q in section.questions]}


def _question_dict(q: Question) -> dict[str, Any]:
    data = asdict(q)
    data["min"] = None if q.min is None else str(q.min)
    data["max"] = None if q.max is None else str(q.max)
    data["target"] = None if q.target is None else str(q.target)
    data["options"] = list(q.options)
    data["when"] = None if q.when is None else {"id": q.when.id, "in": list(q.when.values)}
    del data["section"]
    return data


def _question_from_dict(data: Mapping[str, Any], section: int) -> Question:
    when = data.get("when")
    return Question(
        id=data["id"],
        type=data["type"],
        ask=data["ask"],
        help=data.get("help"),
        required=data.get("required", True),
        min=None if data.get("min") is None else Decimal(str(data["min"])),
        max=None if data.get("max") is None else Decimal(str(data["max"])),
        max_length=data.get("max_length"),
        options=tuple(data.get("options") or ()),
        other=data.get("other", False),
        when=None if when is None else Condition(when["id"], tuple(when["in"])),
        aggregate=data.get("aggregate") or "",
        unit=data.get("unit"),
        section=section,
        chart=data.get("chart", False),
        chart_title=data.get("chart_title"),
        heading=data.get("heading"),
        lead=data.get("lead"),
        weight=data.get("weight"),
        target=None if data.get("target") is None else Decimal(str(data["target"])),
    )


def parse_answer(question: Question, text: str, today: date | None = None) -> Value:
    """Parse one typed message into the stored value of a question, or raise ParseError.

    For list types this parses one item; the engine appends it to the list. `today` resolves
    two-digit years.
    """
    kind = question.type
    if kind in TEXT_TYPES or kind == "list":
        return _check_length(question, parsing.normalize_text(text))
    if kind == "integer":
        return _check_range(question, parsing.parse_integer(text))
    if kind == "money":
        return _check_range(question, parsing.parse_money(text))
    if kind == "number":
        return _decimal_str(_check_range(question, parsing.parse_number(text)))
    if kind == "percent":
        return _decimal_str(_check_range(question, parsing.parse_percent(text)))
    if kind == "date":
        return parsing.parse_date(text, today).isoformat()
    if kind == "yesno":
        return parsing.parse_yesno(text)
    if kind == "choice":
        return _choice_value(parsing.parse_choice(text, question.options, question.other))
    if kind == "multichoice":
        return _choice_value(parsing.parse_multichoice(text, question.options, question.other))
    if kind == "documents":
        _check_length(question, text)
        return _document_value(parsing.parse_document(text, today))
    raise ParseError("file_expected")


def _choice_value(picked: tuple[Sequence[str], str | None]) -> dict[str, Any]:
    selected, other = picked
    return {"selected": list(selected), "other": other}


def _document_value(doc: parsing.Document) -> dict[str, Any]:
    return {
        "kind": doc.kind,
        "number": doc.number,
        "date": None if doc.date is None else doc.date.isoformat(),
        "summary": doc.summary,
    }


def _decimal_str(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def _check_range(question: Question, value: Any) -> Any:
    if question.min is not None and value < question.min:
        raise ParseError("below_min", min=question.min, unit=question.unit)
    if question.max is not None and value > question.max:
        raise ParseError("above_max", max=question.max, unit=question.unit)
    return value


def _check_length(question: Question, text: str) -> str:
    if not text:
        raise ParseError("empty")
    limit = question.limit_length
    if limit is not None and len(text) > limit:
        raise ParseError("too_long", max_length=limit, length=len(text))
    return text


def decode_decimal(value: Value) -> Decimal | None:
    """Return a stored number / percent value as a Decimal."""
    return None if value is None else Decimal(str(value))


def answered_ids(answers: Mapping[str, Value]) -> Iterable[str]:
    """Return the ids whose answer is not empty."""
    return (qid for qid, v in answers.items() if not is_empty(v))
