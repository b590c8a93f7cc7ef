"""The layout of a rendered Word report: a paragraph in style "ND30 Line" becomes a centred line
40 % as long as the text above it (Decree 30: 1/3 to 1/2), "ND30 Line Full" as long as that text;
the columns of a table in style "ND30 Appendix Table" are sized to their content; the agency
names of the header ("ND30 Agency Parent", "ND30 Agency") are broken into lines that fit their
cell, never leaving one word alone on a line; "Kính gửi:" ("ND30 Recipient Head") and the
recipient lines after it ("ND30 Recipient Item") are indented as one centred block, the dashes
under the colon. Widths come from Times New Roman metrics (Liberation Serif has the same).

Decisions (header lines): the fewest lines that fit; among those, breaks where the name's
parts meet (after a comma, around "và", after a " - ", before an administrative level: "… /
HUYỆN BÌNH SƠN") before a break between any two words, and lines of even length. A line break
already in the text (the one after "ỦY BAN NHÂN DÂN") is kept. The paragraph's text becomes one
run with its first run's formatting (the shipped templates have one run there). A name that
takes fewer lines at 12 pt than at its style's 13 pt ("THÀNH PHỐ QUẢNG NGÃI" is 1 mm too wide
for the cell) is set at 12 pt, the smallest size Decree 30 gives the header's names, and so is
the chủ quản line above it: the two names of a header keep one size."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from copy import deepcopy
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

from docx.oxml.ns import qn
from docx.shared import Pt, Twips
from docx.text.parfmt import ParagraphFormat

__all__ = [
    "STYLE_AGENCY",
    "STYLE_AGENCY_PARENT",
    "STYLE_APPENDIX",
    "STYLE_APPENDIX_TABLE",
    "STYLE_LINE",
    "STYLE_LINE_FULL",
    "STYLE_RECIPIENT_HEAD",
    "STYLE_RECIPIENT_ITEM",
    "break_lines",
    "fix_layout",
    "landscape_appendix",
    "text_width",
]

# Style names shared with scripts/make_word_templates.py.
STYLE_LINE = "ND30 Line"
STYLE_LINE_FULL = "ND30 Line Full"
STYLE_APPENDIX_TABLE = "ND30 Appendix Table"
STYLE_AGENCY_PARENT = "ND30 Agency Parent"
STYLE_AGENCY = "ND30 Agency"
HEADER_STYLES = (STYLE_AGENCY_PARENT, STYLE_AGENCY)
STYLE_RECIPIENT_HEAD = "ND30 Recipient Head"  # "Kính gửi:" over several recipients
STYLE_RECIPIENT_ITEM = "ND30 Recipient Item"
HEADER_SMALLEST = 24  # half-points: Decree 30 sets the header's names at 12-13 pt
_LINE_COST = 10  # a line more: less than a break inside a part of the name
_ALONE_COST = 500  # one word alone on a line
_PART_BREAK, _CONJUNCTION_AFTER, _CONJUNCTION_BEFORE, _DASH_AFTER, _ANY_BREAK = 0, 5, 8, 5, 20
STYLE_APPENDIX = "ND30 Appendix"  # the "Phụ lục" line that opens the appendix
LINE_SHARE = {STYLE_LINE: Decimal("0.4"), STYLE_LINE_FULL: Decimal(1)}
DEFAULT_CELL_MARGIN = 108  # twips, Word's default left and right cell padding
CELL_SLACK = 60  # twips added to a measured cell so a rounding error never wraps a number
MIN_COLUMN = 454  # twips (8 mm)

_W_P, _W_R, _W_T, _W_TBL, _W_TR, _W_TC = (qn(f"w:{t}") for t in ("p", "r", "t", "tbl", "tr", "tc"))
_W_BR = qn("w:br")
_W_RPR, _W_SZ, _W_B, _W_VAL, _W_W, _W_TYPE = (
    qn(f"w:{t}") for t in ("rPr", "sz", "b", "val", "w", "type"))
_W_TCPR, _W_TCW = qn("w:tcPr"), qn("w:tcW")
_W_PPR, _W_PSTYLE = qn("w:pPr"), qn("w:pStyle")
_BEFORE_PAGE_BREAK = {qn("w:pStyle"), qn("w:keepNext"), qn("w:keepLines")}
_TBL_STYLE = f"{qn('w:tblPr')}/{qn('w:tblStyle')}"
_ANY_GRID_SPAN = f".//{qn('w:gridSpan')}"
_CHAR_UNITS: dict[bool, dict[str, int]] = {False: {}, True: {}}  # text_width's, by bold

# Advance widths of Times New Roman in 1/1000 em (the Adobe Times metrics; Liberation Serif has
# the same). Vietnamese letters are measured by their base letter. Italic is taken as regular.
_REGULAR = dict(zip(
    " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`"
    "abcdefghijklmnopqrstuvwxyz{|}~",
    (250, 333, 408, 500, 500, 833, 778, 180, 333, 333, 500, 564, 250, 333, 250, 278, *[500] * 10,
     278, 278, 564, 564, 564, 444, 921, 722, 667, 667, 722, 611, 556, 722, 722, 333, 389, 722,
     611, 889, 722, 722, 556, 722, 667, 556, 611, 722, 722, 944, 722, 722, 611, 333, 278, 333,
     469, 500, 333, 444, 500, 444, 500, 444, 333, 500, 500, 278, 278, 500, 278, 778, 500, 500,
     500, 500, 333, 389, 278, 500, 500, 722, 500, 500, 444, 480, 200, 480, 541),
    strict=True))
_BOLD = dict(zip(
    " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`"
    "abcdefghijklmnopqrstuvwxyz{|}~",
    (250, 333, 555, 500, 500, 1000, 833, 278, 333, 333, 500, 570, 250, 333, 250, 278,
     *[500] * 10, 333, 333, 570, 570, 570, 500, 930, 722, 667, 722, 722, 667, 611, 778, 778, 389,
     500, 778, 667, 944, 722, 778, 611, 778, 722, 556, 667, 722, 722, 1000, 722, 722, 667, 333,
     278, 333, 581, 500, 333, 500, 556, 444, 556, 444, 333, 500, 556, 278, 333, 556, 278, 833,
     556, 500, 556, 556, 444, 389, 333, 556, 500, 722, 500, 500, 444, 394, 220, 394, 520),
    strict=True))
_EXTRA = {"Đ": "D", "đ": "d", "“": '"', "”": '"', "‘": "'", "’": "'", "–": "-", "—": "-",
          "\u00a0": " "}
_WIDE = {"–": 500, "—": 1000, "…": 1000, "“": 444, "”": 444}


def fix_layout(document: Any, landscape: bool = False) -> None:
    """Size the ND30 lines and the appendix tables of a rendered document; with `landscape`,
    the appendix first gets a landscape section of its own (`landscape_appendix`)."""
    widths = _Metrics(document)
    body = document.element.body
    paragraphs = list(_styled(body, widths, (*HEADER_STYLES, *LINE_SHARE, STYLE_RECIPIENT_HEAD)))
    _size_headers(paragraphs, widths, document)
    for p in paragraphs:
        # in document order: a name is broken into lines before the line under it is sized
        name = widths.style_name(p) or ""
        if name in HEADER_STYLES:
            _fit_header(p, widths, document)
        elif name in LINE_SHARE:
            _fit_line(p, LINE_SHARE[name], widths, document)
        elif name == STYLE_RECIPIENT_HEAD:
            _fit_recipients(p, widths, document)
    if landscape:
        landscape_appendix(document, widths)
    appendix_id = widths.style_id(STYLE_APPENDIX_TABLE)
    for table in body.iter(_W_TBL):  # sized once, to the page each table is on
        style = table.find(_TBL_STYLE)
        if style is not None and style.get(_W_VAL) == appendix_id:
            _fit_columns(table, widths, document)


def landscape_appendix(document: Any, widths: _Metrics | None = None) -> bool:
    """Put the appendix in a landscape section of its own (Decree 30: a wide table may be on a
    landscape page); False when there is no appendix. Its tables are sized by `fix_layout`."""
    widths = widths or _Metrics(document)
    body = document.element.body
    appendix_id = widths.style_id(STYLE_APPENDIX)
    start = next((p for p in body.iterchildren(_W_P) if widths._pstyle(p) == appendix_id), None)
    final = body.find(qn("w:sectPr"))
    if start is None or final is None:
        return False
    portrait = deepcopy(final)  # the same headers: the page numbers run on
    brk = _el("w:p", None)
    ppr = _el("w:pPr")
    ppr.append(portrait)
    brk.append(ppr)
    start.addprevious(brk)
    size = final.find(qn("w:pgSz"))
    width, height = size.get(qn("w:w")), size.get(qn("w:h"))
    size.set(qn("w:w"), height)
    size.set(qn("w:h"), width)
    size.set(qn("w:orient"), "landscape")
    title_page = final.find(qn("w:titlePg"))
    if title_page is not None:  # page 1 of the document has no number, not page 1 of the section
        final.remove(title_page)
    start_ppr = start.find(_W_PPR)
    if start_ppr is not None:  # the section already starts a page
        before = [c for c in start_ppr if c.tag in _BEFORE_PAGE_BREAK]
        at = start_ppr.index(before[-1]) + 1 if before else 0
        start_ppr.insert(at, _el("w:pageBreakBefore", {"w:val": "0"}))
    return True


def _styled(body: Any, widths: _Metrics, names: tuple[str, ...]) -> Iterable[Any]:
    """Return the paragraphs that may be in one of the named styles, in document order: those
    that name one (found without visiting the thousands of others), or all when one is the
    default."""
    ids = {sid for sid, name in widths.names.items() if name in names}
    if widths.default_style in ids:
        return body.iter(_W_P)  # type: ignore[no-any-return]
    found: list[Any] = []
    for ref in body.iter(_W_PSTYLE):
        if ref.get(_W_VAL) not in ids:
            continue
        ppr = ref.getparent()
        p = None if ppr is None or ppr.tag != _W_PPR else ppr.getparent()
        if p is not None and p.tag == _W_P and (not found or found[-1] is not p):
            found.append(p)
    return found


@dataclass(frozen=True)
class _Font:
    half_points: int
    bold: bool


class _Metrics:
    """Font sizes of paragraphs, resolved through their styles, and text widths."""

    def __init__(self, document: Any) -> None:
        self.styles: dict[str, Any] = {}
        self.names: dict[str, str] = {}
        for style in document.styles.element.findall(qn("w:style")):
            sid = style.get(qn("w:styleId"))
            name = style.find(qn("w:name"))
            self.styles[sid] = style
            if name is not None:
                self.names[sid] = name.get(qn("w:val"))
        defaults = document.styles.element.find(f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}")
        size = None if defaults is None else defaults.find(f"{qn('w:rPr')}/{qn('w:sz')}")
        self.default_size = 24 if size is None else int(size.get(qn("w:val")))
        self.default_style = next((sid for sid, s in self.styles.items()
                                   if s.get(qn("w:default")) in ("1", "true")
                                   and s.get(qn("w:type")) == "paragraph"), None)
        self._style_chains: dict[str | None, list[Any]] = {}
        self._style_fonts: dict[str | None, tuple[int | None, bool | None]] = {}

    def style_id(self, name: str) -> str | None:
        return next((sid for sid, n in self.names.items() if n == name), None)

    def style_name(self, p: Any) -> str | None:
        sid = self._pstyle(p)
        return None if sid is None else self.names.get(sid)

    def _pstyle(self, p: Any) -> str | None:
        for ppr in p.iterchildren(_W_PPR):  # as p.find("w:pPr/w:pStyle"), without ElementPath
            for ref in ppr.iterchildren(_W_PSTYLE):
                return ref.get(_W_VAL)  # type: ignore[no-any-return]
        return self.default_style

    def font(self, p: Any, run: Any = None) -> _Font:
        """Return the size and weight of a run: its own properties, then its paragraph style's
        and the styles that one is based on, the first found of each winning."""
        size: int | None = None
        bold: bool | None = None
        own = None if run is None else run.find(_W_RPR)
        if own is not None:
            size, bold = _rpr_font(own, size, bold)
        if size is None or bold is None:
            sid = self._pstyle(p)
            if size is None and bold is None:
                found = self._style_fonts.get(sid)
                if found is None:
                    found = self._style_fonts[sid] = self._through_styles(sid, None, None)
                size, bold = found
            else:
                size, bold = self._through_styles(sid, size, bold)
        return _Font(size or self.default_size, bool(bold))

    def _through_styles(self, sid: str | None, size: int | None,
                        bold: bool | None) -> tuple[int | None, bool | None]:
        chain = self._style_chains.get(sid)
        if chain is None:
            chain = self._style_chains[sid] = self._style_chain(sid)
        for rpr in chain:
            size, bold = _rpr_font(rpr, size, bold)
        return size, bold

    def _style_chain(self, sid: str | None) -> list[Any]:
        """Return the run properties of a style and of those it is based on, nearest first."""
        chain = []
        seen: set[str] = set()
        while sid is not None and sid not in seen and sid in self.styles:
            seen.add(sid)
            style = self.styles[sid]
            rpr = style.find(qn("w:rPr"))
            if rpr is not None:
                chain.append(rpr)
            based = style.find(qn("w:basedOn"))
            sid = None if based is None else based.get(qn("w:val"))
        return chain

    def paragraph_width(self, p: Any) -> int:
        """Return the width of a paragraph's text on one line, in twips."""
        return self.measure(p)[0]

    def longest_word(self, p: Any) -> int:
        return self.measure(p)[1]

    def measure(self, p: Any) -> tuple[int, int]:
        """Return the width of a paragraph's longest line (lines end at a break, else the
        paragraph's text is one line) and of its longest word, in twips."""
        total = 0
        widest = 0
        best = 0
        for run in p.iter(_W_R):
            font = self.font(p, run)
            for child in run:
                if child.tag == _W_BR:
                    widest, total = max(widest, total), 0
                    continue
                if child.tag != _W_T:
                    continue
                text = child.text or ""
                total += text_width(text, font.half_points, font.bold)
                for word in text.split():
                    best = max(best, text_width(word, font.half_points, font.bold))
        return max(widest, total), best


def _rpr_font(rpr: Any, size: int | None, bold: bool | None) -> tuple[int | None, bool | None]:
    """Return (size, bold) completed, where still None, from one run-properties element."""
    if size is None:
        sz = rpr.find(_W_SZ)
        if sz is not None:
            size = int(sz.get(_W_VAL))
    if bold is None:
        b = rpr.find(_W_B)
        if b is not None:
            bold = b.get(_W_VAL, "true") not in ("0", "false")
    return size, bold


def text_width(text: str, half_points: int, bold: bool = False) -> int:
    """Return the width of a text in Times New Roman, in twips (1/20 pt)."""
    known = _CHAR_UNITS[bool(bold)]
    units = 0
    for char in unicodedata.normalize("NFC", text):
        width = known.get(char)
        if width is None:
            width = known[char] = _char_units(char, bool(bold))
        units += width
    return units * half_points // 100  # units/1000 em * (half_points/2) pt * 20 twips


def _char_units(char: str, bold: bool) -> int:
    """Return the advance width of one character in 1/1000 em."""
    if char in _WIDE:
        return _WIDE[char]
    base = _EXTRA.get(char) or unicodedata.normalize("NFD", char)[:1]
    return (_BOLD if bold else _REGULAR).get(base, 500)


def _container_width(p: Any, document: Any) -> int:
    """Return the width available to a paragraph: its cell's, else the page's text width."""
    cell = next((a for a in p.iterancestors() if a.tag == qn("w:tc")), None)
    if cell is not None:
        width = cell.find(f"{qn('w:tcPr')}/{qn('w:tcW')}")
        table = next(a for a in cell.iterancestors() if a.tag == qn("w:tbl"))
        left, right = _cell_margins(table)
        if width is not None and width.get(qn("w:type"), "dxa") == "dxa":
            return int(width.get(qn("w:w"))) - left - right
    section = document.sections[-1]
    return int(section.page_width - section.left_margin - section.right_margin) // 635


def _cell_margins(table: Any) -> tuple[int, int]:
    margins = table.find(f"{qn('w:tblPr')}/{qn('w:tblCellMar')}")
    found = []
    for side in ("left", "right"):
        el = None if margins is None else margins.find(qn(f"w:{side}"))
        if el is None and margins is not None:
            el = margins.find(qn("w:start" if side == "left" else "w:end"))
        found.append(DEFAULT_CELL_MARGIN if el is None else int(el.get(qn("w:w"))))
    return found[0], found[1]


def _size_headers(paragraphs: list[Any], widths: _Metrics, document: Any) -> None:
    """Set an agency name at 12 pt when that takes fewer lines, and every header name of its
    cell with it (the chủ quản line), their paragraph marks too (see the decisions)."""
    agency = widths.style_id(STYLE_AGENCY)
    for p in paragraphs:
        runs = _text_runs(p)
        if widths._pstyle(p) != agency or not runs:
            continue
        font, text = widths.font(p, runs[0]), _header_text(runs)
        width = _container_width(p, document)
        if font.half_points <= HEADER_SMALLEST or (
                len(break_lines(text, width, HEADER_SMALLEST, font.bold))
                >= len(break_lines(text, width, font.half_points, font.bold))):
            continue
        cell = next(p.iterancestors(_W_TC), None)
        names = [p] if cell is None else [q for q in cell.iter(_W_P)
                                          if widths.style_name(q) in HEADER_STYLES]
        for q in names:
            for run in _text_runs(q):
                _set_size(run.get_or_add_rPr(), HEADER_SMALLEST)
            _set_size(_mark_properties(q), HEADER_SMALLEST)  # the line of the paragraph mark


def _text_runs(p: Any) -> list[Any]:
    return [r for r in p.iter(_W_R) if r.find(_W_T) is not None]


def _header_text(runs: list[Any]) -> str:
    return "".join("\n" if child.tag == _W_BR else child.text or ""
                   for r in runs for child in r if child.tag in (_W_T, _W_BR))


def _mark_properties(p: Any) -> Any:
    """Return the run properties of a paragraph's mark (w:pPr/w:rPr), made if missing, in the
    place the schema gives it (before w:sectPr and w:pPrChange)."""
    ppr = p.get_or_add_pPr()
    rpr = ppr.find(_W_RPR)
    if rpr is None:
        rpr = _el("w:rPr")
        later = next((c for c in ppr if c.tag in (qn("w:sectPr"), qn("w:pPrChange"))), None)
        if later is None:
            ppr.append(rpr)
        else:
            later.addprevious(rpr)
    return rpr


def _set_size(rpr: Any, half_points: int) -> None:
    """Give run properties (a run's, or a paragraph mark's) their own font size (w:sz, and
    w:szCs right after it), whatever the style says; python-docx keeps the schema's order."""
    size = rpr.get_or_add_sz()
    size.val = Pt(half_points / 2)
    for old in size.getparent().findall(qn("w:szCs")):
        old.getparent().remove(old)
    size.addnext(_el("w:szCs", {"w:val": str(half_points)}))


def _fit_header(p: Any, widths: _Metrics, document: Any) -> None:
    """Break an agency name of the header into lines that fit its cell (see the decisions)."""
    runs = _text_runs(p)
    if not runs:
        return
    text = _header_text(runs)
    font = widths.font(p, runs[0])
    lines = break_lines(text, _container_width(p, document), font.half_points, font.bold)
    first = runs[0]
    for r in runs[1:]:
        r.getparent().remove(r)
    for child in list(first):
        if child.tag in (_W_T, _W_BR):
            first.remove(child)
    for i, line in enumerate(lines):
        if i:
            first.append(_el("w:br"))
        t = _el("w:t")
        t.text = line
        first.append(t)


def break_lines(text: str, width: int, half_points: int, bold: bool = False) -> list[str]:
    """Return a name's lines within `width` twips (see the decisions); a word wider than the
    width has a line of its own."""
    lines: list[str] = []
    for segment in text.split("\n"):
        lines += _break_segment(segment.split(), width, half_points, bold)
    return lines


def _break_segment(words: list[str], width: int, half_points: int, bold: bool) -> list[str]:
    count = len(words)
    if count == 0 or text_width(" ".join(words), half_points, bold) <= width:
        return [" ".join(words)]
    costs = _break_costs(words)
    best: dict[int, tuple[float, list[int]]] = {0: (0.0, [])}
    for end in range(1, count + 1):
        for start in range(end):
            if start not in best:
                continue
            used = text_width(" ".join(words[start:end]), half_points, bold)
            if used > width and end - start > 1:
                continue
            cost = best[start][0] + _LINE_COST + 10 * ((width - min(used, width)) / width) ** 2
            if end - start == 1:
                cost += _ALONE_COST
            if end < count:
                cost += costs[end]
            if end not in best or cost < best[end][0]:
                best[end] = (cost, [*best[start][1], end])
    ends = best[count][1]
    return [" ".join(words[a:b]) for a, b in zip([0, *ends], ends, strict=False)]


def _break_costs(words: list[str]) -> list[int]:
    """Return how bad a line break before each word is (index 0 unused).

    Between the parts of a name a break is cheap; inside a part, one after an even number of
    syllables (after a one-syllable head such as "Sở") is less bad than one after an odd
    number: most Vietnamese words have two syllables, so "PHÁT TRIỂN" stays together.
    """
    parts = _name_parts()
    folded = [w.casefold() for w in words]
    costs = [0] * len(words)
    part_start = 1 if folded and folded[0] in parts["heads"] else 0
    level_end = -1
    for k in range(1, len(words)):
        before, after = words[k - 1], folded[k]
        level = next((n for n in parts["levels"] if tuple(folded[k:k + len(n)]) == n), None)
        if before.endswith(",") or level is not None or k == level_end:
            costs[k] = _PART_BREAK
        elif folded[k - 1] in parts["conjunctions"]:
            costs[k] = _CONJUNCTION_AFTER
        elif after in parts["conjunctions"]:
            costs[k] = _CONJUNCTION_BEFORE
        elif before in ("-", "–"):
            costs[k] = _DASH_AFTER
        else:
            costs[k] = _ANY_BREAK if (k - part_start) % 2 == 0 else 2 * _ANY_BREAK
            continue
        part_start = k
        if level is not None:
            level_end = k + len(level)
    return costs


@cache
def _name_parts() -> dict[str, Any]:
    """The administrative levels (as word tuples), conjunctions and one-syllable heads."""
    from bot.documents.wording import say

    def listed(key: str) -> list[str]:
        return [" ".join(w.split()).casefold() for w in say(key).split("|") if w.strip()]

    return {"levels": [tuple(w.split()) for w in listed("header.levels")],
            "conjunctions": frozenset(listed("header.conjunctions")),
            "heads": frozenset(listed("header.heads"))}


def _fit_recipients(head: Any, widths: _Metrics, document: Any) -> None:
    """Centre "Kính gửi:" and the recipient lines after it as one block, each line's dash under
    the colon (Decree 30, Phụ lục I, II.9.d)."""
    items = []
    after = head.getnext()
    while after is not None and after.tag == _W_P and (
            widths.style_name(after) == STYLE_RECIPIENT_ITEM):
        items.append(after)
        after = after.getnext()
    if not items:
        return
    label = "".join(t.text or "" for t in head.iter(_W_T)).rstrip().removesuffix(":")
    font = widths.font(head, head.find(_W_R))
    to_colon = text_width(label, font.half_points, font.bold)
    available = _container_width(head, document)
    longest = max(widths.paragraph_width(p) for p in items)
    indent = max(0, min((available - to_colon - longest) // 2, available // 4))
    for p, left in ((head, indent), *((p, indent + to_colon) for p in items)):
        fmt = ParagraphFormat(p)
        fmt.left_indent = Twips(left)
        fmt.first_line_indent = Twips(0)


def _fit_line(p: Any, share: Decimal, widths: _Metrics, document: Any) -> None:
    """Centre a line paragraph under the paragraph above it, `share` of its text's width."""
    above = p.getprevious()
    while above is not None and above.tag != qn("w:p"):
        above = above.getprevious()
    if above is None:
        return
    available = _container_width(p, document)
    text = min(widths.paragraph_width(above), available)
    if text <= 0:
        return
    length = int(text * share)
    indent = max(0, (available - length) // 2)
    fmt = ParagraphFormat(p)
    fmt.left_indent = Twips(indent)
    fmt.right_indent = Twips(indent)
    fmt.first_line_indent = Twips(0)


def _fit_columns(table: Any, widths: _Metrics, document: Any) -> None:
    """Size the columns of a table to their content, like a browser's automatic table layout."""
    rows = table.findall(_W_TR)
    if not rows:
        return
    cells = [r.findall(_W_TC) for r in rows]
    count = len(cells[0])
    if any(len(c) != count for c in cells) or table.find(_ANY_GRID_SPAN) is not None:
        return  # merged cells: leave the widths a person set
    left, right = _cell_margins(table)
    pad = left + right + CELL_SLACK
    natural = [MIN_COLUMN] * count
    minimum = [MIN_COLUMN] * count
    for row_cells in cells:
        for i, cell in enumerate(row_cells):
            for p in cell.iter(_W_P):
                width, word = widths.measure(p)
                natural[i] = max(natural[i], width + pad)
                minimum[i] = max(minimum[i], word + pad)
    total = _container_width(table, document)
    columns = _distribute(total, natural, minimum)
    grid = table.find(qn("w:tblGrid"))
    for col in list(grid):
        grid.remove(col)
    for width in columns:
        grid.append(_el("w:gridCol", {"w:w": str(width)}))
    written = [str(width) for width in columns]
    for row_cells in cells:
        for text, cell in zip(written, row_cells, strict=True):
            tcpr = cell.find(_W_TCPR)
            if tcpr is None:
                tcpr = _el("w:tcPr")
                cell.insert(0, tcpr)
            tcw = tcpr.find(_W_TCW)
            if tcw is None:
                tcw = _el("w:tcW")
                tcpr.insert(0, tcw)
            tcw.set(_W_W, text)
            tcw.set(_W_TYPE, "dxa")
    tblw = table.find(f"{qn('w:tblPr')}/{qn('w:tblW')}")
    if tblw is not None:
        tblw.set(qn("w:w"), str(sum(columns)))
        tblw.set(qn("w:type"), "dxa")


def _distribute(total: int, natural: list[int], minimum: list[int]) -> list[int]:
    """Return column widths adding up to `total`: natural widths and the room left in proportion
    to them if they fit (a browser's automatic layout: figures get room as the names do), else
    each column's longest word plus a share of the rest in proportion to how much more it would
    like."""
    if sum(natural) <= total:
        extra = total - sum(natural)
        result = [n + extra * n // sum(natural) for n in natural]
    elif sum(minimum) <= total:
        extra = total - sum(minimum)
        want = [n - m for n, m in zip(natural, minimum, strict=True)]
        result = [m + extra * w // (sum(want) or 1) for m, w in zip(minimum, want, strict=True)]
    else:
        result = [m * total // sum(minimum) for m in minimum]
    result[-1] += total - sum(result)
    return result


def _el(tag: str, attrs: Mapping[str, str] | None = None) -> Any:
    from docx.oxml import OxmlElement

    element = OxmlElement(tag)
    for key, value in (attrs or {}).items():
        element.set(qn(key), value)
    return element
