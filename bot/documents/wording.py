"""The words of the Word reports: short question titles, agency names in normal case,
typographic quotes, a head's title, and the small text helpers the report context uses. The
Vietnamese itself lives in templates/messages/docx.yaml."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING, Any

from bot import texts

if TYPE_CHECKING:
    from bot.questionnaire import Question

__all__ = [
    "display_name",
    "end",
    "inline_subject",
    "lower_first",
    "question_heading",
    "question_label",
    "say",
    "signer_title",
    "strip_end",
    "typographic_quotes",
    "upper",
    "upper_first",
]

_PUNCT_END = (".", "!", "?", "…", ":", ";")


def say(key: str, **context: Any) -> str:
    """Return the plain text of a ``docx.`` message rendered with `context`."""
    return texts.render(f"docx.{key}", "plain", **context)


def question_label(ask: str) -> str:
    """Return a short title for a question: "Tổng số tiền đơn vị đã ủng hộ …" from its text."""
    text = " ".join(unicodedata.normalize("NFC", ask).split())
    first = re.split(r"\?|(?<=[.!])\s", text, maxsplit=1)[0].strip()
    label = first or text
    for pattern in _label_cuts():
        label = pattern.sub("", label)
    label = lower_first(label.strip())
    for pattern, replacement in _label_rewrites():
        label = " ".join(pattern.sub(replacement, label.strip()).split())
    label = " ".join(label.replace("?", " ").split()).rstrip(" .,;:")
    return upper_first(label or " ".join(text.replace("?", " ").split()))


def question_heading(question: Question) -> str:
    """Return the heading a report, the chat summary, a chart or the spreadsheet shows for a
    question: the campaign file's ``report.heading``, else one derived from the question's text
    by `question_label` (never a question)."""
    return question.heading or question_label(question.ask)


@cache
def _label_cuts() -> tuple[re.Pattern[str], ...]:
    lines = say("label_cut").splitlines()
    return tuple(re.compile(line.strip(), re.IGNORECASE) for line in lines if line.strip())


@cache
def _label_rewrites() -> tuple[tuple[re.Pattern[str], str], ...]:
    rules = []
    for line in say("label_rewrite").splitlines():
        pattern, _, replacement = line.partition("=>")
        if pattern.strip():
            rules.append((re.compile(pattern.strip(), re.IGNORECASE), replacement))
    return tuple(rules)


def display_name(name: str, hints: Iterable[str] = ()) -> str:
    """Return an agency name in normal case: "SỞ NỘI VỤ" -> "Sở Nội vụ".

    A name written in normal case is kept. An upper-case one is looked up in the hints (the
    request, the title, the unit names), else rewritten: acronyms kept, "tỉnh", "huyện" … in
    lower case with the place name after them capitalised, otherwise the first two words
    capitalised and the rest in lower case.
    """
    name = " ".join(unicodedata.normalize("NFC", name).split())
    if name != name.upper():
        return name
    folded = name.casefold()
    for hint in hints:
        flat = " ".join(unicodedata.normalize("NFC", hint).split())
        at = flat.casefold().find(folded)
        if at >= 0 and len(flat.casefold()) == len(flat):
            return flat[at:at + len(name)]
    acronyms = set(say("acronyms").split())
    levels = say("admin_levels").split("|")
    lowered = name.lower()
    joins = set(say("name_joins").split("|"))
    for level in levels:
        found = next((m for m in re.finditer(rf"(?:^|\s){re.escape(level)}\s", lowered)
                      if not set(lowered[:m.start()].split()[-1:]) & joins), None)
        if found:
            head_words = name[:found.start()].split()
            if " ".join(head_words).lower() in say("plain_heads").split("|"):
                head = [head_words[0].capitalize(), *(w.lower() for w in head_words[1:])]
            else:
                head = _generic_case(head_words, acronyms)
            tail = [w.capitalize() for w in name[found.end():].split()]
            return " ".join([*head, level, *tail])
    return " ".join(_generic_case(name.split(), acronyms))


def _generic_case(words: list[str], acronyms: set[str]) -> list[str]:
    """Return the words of an upper-case name in normal case: the head ("Sở") and the first
    word of each part capitalised, the parts being what "và", "," and " - " join ("Sở Nông
    nghiệp và Phát triển nông thôn", "Sở Văn hóa, Thể thao và Du lịch"), the rest lower."""
    joins = set(say("name_joins").split("|"))
    result = []
    starts_part = True
    for i, word in enumerate(words):
        lowered = word.lower()
        if word in acronyms:
            result.append(word)
        elif lowered in joins:
            result.append(lowered)
        elif i < 2 or starts_part:
            result.append(word.capitalize())
        else:
            result.append(lowered)
        starts_part = lowered in joins or word.endswith(",") or i == 0
    return result


def typographic_quotes(text: str) -> str:
    """Return the text with straight double quotes paired as “…” (left as is when unpaired)."""
    if text.count('"') % 2:
        return text
    parts = text.split('"')
    return "".join(p + ("“" if i % 2 == 0 else "”") if i < len(parts) - 1 else p
                   for i, p in enumerate(parts))


def signer_title(agency: str) -> str:
    """Return the head's title for an agency name ("SỞ NỘI VỤ" -> "GIÁM ĐỐC")."""
    name = upper(" ".join(agency.split()))
    for line in say("signer_titles").splitlines():
        prefix, _, title = line.partition("=")
        if prefix.strip() and name.startswith(upper(prefix.strip()) + " "):
            return title.strip()
    return say("signer_title")


def inline_subject(subject: str) -> str:
    """Return the subject for use after "Trên đây là báo cáo …", without a second "báo cáo"."""
    word = say("doc_type_word")
    if subject.casefold().startswith(word.casefold() + " "):
        subject = subject[len(word) + 1:]
    return lower_first(subject)


def upper(text: str) -> str:
    """Return the text NFC-normalised and in upper case."""
    return unicodedata.normalize("NFC", text).upper()


def upper_first(text: str) -> str:
    """Return the text with its first letter in upper case."""
    return text[:1].upper() + text[1:]


def lower_first(text: str) -> str:
    """Lower the first letter unless the first word is an acronym ("COVID", "UBND")."""
    first = text.split(" ", 1)[0]
    if len(first) > 1 and first.isupper():
        return text
    return text[:1].lower() + text[1:]


def strip_end(text: str) -> str:
    """Return the text stripped of spaces and of trailing full stops, semicolons, commas."""
    return text.strip().rstrip(".;,")


def end(text: str) -> str:
    """Return the text stripped and ending in punctuation (a full stop added if needed)."""
    text = text.strip()
    return text if text.endswith(_PUNCT_END) else text + "."
