"""What the engine shows: questions with progress and buttons, the answer sheet, edit lists.

Texts come from the catalogue (templates/messages/engine.yaml); this module only builds their
context and the button rows, falling back to numbered lines when a channel has no buttons.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from functools import lru_cache
from typing import Any, NamedTuple

from bot import texts
from bot.campaigns.spec import CampaignSpec
from bot.channels.base import Button, Capabilities
from bot.display import format_value
from bot.documents.numwords import amount_in_words
from bot.questionnaire import Question, is_empty

Rows = tuple[tuple[Button, ...], ...]


class SheetRow(NamedTuple):
    """One question of the answer sheet or the edit list, as its templates read it.

    Attributes, not a dict: Jinja2 tries `row.number` as an attribute first and reaches a
    dict's key only after an AttributeError (``row["number"]`` still works)."""

    number: int
    ask: str
    value: str | None
    required: bool
    missing: bool


class SheetSection(NamedTuple):
    """A section of the answer sheet: its title and its visible questions."""

    title: str
    rows: list[SheetRow]


class Prompter:
    """Renders the engine's messages for one round and one channel."""

    def __init__(self, caps: Capabilities, spec: CampaignSpec, unit_name: str) -> None:
        self.caps = caps
        self.spec = spec
        self.unit_name = unit_name
        self.questionnaire = spec.questionnaire

    @staticmethod
    def say(caps: Capabilities, key: str, **context: Any) -> str:
        """Render one catalogue message in the channel's format."""
        return texts.render(key, caps.format, **context)

    def render(self, key: str, **context: Any) -> str:
        """Render a message with the round's common context."""
        return self.say(self.caps, key, title=self.spec.title, unit=self.unit_name,
                        buttons=self.caps.buttons, **context)

    def welcome(self, total: int, returning: bool) -> str:
        """Greet the contact with the round, the deadline and the number of questions: the
        questions shown now (as "Câu x/y" counts them) and how many more answers may open."""
        extra = len(self.questionnaire.questions) - total
        return self.render("engine.welcome", deadline=self.spec.deadline, total=total,
                           extra=extra, returning=returning)

    def question_text(self, question: Question, draft: Mapping[str, Any],
                      answers: Mapping[str, Any]) -> str:
        """Return the question's text with progress, section, hint and current answer."""
        visible = self.questionnaire.visible(answers)
        number = self.questionnaire.number(question.id, answers)
        has_answer = question.id in answers
        current = format_value(question, answers[question.id]) if has_answer else None
        section = self.questionnaire.section_of(question.id).title
        caps = self.caps if self.shows_buttons(question) else replace(self.caps, buttons=False)
        key = (caps, question, section, number, len(visible), current,
               tuple(self._items(question, answers.get(question.id))), tuple(_picked(draft)))
        return _question_text(*key)

    def understood(self, question: Question, value: Any) -> str:
        """Return the confirmation that shows a converted answer as a Vietnamese reader checks it:
        "✔️ Đã lưu: 1.500.000.000 đồng (một tỷ, năm trăm triệu đồng)."."""
        words = None
        if question.type == "money" and value is not None:
            spelled = amount_in_words(int(value))
            words = spelled[:1].lower() + spelled[1:]
        return self.say(self.caps, "engine.saved_value", value=format_value(question, value),
                        kind=question.type, words=words)

    @staticmethod
    def _items(question: Question, value: Any) -> list[str]:
        if not question.is_list or not value:
            return []
        return [format_value(question, [item]) for item in value]


    def shows_buttons(self, question: Question) -> bool:
        """Return whether a question's choices go as buttons: the channel has them, and as
        many as its choices (Zalo OA: 5); else they are numbered lines."""
        limit = self.caps.max_buttons
        return self.caps.buttons and (limit is None or _choice_count(question) <= limit)

    def buttons(self, question: Question, draft: Mapping[str, Any]) -> Rows:
        """Return the button rows of a question; none when the channel has no buttons (or too
        few for its choices); the back/skip row is left out when it would not fit."""
        if not self.shows_buttons(question):
            return ()
        rows = _rows(question, tuple(_picked(draft)))
        limit = self.caps.max_buttons
        if limit is not None and sum(len(row) for row in rows) > limit:
            return rows[:-1]  # typing «quay lại» / «bỏ qua» still works
        return rows

    def toggle(self, question: Question, draft: Mapping[str, Any], index: str) -> dict[str, Any]:
        """Return the draft with one multichoice option switched on or off."""
        picked = set(_picked(draft))
        if index.isdigit() and 1 <= int(index) <= len(question.options):
            picked ^= {int(index)}
        return {**draft, "selected": sorted(picked)}

    @staticmethod
    def button_value(question: Question, action: str, draft: Mapping[str, Any]) -> Any:
        """Return the answer value a yes/no, choice or multichoice "done" button stands for."""
        if question.type == "yesno" and action in ("y", "n"):
            return action == "y"
        if question.type == "choice" and action.isdigit() \
                and 1 <= int(action) <= len(question.options):
            return {"selected": [question.options[int(action) - 1]], "other": None}
        if question.type == "multichoice" and action == "done" and _picked(draft):
            labels = [question.options[i - 1] for i in sorted(_picked(draft))
                      if 1 <= i <= len(question.options)]
            return {"selected": labels, "other": None}
        return None

    def review(self, submitted: bool, answers: Mapping[str, Any]) -> str:
        """Return the answer sheet grouped by section, marking what is missing."""
        visible = self.questionnaire.visible(answers)
        numbers = {q.id: i for i, q in enumerate(visible, 1)}
        sections = []
        for section in self.questionnaire.sections:
            rows = [self._row(q, numbers[q.id], answers) for q in section.questions
                    if q.id in numbers]
            if rows:
                sections.append(SheetSection(section.title, rows))
        missing = self.questionnaire.missing_required(answers)
        return self.render("engine.review", sections=sections, missing=len(missing),
                           submitted=submitted)

    def _row(self, question: Question, number: int, answers: Mapping[str, Any]) -> SheetRow:
        answered = question.id in answers
        return SheetRow(number, question.ask,
                        format_value(question, answers[question.id]) if answered else None,
                        question.required,
                        question.required and is_empty(answers.get(question.id)))

    def edit_list(self, answers: Mapping[str, Any]) -> str:
        """Return the numbered list of questions to pick one to edit."""
        visible = self.questionnaire.visible(answers)
        rows = [self._row(q, i, answers) for i, q in enumerate(visible, 1)]
        return self.render("engine.edit_list", rows=rows)

    def missing(self, questions: list[Question], answers: Mapping[str, Any]) -> str:
        """Return the refusal to submit, naming the required questions without an answer."""
        visible = self.questionnaire.visible(answers)
        numbers = {q.id: i for i, q in enumerate(visible, 1)}
        rows = [{"number": numbers[q.id], "ask": q.ask} for q in questions]
        return self.render("engine.submit_missing", rows=rows)


@lru_cache(maxsize=4096)
def _question_text(caps: Capabilities, question: Question, section: str, number: int, total: int,
                   current: str | None, items: tuple[str, ...], picked: tuple[int, ...]) -> str:
    """Render a question prompt; a pure function of its arguments, so the same prompt that
    many units reach is rendered once."""
    if question.type == "yesno":
        choices = [texts.render("word.yes"), texts.render("word.no")]
    else:
        choices = list(question.options)
    return Prompter.say(
        caps, "engine.question", q=question, section=section, number=number, total=total,
        first=number == 1, current=current, items=items, picked=picked, choices=choices,
        buttons=caps.buttons, hint=question.help or texts.render("hint." + question.type),
    )


@lru_cache(maxsize=4096)
def _rows(question: Question, picked: tuple[int, ...]) -> Rows:
    """Return every button row of a question with these options ticked; a pure function of its
    arguments, so the keyboard that many units are shown is built once."""
    qid = question.id
    rows: list[tuple[Button, ...]] = []
    if question.type == "yesno":
        rows.append((Button(texts.render("word.yes"), f"{qid}:y"),
                     Button(texts.render("word.no"), f"{qid}:n")))
    elif question.type == "choice":
        rows += [(Button(label, f"{qid}:{i}"),) for i, label in enumerate(question.options, 1)]
    elif question.type == "multichoice":
        rows += [(Button(_tick(label, i in picked), f"{qid}:t{i}"),)
                 for i, label in enumerate(question.options, 1)]
    if question.type == "multichoice" or question.is_list:
        rows.append((Button(texts.render("button.done"), f"{qid}:done"),))
    controls = [Button(texts.render("button.back"), f"{qid}:back")]
    if not question.required:
        controls.append(Button(texts.render("button.skip"), f"{qid}:skip"))
    rows.append(tuple(controls))
    return tuple(rows)


def _choice_count(question: Question) -> int:
    """Return the buttons a question's choices need (its options, and «Xong» to finish)."""
    count = 2 if question.type == "yesno" else len(question.options)
    return count + (question.type == "multichoice" or question.is_list)


def _picked(draft: Mapping[str, Any]) -> list[int]:
    return [int(i) for i in draft.get("selected", [])]


def _tick(label: str, on: bool) -> str:
    return f"✅ {label}" if on else label
