"""The conversation with a unit contact: one question at a time, review, edit, submit.

`Engine.handle` is the async shell: it asks the store to run `decide` — a pure function of the
contact's stored state and one Incoming — inside a single transaction, so every change is
committed before the reply that confirms it is returned. Nothing here knows a platform: a
channel passes its Capabilities and sends back the Outgoing list.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from typing import Any

from bot import parsing
from bot.channels.base import Capabilities, Incoming, Outgoing
from bot.display import format_document
from bot.model import Changes, ContactState, Session
from bot.prompts import Prompter
from bot.questionnaire import TEXT_TYPES, Question, parse_answer
from bot.store import Store
from bot.store.outbox import task

Clock = Callable[[], datetime]

SKIP = frozenset({"bo qua", "/skip"})
BACK = frozenset({"quay lai", "/back"})
DONE = frozenset({"xong", "/done"})
CLEAR = frozenset({"xoa", "xoa het", "lam lai"})
# Keywords that mean something only in a list; typed where free text is asked, they are checked.
KEYWORDS = {**dict.fromkeys(DONE - {"/done"}, "word.keyword_done"),
            **dict.fromkeys(CLEAR, "word.keyword_clear")}
HAS_DIGIT = re.compile(r"\d")  # any digit `fold` keeps (it keeps every one)
assert not any(HAS_DIGIT.search(word) for word in SKIP | BACK | DONE | CLEAR)
CONTACT_COMMANDS = frozenset({"start", "help", "review", "edit", "submit", "whoami"})
# The shape of an invite token (bot.store.new_token): a message that is only a valid one binds
# like /start <token>, for channels without deep links (Zalo).
INVITE_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


def utc_now() -> datetime:
    """Return the current time, timezone-aware."""
    return datetime.now(UTC)


def split_command(text: str | None) -> tuple[str | None, str]:
    """Return ("edit", "3") for "/edit 3"; (None, text) for ordinary text."""
    if not text or not text.startswith("/"):
        return None, text or ""
    head, _, rest = text[1:].partition(" ")
    return head.split("@", 1)[0].lower(), rest.strip()


class Engine:
    """Runs conversation steps against a store.

    A `durable` engine writes every reply to the outbox in the step's own transaction (the
    sender delivers them); an incoming processed before then gives nothing new. The terminal
    channel prints the replies itself and is not durable.
    """

    def __init__(self, store: Store, clock: Clock = utc_now, durable: bool = False) -> None:
        self.store = store
        self.clock = clock
        self.durable = durable

    async def handle(
        self, incoming: Incoming, caps: Capabilities, campaign_id: int | None = None
    ) -> list[Outgoing]:
        """Process one Incoming and return the replies to send."""
        now = self.clock()
        command, arg = split_command(incoming.text)
        if command is None and INVITE_TOKEN.fullmatch(arg.strip()) and \
                await self.store.find_invite(arg.strip()) is not None:
            command, arg = "start", arg.strip()  # only the token sent: as /start <token>
        if command == "start" and arg:
            invite = await self.store.find_invite(arg)
            if invite is None:
                return await self.owe(incoming, [_reply(incoming, caps, "engine.bad_invite")])
            _, previous = await self.store.bind(incoming.channel, incoming.chat_id,
                                                incoming.user_id, invite[1], now, incoming.name)
            campaign_id = invite[0]
            incoming = replace(incoming, text=None, switched_from=previous)
        return await self.store.step(
            incoming.channel, incoming.chat_id, incoming.user_id,
            _update_key(incoming),
            partial(decide, incoming=incoming, caps=caps, now=now, durable=self.durable),
            now, campaign_id, self.durable,
        )

    async def owe(self, incoming: Incoming, replies: list[Outgoing]) -> list[Outgoing]:
        """Return replies made outside a step; a durable engine owes them first (once)."""
        if not self.durable:
            return replies
        key = _update_key(incoming)
        if key is None:
            await self.store.outbox.owe(f"reply:{uuid.uuid4().hex}", replies, self.clock())
            return replies
        fresh = await self.store.outbox.owe(f"{incoming.channel}:{key}", replies, self.clock(),
                                            key=(incoming.channel, key))
        return replies if fresh else []

    async def processed(self, incoming: Incoming) -> bool:
        """Return whether this incoming was processed before (a redelivery)."""
        key = _update_key(incoming)
        return key is not None and await self.store.outbox.processed(incoming.channel, key)

    async def bind(self, channel: str, chat_id: str, unit_code: str) -> None:
        """Bind a chat to a unit directly (the terminal channel, tests)."""
        await self.store.bind(channel, chat_id, None, unit_code, self.clock())


def _update_key(incoming: Incoming) -> str | None:
    return None if incoming.message_id is None else f"{incoming.chat_id}:{incoming.message_id}"


def _reply(incoming: Incoming, caps: Capabilities, key: str, **context: Any) -> Outgoing:
    return Outgoing(incoming.chat_id, Prompter.say(caps, key, **context), channel=incoming.channel)


def decide(
    state: ContactState, incoming: Incoming, caps: Capabilities, now: datetime,
    durable: bool = False,
) -> tuple[Changes, Callable[[], list[Outgoing]]]:
    """Return what to write for one Incoming and how to render the reply (pure).

    The reply is rendered by calling the second item; the store does that while the write is
    under way, so the text is ready when the commit is, and never sent before it.
    """
    turn = Turn(state, incoming, caps, now, durable)
    turn.run()
    return turn.changes, turn.outgoing


class Turn:
    """One step of one contact's conversation, collecting changes and reply parts."""

    def __init__(self, state: ContactState, incoming: Incoming, caps: Capabilities,
                 now: datetime, durable: bool = False) -> None:
        self.state = state
        self.durable = durable  # follow-ups are owed as task rows
        self.incoming = incoming
        self.caps = caps
        self.now = now
        self.changes = Changes()
        self.answers = dict(state.answers)
        self.session = state.session or Session()
        self.prompter: Prompter | None = None
        if state.campaign is not None:
            self.prompter = Prompter(caps, state.campaign.spec, state.unit_name or "")
        self.parts: list[Callable[[], str]] = []  # rendered by `outgoing`, after the write
        self.buttons: Callable[[], Any] = tuple
        self.asked: str | None = None

    # plumbing -----------------------------------------------------------------------------

    def say(self, key: str, **context: Any) -> None:
        """Add a paragraph of reply text."""
        self.parts.append(partial(Prompter.say, self.caps, key, **context))

    def show(self, render: Callable[..., str], *args: Any) -> None:
        """Add a paragraph rendered later by `render(*args, answers)` from the answers as of now."""
        self.parts.append(partial(render, *args, dict(self.answers)))

    def outgoing(self) -> list[Outgoing]:
        """Return the reply as one message to the contact's chat."""
        text = "\n\n".join(p for p in (part() for part in self.parts) if p)
        extra = {"question": self.asked} if self.asked else {}
        if self.changes.unit_status == "submitted" and self.state.campaign is not None:
            extra.update(event="submitted", campaign=str(self.state.campaign.id),
                         unit=self.state.contact.unit_code or "")
        reply = Outgoing(self.incoming.chat_id, text, self.buttons(),
                         channel=self.incoming.channel, extra=extra)
        if "event" in extra and self.durable:  # the unit's report (and the compile) follow
            return [reply, task(reply.channel, reply.chat_id, "after_submit",
                                campaign=extra["campaign"], unit=extra["unit"])]
        return [reply]

    def set_session(self, **fields: Any) -> None:
        """Move the contact's cursor or mode; written with the rest of the step."""
        self.session = Session(**{**self.session.__dict__, **fields})
        self.changes.session = self.session

    @property
    def questionnaire(self) -> Any:
        assert self.state.campaign is not None
        return self.state.campaign.spec.questionnaire

    # dispatch -----------------------------------------------------------------------------

    def run(self) -> None:
        """Dispatch the Incoming."""
        command, arg = split_command(self.incoming.text)
        if command == "whoami":
            user = self.incoming.user_id or self.incoming.chat_id
            self.say("engine.whoami", user_id=user, chat_id=self.incoming.chat_id,
                     entry=f"{self.incoming.channel}:{user}")
            return
        if command == "help":
            self.say("engine.help")
            return
        if self.state.contact.unit_code is None:
            self.say("engine.not_bound")
            return
        if self.state.campaign is None or self.state.unit_status is None:
            self.say("engine.no_campaign")
            return
        if self.state.duplicate:
            self.resume()
            return
        if command is not None and command not in CONTACT_COMMANDS:
            self.say("engine.unknown_command", command=command)
            self.resume()
            return
        self.dispatch(command, arg)

    def dispatch(self, command: str | None, arg: str) -> None:
        """Route a command, a button or typed text by the session's mode."""
        opened = self.incoming.text is None and self.incoming.button is None
        if command == "start" or (self.state.session is None and command is None) or (
                opened and self.incoming.attachment is None):
            self.greet()
        elif command == "review":
            self.review()
        elif command == "edit":
            self.start_edit(arg)
        elif command == "submit":
            self.submit()
        elif self.closed():
            self.say("engine.closed")
        elif self.session.mode in ("asking", "editing") and self.session.cursor:
            self.answer(self.questionnaire.get(self.session.cursor))
        elif self.session.mode == "asking":  # cursor reset (the sheet was returned)
            self.advance(None)
        elif self.session.mode == "edit_pick":
            self.pick_edit(self.incoming.text or "")
        elif self.session.mode == "submitted":
            self.say("engine.already_submitted")
        else:
            self.say("engine.in_review")

    def closed(self) -> bool:
        """Return whether the round no longer takes changes."""
        assert self.state.campaign is not None
        return self.state.campaign.status == "closed"

    # asking -------------------------------------------------------------------------------

    def greet(self) -> None:
        """Welcome a contact (first time) or show where they are (coming back)."""
        assert self.prompter is not None
        visible = self.questionnaire.visible(self.answers)
        returning = self.state.session is not None
        if self.incoming.switched_from is not None:
            self.say("engine.switched_unit", unit=self.state.unit_name,
                     previous=self.incoming.switched_from)
        self.parts.append(partial(self.prompter.welcome, len(visible), returning))
        if self.state.session is None and self.state.unit_status in ("submitted", "edited"):
            self.set_session(mode="submitted", cursor=None)
        if self.state.session is None and self.session.mode != "submitted":
            self.advance(None)
        else:
            self.resume()

    def resume(self) -> None:
        """Show the contact's current question, or the sheet when there is none."""
        if self.session.mode in ("asking", "editing") and self.session.cursor:
            self.ask(self.questionnaire.get(self.session.cursor))
        elif self.session.mode == "asking":  # cursor reset (the sheet was returned)
            self.advance(None)
        elif self.session.mode == "edit_pick":
            self.show_edit_list()
        elif self.session.mode == "submitted":
            self.say("engine.already_submitted")
        else:
            self.review()

    def ask(self, question: Question) -> None:
        """Add the question with progress, hint, current answer and buttons."""
        assert self.prompter is not None
        self.show(self.prompter.question_text, question, self.session.draft)
        self.buttons = partial(self.prompter.buttons, question, self.session.draft)
        self.asked = question.id

    def answer(self, question: Question) -> None:
        """Take typed text or a pressed button as the answer to `question`."""
        if self.incoming.button is not None:
            self.press(question, self.incoming.button)
            return
        text = self.incoming.text or ""
        # Keywords are short and have no digit: a number typed is never folded to look for one.
        word = parsing.fold(text) if len(text) <= 16 and not HAS_DIGIT.search(text) else ""
        if word in BACK:
            self.back(question)
        elif word in SKIP:
            self.skip(question)
        elif question.is_list and word in DONE:
            self.finish_list(question)
        elif question.is_list and word in CLEAR:
            self.store_answer(question, [], None)
            self.say("engine.list_cleared")
            self.ask(question)
        elif self.incoming.attachment is not None and question.type == "file":
            self.add_item(question, self.file_item(), self.incoming.attachment.name)
        elif self.incoming.attachment is not None and not text.strip():
            self.say("engine.file_not_expected")  # a file alone where words are asked
            self.ask(question)
        elif question.type in TEXT_TYPES and word in KEYWORDS and \
                self.session.draft.get("confirm") != word:
            self.confirm_keyword(question, text, word)
        else:
            self.parse_and_store(question, text)

    def confirm_keyword(self, question: Question, text: str, word: str) -> None:
        """Ask whether a keyword typed where free text is asked was meant as the answer."""
        self.set_session(draft={"confirm": word})
        self.say("engine.keyword_confirm", word=text.strip(),
                 meaning=Prompter.say(self.caps, KEYWORDS[word]))
        assert self.prompter is not None
        self.buttons = partial(self.prompter.buttons, question, self.session.draft)
        self.asked = question.id

    def parse_and_store(self, question: Question, text: str) -> None:
        """Parse text for the question; store and move on, or explain and ask again."""
        try:
            value = parse_answer(question, text, self.now.date())
        except parsing.ParseError as error:
            self.say_error(error)
            self.ask(question)
            return
        if question.is_list:
            self.add_item(question, value, text)
            return
        self.accept(question, value, text)

    def accept(self, question: Question, value: Any, raw: str | None) -> None:
        """Store a complete answer, confirm it (with what was understood) and move on."""
        self.store_answer(question, value, raw)
        # A pressed button shows nothing in the chat (Telegram's inline buttons, the OA's hidden
        # query buttons): the confirmation names what was picked, as it does for typed values.
        if question.type not in TEXT_TYPES and self.prompter is not None:
            self.parts.append(partial(self.prompter.understood, question, value))
        else:
            self.say("engine.saved")
        self.next_after(question)

    def say_error(self, error: parsing.ParseError) -> None:
        """Explain in one short sentence why the input was refused."""
        self.say("error." + error.code, **error.params)

    def add_item(self, question: Question, item: Any, raw: str | None) -> None:
        """Append one item to a list answer and invite the next one."""
        items = list(self.answers.get(question.id) or [])
        items.append(item)
        self.store_answer(question, items, raw)
        shown = format_document(item) if question.type == "documents" else None
        self.say("engine.list_added", count=len(items), item=shown)
        assert self.prompter is not None
        self.buttons = partial(self.prompter.buttons, question, self.session.draft)
        self.asked = question.id

    def file_item(self) -> dict[str, Any]:
        """Return the stored metadata of the attached file."""
        file = self.incoming.attachment
        assert file is not None
        return {"name": file.name, "mime": file.mime, "size": file.size, "file_id": file.file_id}

    def finish_list(self, question: Question) -> None:
        """End a list question; a required one needs at least one item."""
        if question.required and not self.answers.get(question.id):
            self.say("engine.list_empty_required")
            self.ask(question)
            return
        if question.id not in self.answers:
            self.store_answer(question, [], None)
        self.next_after(question)

    def skip(self, question: Question) -> None:
        """Skip an optional question (stored as None); a required one is asked again."""
        if question.required:
            self.say("engine.required")
            self.ask(question)
            return
        if question.is_list and self.answers.get(question.id):
            self.finish_list(question)
            return
        self.store_answer(question, None, None)
        self.next_after(question)

    def back(self, question: Question) -> None:
        """Go back one visible question (or leave an edit unchanged)."""
        if self.session.mode == "editing":
            self.return_from_edit()
            return
        visible = self.questionnaire.visible(self.answers)
        index = self.questionnaire.number(question.id, self.answers) - 1
        if index <= 0:
            self.say("engine.first_question")
            self.ask(question)
            return
        self.set_session(mode="asking", cursor=visible[index - 1].id, draft={})
        self.ask(visible[index - 1])

    def press(self, question: Question, data: str) -> None:
        """Act on a button; a button of another question has expired."""
        assert self.prompter is not None
        qid, _, action = data.partition(":")
        if qid != question.id:
            self.say("engine.button_expired")
            self.ask(question)
            return
        if action.startswith("t"):
            self.set_session(draft=self.prompter.toggle(question, self.session.draft, action[1:]))
            self.ask(question)
            return
        value = self.prompter.button_value(question, action, self.session.draft)
        if action == "back":
            self.back(question)
        elif action == "skip":
            self.skip(question)
        elif action == "done" and question.is_list:
            self.finish_list(question)
        elif value is not None:
            self.accept(question, value, None)
        elif action == "done":  # multichoice with nothing ticked
            self.say("engine.pick_one")
            self.ask(question)
        else:
            self.say("engine.button_expired")
            self.ask(question)

    def store_answer(self, question: Question, value: Any, raw: str | None) -> None:
        """Record an answer and the unit status it implies."""
        previous = self.answers.get(question.id)
        self.answers[question.id] = value
        self.changes.answers[question.id] = (value, raw)
        if self.session.draft:
            self.set_session(draft={})
        status = self.state.unit_status
        if status == "not_started":
            self.changes.unit_status = "in_progress"
        elif status == "submitted" and previous != value:
            self.changes.unit_status = "edited"
            self.say("engine.edited_after_submit")

    def next_after(self, question: Question) -> None:
        """Continue after a finished question: back to an edit's origin or onwards."""
        if self.session.mode == "editing":
            self.return_from_edit()
        else:
            self.advance(question.id)

    def advance(self, after: str | None) -> None:
        """Ask the next unanswered visible question, or show the sheet when none is left."""
        visible = self.questionnaire.visible(self.answers)
        start = 0 if after is None else self.questionnaire.number(after, self.answers)
        following = (q for q in (*visible[start:], *visible[:start]) if q.id not in self.answers)
        pending = next(following, None)
        if pending is not None:
            self.set_session(mode="asking", cursor=pending.id, draft={})
            self.ask(pending)
        else:
            self.set_session(mode="review", cursor=None, draft={})
            self.say("engine.all_answered")
            self.review()

    # review, edit, submit -----------------------------------------------------------------

    def review(self) -> None:
        """Show the whole answer sheet and what is still missing."""
        assert self.prompter is not None
        submitted = self.state.unit_status in ("submitted",) and not self.changes.unit_status
        self.show(self.prompter.review, submitted)
        if self.session.mode in ("asking", "editing") and self.session.cursor:
            self.ask(self.questionnaire.get(self.session.cursor))

    def start_edit(self, arg: str) -> None:
        """Offer the questions to edit, or open the one named in "/edit 3"."""
        if self.closed():
            self.say("engine.closed")
            return
        if self.session.mode != "edit_pick":
            self.set_session(return_mode=self.session.mode if self.session.mode != "editing"
                             else self.session.return_mode,
                             return_to=self.session.cursor if self.session.mode == "asking"
                             else self.session.return_to)
        self.set_session(mode="edit_pick", cursor=None, draft={})
        if arg:
            self.pick_edit(arg)
        else:
            self.show_edit_list()

    def show_edit_list(self) -> None:
        """List the visible questions by number with their answers."""
        assert self.prompter is not None
        self.show(self.prompter.edit_list)

    def pick_edit(self, text: str) -> None:
        """Open the question picked by number or id."""
        visible = self.questionnaire.visible(self.answers)
        word = parsing.fold(text)
        if word in BACK:
            self.return_from_edit()
            return
        picked = [q for q in visible if q.id == word]
        if not picked and word.isdigit() and 1 <= int(word) <= len(visible):
            picked = [visible[int(word) - 1]]
        if not picked:
            self.say("engine.edit_bad_pick", count=len(visible))
            self.show_edit_list()
            return
        self.set_session(mode="editing", cursor=picked[0].id, draft={})
        self.ask(picked[0])

    def return_from_edit(self) -> None:
        """Go back to where the contact was before /edit."""
        mode, origin = self.session.return_mode, self.session.return_to
        self.set_session(return_mode=None, return_to=None)
        visible_ids = {q.id for q in self.questionnaire.visible(self.answers)}
        if mode == "asking" and origin in visible_ids and origin not in self.answers:
            self.set_session(mode="asking", cursor=origin, draft={})
            self.ask(self.questionnaire.get(origin))
        elif mode == "submitted" and self.changes.unit_status is None:
            self.set_session(mode="submitted", cursor=None, draft={})
            self.review()
        else:
            self.advance(origin if mode == "asking" else None)

    def submit(self) -> None:
        """Submit the sheet, or name the required answers still missing."""
        if self.closed():
            self.say("engine.closed")
            return
        missing = self.questionnaire.missing_required(self.answers)
        if missing:
            assert self.prompter is not None
            self.show(self.prompter.missing, missing)
            self.resume()
            return
        if self.state.unit_status == "submitted":
            self.say("engine.already_submitted")
            return
        self.changes.unit_status = "submitted"
        self.set_session(mode="submitted", cursor=None, return_mode=None, return_to=None, draft={})
        self.say("engine.submit_ok", unit=self.state.unit_name, when=self.now)
