"""Generate the Word templates of the reports: templates/word/bao-cao-tong-hop.docx (the
consolidated BÁO CÁO) and templates/word/bao-cao-don-vi.docx (one unit's BÁO CÁO).

Run from the checkout: ``.venv/bin/python scripts/make_word_templates.py``. The outputs are
committed; a coordinator may open them in Word and restyle them (every paragraph has an "ND30 …"
style), keeping the Jinja2 tags. The numbers are those of Decree 30/2020/NĐ-CP as chosen in
FORMAT-ND30.md §5: A4, margins 20/20/30/15 mm, Times New Roman in all four font slots of
docDefaults, every style and every run (no theme fonts), sz = szCs, language vi-VN; a fixed
borderless header table of 62 + 103 mm; body 14 pt justified, first line 1.27 cm, 6 pt before;
page numbers centred in the header from page 2 on. The fixed words of the templates come from
templates/messages/docx.yaml (keys ``docx.template.*``), read as written.

The rendering (bot/documents/reports.py, its layout in bot/documents/layout.py) sizes the
"ND30 Line" paragraphs and the appendix table.
"""

from __future__ import annotations

import argparse
import re
import sys
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from docx import Document
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Twips

from bot import texts
from bot.documents.layout import (
    STYLE_AGENCY,
    STYLE_AGENCY_PARENT,
    STYLE_APPENDIX_TABLE,
    STYLE_LINE,
    STYLE_LINE_FULL,
    STYLE_RECIPIENT_HEAD,
    STYLE_RECIPIENT_ITEM,
    text_width,
)
from bot.documents.reports import CONSOLIDATED_TEMPLATE, UNIT_TEMPLATE

FONT = "Times New Roman"
LANG = "vi-VN"
PAGE_W, PAGE_H = 11906, 16838  # A4 in twips
TOP, BOTTOM, LEFT, RIGHT = 1134, 1134, 1701, 850  # 20, 20, 30, 15 mm
HEADER_DISTANCE = 567  # 10 mm: the page number sits in the top margin
TEXT_W = PAGE_W - LEFT - RIGHT  # 9355 twips = 165 mm
HEADER_COLS = (3515, 5839)  # 62 + 103 mm
SIGN_COLS = (4082, TEXT_W - 4082)  # 72 + 93 mm
CELL_MARGIN = 108  # Word's default cell padding, left and right
APPENDIX_CELL_MARGIN = 57  # 1 mm: more room for figures
FIRST_LINE = 720  # 1.27 cm
SIGNATURE_BLANK_LINES = 4
SIGNATURE_GAP = 240  # 12 pt between the last body paragraph and Nơi nhận / the signer

LAYOUT_TABLE = "ND30 Layout Table"
ATTRIBUTION = "ND30 Attribution"

# name: (based on, paragraph properties, run properties); sizes in half-points.
PARAGRAPH_STYLES: dict[str, tuple[str | None, dict[str, Any], dict[str, Any]]] = {
    "ND30 Body": ("Normal", {"jc": "both", "first": FIRST_LINE, "before": 120, "line": 276},
                  {}),
    "ND30 Section": ("ND30 Body", {"keep_next": True, "outline": 0}, {"bold": True}),
    "ND30 Item": ("ND30 Body", {"keep_next": True, "outline": 1}, {"bold": True}),
    "ND30 Closing": ("ND30 Body", {"keep_next": True}, {}),
    # a khoản's lead sentence or a line ending in ":" when its list or chart follows: never
    # alone at a page's foot
    "ND30 Lead": ("ND30 Body", {"keep_next": True}, {}),
    "ND30 Evidence Unit": ("ND30 Body", {"keep_next": True}, {"bold": True}),  # not a khoản
    "ND30 Tag": ("Normal", {}, {"size": 20}),
    STYLE_AGENCY_PARENT: ("Normal", {"jc": "center"}, {"size": 26}),
    STYLE_AGENCY: ("Normal", {"jc": "center"}, {"size": 26, "bold": True}),
    "ND30 National": ("Normal", {"jc": "center"}, {"size": 26, "bold": True}),
    "ND30 Motto": ("Normal", {"jc": "center"}, {"size": 28, "bold": True}),
    STYLE_LINE: ("Normal", {"jc": "center", "border_bottom": True, "line": 240},
                 {"size": 4}),
    STYLE_LINE_FULL: (STYLE_LINE, {}, {}),
    "ND30 Number": ("Normal", {"jc": "center", "before": 120}, {"size": 26}),
    "ND30 Place Date": ("Normal", {"jc": "center", "before": 120}, {"size": 28, "italic": True}),
    "ND30 Draft": ("Normal", {"jc": "right"}, {"size": 26, "bold": True}),
    "ND30 Page Number": ("Normal", {"jc": "center"}, {"size": 28}),
    "ND30 Doc Type": ("Normal", {"jc": "center", "before": 360, "keep_next": True},
                      {"size": 28, "bold": True}),
    # 4 pt after: the line under the trích yếu clears its descenders ("g", "ị"), as in Decree 30
    "ND30 Subject": ("Normal", {"jc": "center", "after": 80, "keep_next": True},
                     {"size": 28, "bold": True}),
    "ND30 Recipient": ("Normal", {"jc": "center", "before": 120, "keep_next": True},
                       {"size": 28}),
    STYLE_RECIPIENT_HEAD: ("Normal", {"before": 120, "keep_next": True}, {"size": 28}),
    STYLE_RECIPIENT_ITEM: ("Normal", {"keep_next": True}, {"size": 28}),
    "ND30 Recipients Head": ("Normal", {}, {"size": 24, "bold": True, "italic": True}),
    "ND30 Recipients": ("Normal", {}, {"size": 22}),
    "ND30 Signer": ("Normal", {"jc": "center"}, {"size": 28, "bold": True}),
    "ND30 Signer Name": ("ND30 Signer", {}, {}),
    "ND30 Appendix": ("Normal", {"jc": "center", "page_break": True, "keep_next": True},
                      {"size": 28, "bold": True}),
    "ND30 Appendix Title": ("Normal", {"jc": "center", "keep_next": True},
                            {"size": 28, "bold": True}),
    "ND30 Appendix Note": ("Normal", {"jc": "center", "after": 240, "keep_next": True},
                           {"size": 28, "italic": True}),
    "ND30 Table": ("Normal", {"before": 20, "after": 20}, {"size": 24}),
    "ND30 Table Head": ("ND30 Table", {"jc": "center"}, {"bold": True}),
    "ND30 Table Center": ("ND30 Table", {"jc": "center"}, {}),
    "ND30 Table Figure": ("ND30 Table", {"jc": "right"}, {}),
    "ND30 Table Total": ("ND30 Table", {"jc": "right"}, {"bold": True}),
    "ND30 Legend": ("ND30 Body", {"before": 60}, {"size": 24, "italic": True}),
    "ND30 Figure": ("Normal", {"jc": "center", "before": 120, "keep_next": True}, {}),
    "ND30 Caption": ("Normal", {"jc": "center", "before": 60, "after": 120},
                     {"size": 24, "italic": True}),
}
KEEP_STYLES = ("Normal", "DefaultParagraphFont", "TableNormal", "NoList")


def words(key: str) -> str:
    """Return a fixed text of the templates, as written in docx.yaml (tags left for docxtpl)."""
    return unicodedata.normalize("NFC", texts.catalogue().sources[f"docx.template.{key}"])


def style_id(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", name)


# -- XML builders ------------------------------------------------------------------------------


def el(tag: str, attrs: dict[str, str] | None = None, children: Iterable[Any] = ()) -> Any:
    element = OxmlElement(tag)
    for key, value in (attrs or {}).items():
        element.set(qn(key), value)
    for child in children:
        element.append(child)
    return element


def fonts() -> Any:
    return el("w:rFonts", {"w:ascii": FONT, "w:hAnsi": FONT, "w:eastAsia": FONT, "w:cs": FONT})


def rpr(size: int | None = None, bold: bool = False, italic: bool = False,
        char_style: str | None = None, box: bool = False) -> Any:
    """Return a w:rPr with its children in schema order; fonts and language always set."""
    children = []
    if char_style:
        children.append(el("w:rStyle", {"w:val": style_id(char_style)}))
    children.append(fonts())
    if bold:
        children += [el("w:b"), el("w:bCs")]
    if italic:
        children += [el("w:i"), el("w:iCs")]
    children.append(el("w:color", {"w:val": "000000"}))
    if size:
        children += [el("w:sz", {"w:val": str(size)}), el("w:szCs", {"w:val": str(size)})]
    if box:
        children.append(el("w:bdr", {"w:val": "single", "w:sz": "8", "w:space": "1",
                                     "w:color": "000000"}))
    children.append(el("w:lang", {"w:val": LANG, "w:eastAsia": LANG, "w:bidi": LANG}))
    return el("w:rPr", children=children)


def ppr(style: str | None = None, keep_next: bool = False, page_break: bool = False,
        border_bottom: bool = False, before: int | None = None, after: int | None = None,
        line: int | None = None, left: int | None = None, right: int | None = None,
        first: int | None = None, jc: str | None = None, outline: int | None = None,
        mark: Any = None) -> Any:
    """Return a w:pPr with its children in schema order."""
    children = []
    if style:
        children.append(el("w:pStyle", {"w:val": style_id(style)}))
    if keep_next:
        children.append(el("w:keepNext"))
    if page_break:
        children.append(el("w:pageBreakBefore"))
    if border_bottom:
        children.append(el("w:pBdr", children=[el("w:bottom", {
            "w:val": "single", "w:sz": "6", "w:space": "1", "w:color": "000000"})]))
    spacing = {k: str(v) for k, v in (("w:before", before), ("w:after", after),
                                      ("w:line", line)) if v is not None}
    if spacing:
        if line is not None:
            spacing["w:lineRule"] = "auto"
        children.append(el("w:spacing", spacing))
    ind = {k: str(v) for k, v in (("w:left", left), ("w:right", right),
                                  ("w:firstLine", first)) if v is not None}
    if ind:
        children.append(el("w:ind", ind))
    if jc:
        children.append(el("w:jc", {"w:val": jc}))
    if outline is not None:
        children.append(el("w:outlineLvl", {"w:val": str(outline)}))
    if mark is not None:
        children.append(mark)
    return el("w:pPr", children=children)


def run(text: str, **props: Any) -> Any:
    t = el("w:t")
    t.text = unicodedata.normalize("NFC", text)
    if text != text.strip() or "  " in text:
        t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    return el("w:r", children=[rpr(**props), t])


def para(style: str, *runs: Any, **props: Any) -> Any:
    """Return a paragraph in a style; its mark carries the fonts too."""
    return el("w:p", children=[ppr(style, mark=rpr(), **props), *runs])


def text_para(style: str, text: str, **props: Any) -> Any:
    return para(style, run(text), **props)


def tag(text: str) -> Any:
    """Return a paragraph holding only a docxtpl paragraph tag such as {%p for … %}."""
    return text_para("ND30 Tag", text)


def field(instruction: str, shown: str) -> list[Any]:
    """Return the runs of a simple field (PAGE) with its last shown value."""
    def fld(kind: str) -> Any:
        return el("w:r", children=[rpr(), el("w:fldChar", {"w:fldCharType": kind})])

    instr = el("w:instrText")
    instr.text = f" {instruction} "
    instr.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    return [fld("begin"), el("w:r", children=[rpr(), instr]), fld("separate"), run(shown),
            fld("end")]


def table(widths: tuple[int, ...], rows: list[list[list[Any]]], style: str,
          borders: bool = False, cell_margin: int = CELL_MARGIN, top_margin: int = 0,
          header_rows: int = 0) -> Any:
    """Return a fixed-layout table: gridCol and tcW both set, every row kept on one page."""
    side = {"w:val": "single", "w:sz": "4", "w:space": "0", "w:color": "000000"} if borders \
        else {"w:val": "nil"}
    tbl_pr = el("w:tblPr", children=[
        el("w:tblStyle", {"w:val": style_id(style)}),
        el("w:tblW", {"w:w": str(sum(widths)), "w:type": "dxa"}),
        el("w:jc", {"w:val": "center"}),
        el("w:tblBorders", children=[el(f"w:{s}", side) for s in
                                     ("top", "left", "bottom", "right", "insideH", "insideV")]),
        el("w:tblLayout", {"w:type": "fixed"}),
        el("w:tblCellMar", children=[
            el("w:top", {"w:w": str(top_margin), "w:type": "dxa"}),
            el("w:left", {"w:w": str(cell_margin), "w:type": "dxa"}),
            el("w:right", {"w:w": str(cell_margin), "w:type": "dxa"})]),
        el("w:tblLook", {"w:val": "0000", "w:firstRow": "0", "w:lastRow": "0",
                         "w:firstColumn": "0", "w:lastColumn": "0", "w:noHBand": "1",
                         "w:noVBand": "1"}),
    ])
    grid = el("w:tblGrid", children=[el("w:gridCol", {"w:w": str(w)}) for w in widths])
    result = el("w:tbl", children=[tbl_pr, grid])
    for index, cells in enumerate(rows):
        tr_children = [el("w:cantSplit")]
        if index < header_rows:
            tr_children.append(el("w:tblHeader"))
        tr = el("w:tr", children=[el("w:trPr", children=tr_children)])
        for width, content in zip(widths, cells, strict=True):
            tc_pr = el("w:tcPr", children=[el("w:tcW", {"w:w": str(width), "w:type": "dxa"})])
            if borders:
                tc_pr.append(el("w:vAlign", {"w:val": "center"}))
            tr.append(el("w:tc", children=[tc_pr, *(content or [para("Normal")])]))
        result.append(tr)
    return result


def line_para(style: str, text: str, size: int, bold: bool, width: int) -> Any:
    """Return a line paragraph sized for a sample text (the rendering resizes it)."""
    share = 1.0 if style == STYLE_LINE_FULL else 0.4
    length = int(min(text_width(text, size, bold), width) * share)
    indent = max(0, (width - length) // 2)
    return para(style, left=indent, right=indent)


# -- styles and page -----------------------------------------------------------------------------


def setup_styles(document: Any) -> None:
    """Keep only the styles used, all in Times New Roman, and add the ND30 ones."""
    styles = document.styles.element
    for style in styles.findall(qn("w:style")):
        if style.get(qn("w:styleId")) not in KEEP_STYLES:
            styles.remove(style)
    defaults = styles.find(qn("w:docDefaults"))
    defaults.getparent().remove(defaults)
    styles.insert(0, el("w:docDefaults", children=[
        el("w:rPrDefault", children=[rpr(size=28)]),
        el("w:pPrDefault", children=[el("w:pPr", children=[
            el("w:spacing", {"w:before": "0", "w:after": "0", "w:line": "240",
                             "w:lineRule": "auto"})])]),
    ]))
    for style in styles.findall(qn("w:style")):
        for attr in list(style.iter(qn("w:rFonts"))):
            attr.getparent().remove(attr)
        if style.get(qn("w:styleId")) == "Normal":
            for old in style.findall(qn("w:pPr")) + style.findall(qn("w:rPr")):
                style.remove(old)
            style.append(ppr(before=0, after=0, line=240))
            style.append(rpr(size=28))
        elif style.get(qn("w:type")) in ("character", "table"):
            rpr_el = style.find(qn("w:rPr"))
            if rpr_el is not None:
                rpr_el.insert(0, fonts())
    for name, (based, p_props, r_props) in PARAGRAPH_STYLES.items():
        styles.append(_style("paragraph", name, based, ppr(**p_props), rpr(**r_props)))
    styles.append(_style("character", ATTRIBUTION, "DefaultParagraphFont", None,
                         rpr(italic=True)))
    for name, borders in ((LAYOUT_TABLE, False), (STYLE_APPENDIX_TABLE, True)):
        side = {"w:val": "single", "w:sz": "4", "w:space": "0", "w:color": "000000"} \
            if borders else {"w:val": "nil"}
        tbl_pr = el("w:tblPr", children=[el("w:tblBorders", children=[
            el(f"w:{s}", side) for s in ("top", "left", "bottom", "right", "insideH", "insideV")
        ])])
        styles.append(_style("table", name, "TableNormal", None, rpr(), tbl_pr))


def _style(kind: str, name: str, based: str | None, p_pr: Any, r_pr: Any,
           tbl_pr: Any = None) -> Any:
    children = [el("w:name", {"w:val": name})]
    if based:
        children.append(el("w:basedOn", {"w:val": style_id(based)}))
    children += [el("w:uiPriority", {"w:val": "1"}), el("w:qFormat")]
    for part in (p_pr, r_pr, tbl_pr):
        if part is not None:
            children.append(part)
    return el("w:style", {"w:type": kind, "w:customStyle": "1", "w:styleId": style_id(name)},
              children)


def setup_theme_and_settings(document: Any) -> None:
    """Make the theme fonts Times New Roman too, and the proofing language Vietnamese."""
    for rid, rel in list(document.part.rels.items()):
        if rel.reltype.endswith(("/stylesWithEffects", "/numbering")):
            # Word 2010's copy of the styles (theme fonts) and bullet lists in Symbol: unused
            document.part.drop_rel(rid)
    for part in document.part.package.iter_parts():
        if str(part.partname).startswith("/word/theme/"):
            blob = part.blob.decode("utf-8")
            blob = re.sub(r'(<a:(?:latin|ea|cs) typeface=")[^"]*(")', rf"\g<1>{FONT}\g<2>", blob)
            part._blob = blob.encode("utf-8")
    settings = document.settings.element
    lang = settings.find(qn("w:themeFontLang"))
    if lang is not None:
        for attr in list(lang.attrib):
            del lang.attrib[attr]
        lang.set(qn("w:val"), LANG)
    for proof in settings.findall(qn("w:proofState")):
        settings.remove(proof)


def setup_page(document: Any, first_page_header: list[Any]) -> None:
    """A4, the margins, and the headers: nothing but the draft mark on page 1, PAGE after."""
    section = document.sections[0]
    section.page_width, section.page_height = Twips(PAGE_W), Twips(PAGE_H)
    section.top_margin, section.bottom_margin = Twips(TOP), Twips(BOTTOM)
    section.left_margin, section.right_margin = Twips(LEFT), Twips(RIGHT)
    section.header_distance = section.footer_distance = Twips(HEADER_DISTANCE)
    section.gutter = Twips(0)
    section.different_first_page_header_footer = True
    _fill(section.header._element, [para("ND30 Page Number", *field("PAGE", "2"))])
    _fill(section.first_page_header._element, first_page_header)
    for footer in (section.footer, section.first_page_footer):
        _fill(footer._element, [para("Normal")])


def _fill(container: Any, blocks: list[Any]) -> None:
    for child in list(container):
        container.remove(child)
    for block in blocks:
        container.append(block)


def add_body(document: Any, blocks: list[Any]) -> None:
    body = document.element.body
    sect = body.find(qn("w:sectPr"))
    for child in list(body):
        if child is not sect:
            body.remove(child)
    for block in blocks:
        sect.addprevious(block)


# -- the two templates ---------------------------------------------------------------------------


def header_table() -> Any:
    """The header: issuer and Số on the left, Quốc hiệu, Tiêu ngữ and the date on the right."""
    left_w = HEADER_COLS[0] - 2 * CELL_MARGIN
    right_w = HEADER_COLS[1] - 2 * CELL_MARGIN
    return table(HEADER_COLS, [
        [[tag("{%p if issuer.parent %}"),
          text_para(STYLE_AGENCY_PARENT, "{{ issuer.parent }}"),
          tag("{%p endif %}"),
          text_para(STYLE_AGENCY, "{{ issuer.name }}"),
          line_para(STYLE_LINE, "SỞ NỘI VỤ", 26, True, left_w)],
         [text_para("ND30 National", words("national")),
          text_para("ND30 Motto", words("motto")),
          line_para(STYLE_LINE_FULL, words("motto"), 28, True, right_w)]],
        [[text_para("ND30 Number", words("number"))],
         [text_para("ND30 Place Date", words("place_date"))]],
    ], LAYOUT_TABLE)


def title_block() -> list[Any]:
    return [
        text_para("ND30 Doc Type", words("doc_type")),
        text_para("ND30 Subject", "{{ subject }}"),
        line_para(STYLE_LINE, "x" * 200, 28, True, TEXT_W),
        tag("{%p if recipient and not to_lines %}"),
        text_para("ND30 Recipient", words("recipient")),
        tag("{%p endif %}"),
        # several: "Kính gửi:" and one line each, the dashes under its colon (rendering indents)
        tag("{%p if to_lines %}"),
        text_para(STYLE_RECIPIENT_HEAD, words("recipient_head")),
        tag("{%p endif %}"),
        tag("{%p for line in to_lines %}"),
        text_para(STYLE_RECIPIENT_ITEM, "{{ line }}"),
        tag("{%p endfor %}"),
    ]


def figure(picture: str, caption: str) -> list[Any]:
    """A picture centred in its own paragraph and its caption under it, when there is one."""
    return [
        tag(f"{{%p if {picture} %}}"),
        para("ND30 Figure", run(f"{{{{ {picture} }}}}")),
        text_para("ND30 Caption", f"{{{{ {caption} }}}}"),
        tag("{%p endif %}"),
    ]


def sections_block(charts: bool = False, written: bool = False) -> list[Any]:
    """One mục per section, one khoản per question, one paragraph per line of figures or
    per unit's text (the unit's name in the "ND30 Attribution" character style); with
    `charts` (the consolidated report), the question's chart after its lines, where the clerk
    reads about it, and the lead (the first line) kept with what follows it; with
    `written`, a part's own paragraphs (a part the coordinator wrote) under its heading."""
    return [
        tag("{%p for section in sections %}"),
        text_para("ND30 Section", "{{ section.heading }}"),
        *([tag("{%p for line in section.lines %}"),
           text_para("ND30 Body", "{{ line.text }}"),
           tag("{%p endfor %}")] if written else []),
        tag("{%p for clause in section.clauses %}"),
        text_para("ND30 Item", "{{ clause.heading }}"),
        tag("{%p for line in clause.lines %}"),
        # the lead, a group's "a) Sở, ban, ngành:" and any line that introduces what follows
        *([tag("{%p if not loop.last and (loop.first or line.text[-1:] == ':') "
               "or loop.first and clause.chart %}"),
           para("ND30 Lead", run("{{ line.who }}", char_style=ATTRIBUTION),
                run("{{ line.text }}")),
           tag("{%p else %}")] if charts else []),
        para("ND30 Body", run("{{ line.who }}", char_style=ATTRIBUTION), run("{{ line.text }}")),
        *([tag("{%p endif %}")] if charts else []),
        tag("{%p endfor %}"),
        *(figure("clause.chart", "clause.caption") if charts else []),
        tag("{%p endfor %}"),
        tag("{%p endfor %}"),
    ]


def signature_table() -> Any:
    """Nơi nhận on the left, one line per recipient; the signer on the right: the lines of
    ô 7a (TM. …, KT. GIÁM ĐỐC, PHÓ GIÁM ĐỐC), room to sign, the name."""
    left = [
        text_para("ND30 Recipients Head", words("recipients_head")),
        tag("{%p for line in recipients %}"),
        text_para("ND30 Recipients", "{{ line }}"),
        tag("{%p endfor %}"),
    ]
    right = [
        tag("{%p for line in signer.lines %}"),
        text_para("ND30 Signer", "{{ line }}"),
        tag("{%p endfor %}"),
        *[para("ND30 Signer") for _ in range(SIGNATURE_BLANK_LINES)],
        text_para("ND30 Signer Name", "{{ signer.name }}"),
    ]
    # No side padding: "Nơi nhận:" starts at the left margin (Decree 30: flush left).
    return table(SIGN_COLS, [[left, right]], LAYOUT_TABLE, cell_margin=0,
                 top_margin=SIGNATURE_GAP)


def appendix_block() -> list[Any]:
    """Phụ lục: one row per unit that reported, the figure columns repeating with {%tc for %},
    a total row; the units that have not reported named under the table."""
    def cell(style: str, text: str) -> list[Any]:
        return [text_para(style, text)]

    # Widths only for reading the template in Word: rendering sizes the columns to their content.
    widths = (500, 2600, 1500, 900, 1500, TEXT_W - 7000)
    head_tags = ("{%tc for col in appendix.columns %}", "{%tc endfor %}")
    row_tags = ("{%tc for value in row.figures %}", "{%tc endfor %}")
    total_tags = ("{%tc for value in appendix.totals %}", "{%tc endfor %}")
    rows = [
        [cell("ND30 Table Head", words("col_index")), cell("ND30 Table Head", words("col_unit")),
         cell("ND30 Tag", head_tags[0]), cell("ND30 Table Head", "{{ col.header }}"),
         cell("ND30 Tag", head_tags[1]), cell("ND30 Table Head", words("col_note"))],
        [[], cell("ND30 Tag", "{%tr for row in appendix.rows %}"), *[[] for _ in range(4)]],
        [cell("ND30 Table Center", "{{ row.index }}"), cell("ND30 Table", "{{ row.name }}"),
         cell("ND30 Tag", row_tags[0]), cell("ND30 Table Figure", "{{ value }}"),
         cell("ND30 Tag", row_tags[1]), cell("ND30 Table", "{{ row.note }}")],
        [[], cell("ND30 Tag", "{%tr endfor %}"), *[[] for _ in range(4)]],
        [[], cell("ND30 Table Head", words("col_total")),
         cell("ND30 Tag", total_tags[0]), cell("ND30 Table Total", "{{ value }}"),
         cell("ND30 Tag", total_tags[1]), []],
    ]
    return [
        text_para("ND30 Appendix", words("appendix")),
        text_para("ND30 Appendix Title", words("appendix_title")),
        text_para("ND30 Appendix Note", words("appendix_note")),
        table(widths, rows, STYLE_APPENDIX_TABLE, borders=True,
              cell_margin=APPENDIX_CELL_MARGIN, header_rows=1),
        tag("{%p if appendix.missing_text %}"),
        text_para("ND30 Legend", "{{ appendix.missing_text }}"),
        tag("{%p endif %}"),
        tag("{%p if appendix.columns %}"),
        text_para("ND30 Legend", words("legend_head"), keep_next=True),
        tag("{%p endif %}"),
        tag("{%p for col in appendix.columns %}"),
        text_para("ND30 Legend", words("legend")),
        tag("{%p endfor %}"),
    ]


def evidence_block() -> list[Any]:
    """The evidence files per unit (and per question when a unit answered several file
    questions), a list of its own after the Phụ lục."""
    return [
        tag("{%p if evidence %}"),
        text_para("ND30 Appendix", words("evidence_head")),
        text_para("ND30 Appendix Note", words("evidence_note")),
        tag("{%p for unit in evidence %}"),
        text_para("ND30 Evidence Unit", "{{ loop.index }}. {{ unit.name }}"),
        tag("{%p for question in unit.questions %}"),
        tag("{%p if unit.questions|length > 1 %}"),
        para("ND30 Body", run(words("evidence_question"), char_style=ATTRIBUTION)),
        tag("{%p endif %}"),
        tag("{%p for file in question.files %}"),
        text_para("ND30 Body", "{{ file.text }}"),
        tag("{%p endfor %}"),
        tag("{%p endfor %}"),
        tag("{%p endfor %}"),
        tag("{%p endif %}"),
    ]


def draft_header() -> list[Any]:
    return [para("ND30 Draft", run(words("draft"), box=True))]


def consolidated() -> list[Any]:
    return [
        header_table(),
        *title_block(),
        text_para("ND30 Body", words("opening")),
        tag("{%p if not final %}"),
        text_para("ND30 Body", words("missing")),
        tag("{%p endif %}"),
        *figure("progress_chart", "progress_caption"),
        *sections_block(charts=True, written=True),
        text_para("ND30 Closing", words("closing")),
        signature_table(),
        *appendix_block(),
        *evidence_block(),
    ]


def unit() -> list[Any]:
    return [
        header_table(),
        *title_block(),
        text_para("ND30 Body", words("opening_unit")),
        *sections_block(),
        text_para("ND30 Closing", words("closing_unit")),
        signature_table(),
    ]


def build(blocks: list[Any], out: Path) -> Path:
    document = Document()
    setup_styles(document)
    setup_theme_and_settings(document)
    setup_page(document, draft_header())
    add_body(document, blocks)
    core = document.core_properties
    core.author = core.last_modified_by = "reportbot"
    core.title = core.subject = core.keywords = core.comments = ""
    core.revision = 1
    out.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(out))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=texts.templates_dir() / "word",
                        help="folder to write into (default: templates/word)")
    args = parser.parse_args(argv)
    for name, blocks in ((CONSOLIDATED_TEMPLATE, consolidated()), (UNIT_TEMPLATE, unit())):
        print(build(blocks, args.out / name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
