"""Issue #9, item 4: messages are split without breaking markup; Telegram's own HTML rules (the
fake Bot API's parser) accept every part, and no word is lost."""

from __future__ import annotations

from html import escape, unescape

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.splitting import split_message
from tests.fakebotapi import ApiError, parse_html

WORDS = ["Sở", "Xây", "dựng", "đã", "ban", "hành", "Kế", "hoạch", "số", "692/KH-SXD", "&", "<tổ",
         "chức>", "thực", "hiện", "phong", "trào"]


def plain_words(parts: list[str], html: bool) -> list[str]:
    """Return the words a person reads in the parts, in order."""
    text = " ".join(parse_html(p)[0] if html else p for p in parts)
    return text.split()


def test_a_long_answer_in_italics_is_split_into_valid_parts() -> None:
    answer = escape(" ".join(WORDS * 60)[:3990])
    text = (f"Câu 3/21 · I. Đặc điểm\n<b>Thuận lợi?</b>\n\nTrả lời hiện tại: <i>{answer}</i>."
            " Gửi câu trả lời mới để thay.\n💡 Ví dụ: …")
    parts = split_message(text, 4096, "html")
    assert len(parts) >= 2
    for part in parts:
        assert len(part) <= 4096
        parse_html(part)  # raises ApiError as Telegram's 400 would
    assert any(part.startswith("<i>") for part in parts)  # cut inside the italics, reopened
    assert plain_words(parts, True) == plain_words([text], True)


def test_an_entity_is_never_cut() -> None:
    text = "&amp;" * 300
    for limit in (97, 98, 99, 100, 101):
        parts = split_message(text, limit, "html")
        assert all(len(p) <= limit and p.count("&") == p.count("&amp;") for p in parts)
        assert "".join(parts) == text


def test_a_plain_message_is_cut_at_breaks_and_keeps_every_word() -> None:
    text = "\n\n".join(" ".join(WORDS) for _ in range(60))
    parts = split_message(text, 2000, "plain")
    assert len(parts) > 1 and all(len(p) <= 2000 for p in parts)
    assert all(not p.startswith("\n") and not p.endswith("\n") for p in parts)
    assert plain_words(parts, False) == plain_words([text], False)


@st.composite
def telegram_html(draw: st.DrawFn) -> str:
    """Well-formed Telegram HTML: words, entities, line breaks and nested <b>/<i>/<a>."""
    out: list[str] = []
    stack: list[str] = []
    for _ in range(draw(st.integers(1, 400))):
        kind = draw(st.sampled_from(["word", "word", "word", "space", "break", "open", "close"]))
        if kind == "word":
            out.append(escape(draw(st.sampled_from(WORDS))) * draw(st.integers(1, 3)))
        elif kind == "space":
            out.append(" ")
        elif kind == "break":
            out.append(draw(st.sampled_from(["\n", "\n\n"])))
        elif kind == "open" and len(stack) < 3:
            tag = draw(st.sampled_from(["b", "i", "a"]))
            out.append('<a href="https://example.org/x y">' if tag == "a" else f"<{tag}>")
            stack.append(tag)
        elif kind == "close" and stack:
            out.append(f"</{stack.pop()}>")
    out.extend(f"</{tag}>" for tag in reversed(stack))
    return "".join(out)


@settings(max_examples=300, deadline=None)
@given(text=telegram_html(), limit=st.integers(200, 700))
def test_every_part_is_valid_telegram_html_within_the_limit(text: str, limit: int) -> None:
    parse_html(text)
    parts = split_message(text, limit, "html")
    for part in parts:
        assert len(part) <= limit
        try:
            parse_html(part)
        except ApiError as error:  # pragma: no cover - the failure message names the part
            raise AssertionError(f"{error}: {part!r}") from error
        assert parse_html(part)[0].strip() or len(parts) == 1
    # A word longer than a part is cut inside; nothing but white space is lost or added.
    assert "".join(plain_words(parts, True)) == "".join(plain_words([text], True))


@given(text=st.text(max_size=3000), limit=st.integers(50, 600))
def test_plain_parts_are_within_the_limit_and_lose_nothing_but_spaces(text: str,
                                                                      limit: int) -> None:
    parts = split_message(text, limit, "plain")
    assert all(len(p) <= limit for p in parts)
    assert "".join("".join(parts).split()) == "".join(text.split())


def test_unescaped_reading_is_unchanged() -> None:
    text = "<b>" + escape("A & B < C") * 200 + "</b>"
    parts = split_message(text, 500, "html")
    assert unescape("".join(parse_html(p)[0] for p in parts)).replace(" ", "") == \
        unescape(parse_html(text)[0]).replace(" ", "")
