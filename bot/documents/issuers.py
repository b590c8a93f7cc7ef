"""Who issues, signs and receives a report: the header of a unit's own report (its cơ quan chủ
quản, địa danh and ký hiệu) and the signature block of a report, per Decree 30/2020/NĐ-CP.

The Vietnamese words these rules look for (``UBND``, the administrative levels, ``Sở``) are in
templates/messages/docx.yaml (``docx.header.*``).

Decisions:
- A Ủy ban nhân dân of any level (tỉnh, huyện, xã …) has no cơ quan chủ quản line. Decree 30
  (Phụ lục I, II.2.a) asks for the chủ quản "trực tiếp (nếu có)", and its example for ô 2 is a
  body inside another ("BỘ NỘI VỤ" over "CỤC VĂN THƯ VÀ LƯU TRỮ NHÀ NƯỚC"); a UBND is the state
  administrative body of its own level, not a body inside the UBND above it, and the decree's own
  ký hiệu example "12/UBND-VX" is a UBND issuing in its own name. So UBND xã Tịnh Hà reports under
  "ỦY BAN NHÂN DÂN / XÃ TỊNH HÀ" alone, never under "UBND HUYỆN SƠN TỊNH".
- A Sở's chủ quản is the province's UBND: the agency's parent or the agency itself when that is a
  UBND tỉnh (or thành phố), else "UBND TỈNH <the agency's place>". Any other unit has the
  agency's parent, or the agency when the agency is a UBND (a phòng of a huyện), else none.
- The issuing body is written in full (II.2.a: "tên chính thức, đầy đủ"): "UBND xã Tịnh Hà" is
  headed "ỦY BAN NHÂN DÂN" over "XÃ TỊNH HÀ", the usual two lines. The chủ quản uses the common
  abbreviation (II.2.a: "được viết tắt những cụm từ thông dụng"): "UBND TỈNH QUẢNG NGÃI".
- A UBND's địa danh is the name of its own administrative unit (II.4.a): "Tịnh Hà"; one named by
  a number keeps its level ("Phường 3"). Anyone else's is the agency's place.
- The ký hiệu after "BC-": "UBND" for a UBND; for a Sở the initials of its name without "và"
  (Sở Giáo dục và Đào tạo -> SGDĐT, Sở Lao động - Thương binh và Xã hội -> SLĐTBXH), as the
  decree's examples (SNV, SXD); otherwise the unit's code in upper case.
- A column written in units.csv always wins over these defaults; "-" as parent means none.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from bot.campaigns.spec import Agency, Signer
from bot.campaigns.units import Unit
from bot.documents.wording import say, upper

__all__ = [
    "Header",
    "agency_header",
    "people_committee",
    "signer_lines",
    "unit_header",
    "unit_signer_lines",
]

_AUTHORITY = re.compile(r"^(TM|KT|Q|TL|TUQ)\s*[./]?\s+", re.IGNORECASE)
_SLASHED = re.compile(r"^K/T\s+", re.IGNORECASE)  # "K/T GIÁM ĐỐC", an old way of writing KT.


@dataclass(frozen=True)
class Header:
    """The left block of a report's header and its ký hiệu, ready to print."""

    parent: str  # upper case, abbreviated; "" for none
    name: str  # upper case, in full; a "\n" where the name is conventionally broken
    place: str
    symbol: str  # ký hiệu after "BC-"


@cache
def _words() -> dict[str, tuple[str, ...]]:
    return {key: tuple(w.strip() for w in say(f"header.{key}").split("|") if w.strip())
            for key in ("committee", "committee_short", "levels", "province_levels", "department",
                        "conjunctions")}


def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split()).casefold().replace("uỷ", "ủy")


def people_committee(name: str) -> tuple[str, str] | None:
    """Return (level, place) of a UBND's name ("UBND huyện Bình Sơn" -> ("huyện", "Bình Sơn")),
    "" for either when the name does not say, or None when the name is not a UBND's."""
    folded = _fold(name)
    words = name.split()
    for head in (*_words()["committee"], *_words()["committee_short"]):
        head_words = len(head.split())
        if folded == head.casefold() or folded.startswith(head.casefold() + " "):
            rest = " ".join(words[head_words:])
            for level in sorted(_words()["levels"], key=len, reverse=True):
                if _fold(rest).startswith(level + " "):
                    return level, rest[len(level) + 1:].strip()
            return "", rest
    return None


def _is_department(name: str) -> bool:
    return any(_fold(name).startswith(d + " ") for d in _words()["department"])


def _abbreviated(name: str) -> str:
    """Return a chủ quản in upper case with "ỦY BAN NHÂN DÂN" as "UBND"."""
    text = upper(" ".join(name.split()))
    short = upper(_words()["committee_short"][0])
    for head in _words()["committee"]:
        if _fold(text).startswith(head.casefold() + " "):
            return short + text[len(head):]
    return text


def _in_full(name: str) -> str:
    """Return an issuing body in upper case, a UBND's in full and broken after its first line."""
    text = upper(" ".join(name.split()))
    found = people_committee(name)
    if found is None:
        return text
    level, place = found
    rest = upper(f"{level} {place}".strip())
    head = upper(_words()["committee"][0])
    return f"{head}\n{rest}" if rest else head


def _province(agency: Agency) -> str:
    for name in (agency.parent, agency.name):
        found = people_committee(name) if name else None
        if found is not None and found[0] in _words()["province_levels"]:
            return _abbreviated(name)
    level = _words()["province_levels"][0]
    return _abbreviated(f"{_words()['committee_short'][0]} {level} {agency.place}")


def _initials(name: str) -> str:
    """Return the initials of a Sở's name without "và": "SGDĐT", "SLĐTBXH"."""
    skip = set(_words()["conjunctions"])
    letters = [w[0] for w in re.split(r"[\s,\-–]+", name) if w and w.casefold() not in skip]
    return upper("".join(letters))


def _place(level: str, place: str) -> str:
    """Return the địa danh of a UBND: its unit's name, the level kept before a number."""
    if place[:1].isdigit():
        return f"{level[:1].upper()}{level[1:]} {place}"
    return place


def agency_header(agency: Agency) -> Header:
    """Return the header of the agency's own (consolidated) report."""
    symbol = agency.code
    return Header(_abbreviated(agency.parent) if agency.parent else "", _in_full(agency.name),
                  agency.place, upper(symbol))


def unit_header(unit: Unit, agency: Agency) -> Header:
    """Return the header of a unit's own report: its columns, else the defaults above."""
    committee = people_committee(unit.name)
    if unit.parent is not None:
        parent = _abbreviated(unit.parent) if unit.parent else ""
    elif committee is not None:
        parent = ""
    elif _is_department(unit.name):
        parent = _province(agency)
    elif agency.parent:
        parent = _abbreviated(agency.parent)
    elif people_committee(agency.name) is not None:
        parent = _abbreviated(agency.name)
    else:
        parent = ""
    if unit.place:
        place = unit.place
    elif committee is not None and committee[1]:
        place = _place(*committee)
    else:
        place = agency.place
    if unit.symbol:
        symbol = unit.symbol
    elif committee is not None:
        symbol = _words()["committee_short"][0]
    elif _is_department(unit.name):
        symbol = _initials(unit.name)
    else:
        symbol = unit.code
    return Header(parent, _in_full(unit.name), place, upper(symbol))


def signer_lines(signer: Signer) -> list[str]:
    """Return the lines above the signature (ô 7a): TM. …, KT. GIÁM ĐỐC, PHÓ GIÁM ĐỐC."""
    lines = [signer.on_behalf] if signer.on_behalf else []
    if signer.authority:
        lines.append(f"{signer.authority} {signer.title}")
        if signer.deputy_title:
            lines.append(signer.deputy_title)
    else:
        lines.append(signer.title)
    return lines


def unit_signer_lines(authority: str, title: str) -> list[str]:
    """Return the lines above a unit's signature from what its contact typed.

    "kt giám đốc" and "K/T GIÁM ĐỐC" become "KT. GIÁM ĐỐC"; an answer holding a TM. line and a
    KT. line ("TM. ỦY BAN NHÂN DÂN KT. CHỦ TỊCH") is split into them. Everything upper case.
    """
    lines: list[str] = []
    rest = " ".join(_SLASHED.sub("KT. ", authority.strip()).split())
    while rest:
        match = _AUTHORITY.match(rest)
        if match is None:
            lines.append(upper(rest))
            break
        prefix = match.group(1).upper()
        body = rest[match.end():]
        following = re.search(r"\s(?:KT|Q|TL|TUQ)\s*[./]\s*", body, re.IGNORECASE)
        here = body if following is None else body[:following.start()]
        lines.append(f"{prefix}. {upper(here.strip())}".strip())
        rest = "" if following is None else body[following.start():].strip()
    title = upper(" ".join(title.split()))
    if title and (not lines or lines[-1] != title):
        lines.append(title)
    return lines
