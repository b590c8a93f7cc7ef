"""Answer values as people read them: 1.525.000.000 đồng, 87,75 %, 04/10/2021."""

from __future__ import annotations

from typing import Any

from bot import texts
from bot.questionnaire import Question, is_empty


def format_value(question: Question, value: Any) -> str:
    """Return a stored answer as a person reads it (plain text, not escaped)."""
    if is_empty(value):  # skipped, or a list ended with no item
        return texts.render("word.skipped")
    kind = question.type
    if kind == "money":
        return texts.render("word.money", amount=texts.vn_int(value))
    if kind == "percent":
        return f"{texts.vn_dec(value)} %"
    if kind in ("integer", "number"):
        number = texts.vn_int(value) if kind == "integer" else texts.vn_dec(value)
        return f"{number} {question.unit}" if question.unit else number
    if kind == "date":
        return texts.vn_date(value)
    if kind == "yesno":
        return texts.render("word.yes" if value else "word.no")
    if kind in ("choice", "multichoice"):
        return format_choice(value)
    if kind == "documents":
        return "; ".join(format_document(d) for d in value)
    if kind == "list":
        return "; ".join(value)
    if kind == "file":
        return ", ".join(f["name"] for f in value)
    return str(value)


def format_choice(value: dict[str, Any]) -> str:
    """Return the chosen labels, then the "other" text."""
    items = list(value.get("selected") or [])
    if value.get("other"):
        items.append(texts.render("word.other", text=value["other"]))
    return ", ".join(items)


def format_document(doc: dict[str, Any]) -> str:
    """Return "Kế hoạch số 692/KH-SXD ngày 04/10/2021 tổ chức …"."""
    date = texts.vn_date(doc["date"]) if doc.get("date") else None
    return texts.render(
        "word.document", kind=doc.get("kind"), number=doc.get("number"), date=date,
        summary=doc.get("summary") or "",
    )
