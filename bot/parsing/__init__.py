"""Read what people type in Vietnamese: numbers, money, percent, dates, yes/no, choices, documents.

Pure functions over str, stdlib only. Every failure is a ParseError whose code names the message
template ``error.<code>`` in templates/messages/parsing.yaml; its params are the template variables.

This package's API; each reader lives in the submodule that owns it: text (ParseError, fold,
normalize_text), numbers (integer, number, percent, money), dates, choices (yes/no, choice,
multichoice) and documents.
"""

from __future__ import annotations

from bot.parsing.choices import parse_choice, parse_multichoice, parse_yesno
from bot.parsing.dates import parse_date
from bot.parsing.documents import Document, parse_document
from bot.parsing.numbers import parse_integer, parse_money, parse_number, parse_percent
from bot.parsing.text import ParseError, clean_text, fold, normalize_text

__all__ = [
    "Document",
    "ParseError",
    "clean_text",
    "fold",
    "normalize_text",
    "parse_choice",
    "parse_date",
    "parse_document",
    "parse_integer",
    "parse_money",
    "parse_multichoice",
    "parse_number",
    "parse_percent",
    "parse_yesno",
]
