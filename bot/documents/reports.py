"""Word reports in the format of Decree 30/2020/NĐ-CP: the consolidated BÁO CÁO of a round and
one unit's own BÁO CÁO, rendered with docxtpl from templates a coordinator may restyle in Word.

Templates: templates/word/bao-cao-tong-hop.docx (consolidated; a campaign's ``template:`` or the
``template`` argument replaces it) and templates/word/bao-cao-don-vi.docx (one unit), generated
by scripts/make_word_templates.py. Jinja2 tags follow docxtpl's rules: ``{{ x }}`` inside a run,
``{%p … %}`` / ``{%tr … %}`` / ``{%tc … %}`` alone in their paragraph / row / cell, spaces inside
the delimiters. Values are escaped (``autoescape``), NFC-normalised and stripped of control
characters; a ``\\n`` in a value becomes a line break. An unknown variable is an error.

Template context (both templates unless marked):

=================  ==============================================================================
``draft``          True while not every unit has reported (unit report: while the unit has not
                   submitted); the templates then show "DỰ THẢO" at the top of page 1
``final``          ``not draft``
``issuer``         the body that signs: ``parent`` (its cơ quan chủ quản, "UBND TỈNH QUẢNG NGÃI",
                   "" for none: a UBND), ``name`` (upper case, in full: "SỞ NỘI VỤ", "ỦY BAN
                   NHÂN DÂN\nXÃ TỊNH HÀ"; rendering breaks it to fit its cell), ``code`` (the
                   ký hiệu: "SNV" in "…/BC-SNV"; a unit's ``symbol`` or its default, see
                   bot/documents/issuers.py), ``display`` (normal case: "Sở Nội vụ")
``recipient``      normal-case name after "Kính gửi:", "" for none: the campaign's ``to`` (by
                   default the agency's parent, "UBND tỉnh Quảng Ngãi") for the consolidated
                   report, the coordinating agency ("Sở Nội vụ") for a unit report; several
                   are joined ("A, B và C") for a sentence. ``to``: the same as a list;
                   ``to_lines``: "- A;", "- B." when there are several (else empty), printed
                   under "Kính gửi:" in style "ND30 Recipient Item", the dashes under its colon
``recipients``     the Nơi nhận lines: "- Như trên;" when there is a Kính gửi, the campaign's
                   ``recipients`` ("- Giám đốc, các PGĐ Sở;"; consolidated only), "- Lưu: VT,
                   TĐKT." (the campaign's ``drafter``; "- Lưu: VT." without one)
``place``          địa danh ("Quảng Ngãi"; a unit report: the unit's own, "Tịnh Hà")
``day``            "05" (two digits); ``month``: "01", "02", "3" … "12" (0 only for 1 and 2);
                   ``year``: "2024"; ``date``: "ngày 05 tháng 01 năm 2024". Consolidated: when
                   the report was generated; unit: when the unit submitted (else generated), in
                   the campaign's time zone
``as_of``          the same day as dd/mm/yyyy
``subject``        trích yếu: the campaign title with typographic quotes
``subject_inline`` the same in lower case and without a leading "Báo cáo", for use
                   inside a sentence ("Trên đây là báo cáo {{ subject_inline }} …")
``request``        the request the units answer ("Công văn số 1918/SNV-TĐKT ngày …"), may be ""
``bases``          the documents the report answers, in order: consolidated, the campaign's
                   ``bases`` then its ``request`` unless already among them; a unit report, the
                   request (else the bases); ``basis``: them joined by "; " for "Thực hiện …"
``period``         ``{start, end}`` as dd/mm/yyyy, or None when the campaign has no period
``unit_count``     units in the round; ``reported_count``: units that reported
``missing``        consolidated: units that have not reported, each ``{name, status}``;
                   ``missing_count``; ``missing_names``: "Sở Tài chính, Sở …"
``sections``       the body: each ``{number, title, heading, clauses}``; heading is
                   "I. ĐẶC ĐIỂM, TÌNH HÌNH"; each clause (khoản) ``{number, label, heading,
                   lines}`` with label the question's ``report.heading`` (else one derived
                   from the question, never a question) and heading "1. Khó khăn, hạn chế";
                   each line ``{who, text}``: ``who`` is "- Sở Y tế: " for what a unit wrote
                   (else ""), ``text`` the rest. In the consolidated report the first line is
                   the lead (the question's ``report.lead`` rendered, bot/leads.py, else the
                   type's default), then a group's "a) Sở, ban, ngành:" line before its units
                   when the units belong to several groups (bot/documents/parts.py). A
                   section's own ``lines`` ({who, text}) are the paragraphs of a part the
                   coordinator wrote (``summary_sections``; no clauses), else empty
``appendix``       consolidated only: ``columns`` (the questionnaire's ``appendix:`` ids, else
                   every numeric question up to eight), each ``{number, header: "(1)", label,
                   unit, total_note}``; ``rows``, one per unit that reported: ``{index, code,
                   name, figures: [str, …], note}``; ``totals`` (the "Tổng cộng" row: sums, a
                   percent's average); ``landscape`` (more than four columns: the appendix gets
                   a landscape section of its own); ``missing`` (the units not reported, each
                   "Sở Tài chính (đang trả lời, …)") and ``missing_text``, the sentence naming
                   them
``progress_chart`` consolidated only: the picture of the reporting progress (units submitted /
                   in progress / not started, by group), alone in its run:
                   ``{{ progress_chart }}``; ``progress_caption``: "Biểu đồ 1. Tình hình …"
                   Each clause has ``chart``: the picture of a question marked ``chart:`` (else
                   None) and its ``caption``; pictures are 160 mm wide (bot/documents/charts.py)
``evidence``       the files the units sent for ``file`` questions (bot/evidence.py), units in
                   roster order (consolidated: those that reported; unit report: that unit):
                   each ``{code, name, questions}``, each question ``{id, label, files}``, each
                   file ``{name, size, path, text}``: ``name`` as in minh-chung.zip ("Kế hoạch
                   số 12-KH-SXD.pdf"), ``size`` "350 KB" / "1,2 MB", ``path``
                   "minh-chung/SXD/…", ``text`` the list line "- Kế hoạch … (350 KB);" (the
                   last ends with "."); empty when no file was sent. The consolidated template
                   lists them after the Phụ lục ("DANH MỤC TÀI LIỆU MINH CHỨNG"); a unit report
                   lists its files in the body, under their question
``signer``         ``{lines, authority, title, name}``: ``lines`` above the signature, upper case
                   ("TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"); ``title`` the last
                   of them, ``authority`` the others (one per line); ``name`` the signer's. The
                   consolidated report's come from the campaign's ``signer`` (without it, only
                   the head's title from the agency's name: docx.signer_titles, "GIÁM ĐỐC" for a
                   Sở); a unit report's from the answers to ``tham_quyen_ky``, ``chuc_vu_ky``
                   and ``nguoi_ky``
``unit``           unit report only: ``{code, name, status}``
=================  ==============================================================================

Rendering then adjusts the layout (bot/documents/layout.py): a paragraph in style "ND30 Agency
Parent" or "ND30 Agency" is broken into lines that fit its cell, never one word alone on a line;
"ND30 Recipient Head" ("Kính gửi:") and the "ND30 Recipient Item" lines after it are indented
as one centred block, each dash under the colon;
a paragraph in style "ND30 Line" becomes a centred line 40 % as long as the (longest line of
the) text above it (Decree 30: 1/3 to 1/2), "ND30 Line Full" as long as that text (the line
under the Tiêu ngữ); the columns of a table in style "ND30 Appendix
Table" are sized to their content. Widths come from Times New Roman metrics (Liberation Serif
has the same). The context is built in bot/documents/context.py, its words in
bot/documents/wording.py.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from docx.oxml.ns import qn
from docx.shared import Mm
from docxtpl import DocxTemplate, InlineImage
from jinja2 import Environment, StrictUndefined

from bot.compile import Report
from bot.documents.charts import Chart, Charts, report_charts
from bot.documents.context import consolidated_context, unit_context
from bot.documents.layout import fix_layout
from bot.paths import templates_dir

__all__ = [
    "CONSOLIDATED_TEMPLATE",
    "UNIT_TEMPLATE",
    "RenderError",
    "render_consolidated",
    "render_unit",
]

CONSOLIDATED_TEMPLATE = "bao-cao-tong-hop.docx"
UNIT_TEMPLATE = "bao-cao-don-vi.docx"

_W_T = qn("w:t")
_PARAGRAPH = re.compile(r"<w:p(?: [^>]*)?>.*?</w:p>", re.DOTALL)  # as docxtpl finds them
_LISTING = "\t\a\n\f"  # what docxtpl's resolve_listing turns into runs
_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
_SPACE_MARK = "reportbot-space"
_PRESERVED_TEXT = '<w:t xml:space="preserve">'
_MARKED_TEXT = f'<w:t {_SPACE_MARK}="">'
_PERCENT_SPACE = re.compile(r"(?<=\d) %")  # "98,96 %": a line never ends between the two


class RenderError(Exception):
    """A template could not be rendered (an unknown variable, a broken tag)."""


def render_consolidated(report: Report, out: Path, template: Path | None = None,
                        charts: Charts | None = None) -> Path:
    """Write the consolidated BÁO CÁO of a round to `out` and return `out`.

    Its pictures are `charts`, drawn from the report when not given.
    """
    path = template or report.spec.template or _word_dir() / CONSOLIDATED_TEMPLATE
    context = consolidated_context(report, charts or report_charts(report))
    return _render(path, context, out)


def render_unit(report: Report, unit_code: str, out: Path, template: Path | None = None) -> Path:
    """Write one unit's own BÁO CÁO to `out` and return `out` (KeyError for an unknown code)."""
    path = template or _word_dir() / UNIT_TEMPLATE
    return _render(path, unit_context(report, unit_code), out)


def _word_dir() -> Path:
    return templates_dir() / "word"


class _Template(DocxTemplate):  # type: ignore[misc]
    """docxtpl's DocxTemplate, writing the same document in less time."""

    def resolve_listing(self, xml: str) -> str:
        """Turn tab, line-break … characters into runs, only in paragraphs that have some.

        docxtpl rewrites every paragraph, run and text with regular expressions; a paragraph
        without those characters comes out unchanged, so it is passed over as is.
        """
        if not _has_listing(xml):
            return xml
        resolve = super().resolve_listing

        def paragraph(match: re.Match[str]) -> str:
            text = match.group(0)
            return resolve(text) if _has_listing(text) else text

        resolved: str = _PARAGRAPH.sub(paragraph, xml)
        return resolved

    # Moving the parsed body into the document, lxml (6.0) looks up the namespace of every
    # ``xml:space`` attribute again through a cache that grows by one entry each time: quadratic,
    # 0.4 s for the 40,000 texts of a thousand units, 1.4 s for two thousand. So the body is
    # parsed with a plain marker attribute in their place, and ``xml:space`` is set back after
    # the move. A body that already has the marker's name anywhere is left to docxtpl as is.
    _spaces_marked = False

    def fix_tables(self, xml: str) -> Any:
        self._spaces_marked = _SPACE_MARK not in xml
        if self._spaces_marked:
            xml = xml.replace(_PRESERVED_TEXT, _MARKED_TEXT)
        return super().fix_tables(xml)

    def map_tree(self, tree: Any) -> None:
        super().map_tree(tree)
        if self._spaces_marked:
            for t in tree.iter(_W_T):
                if t.get(_SPACE_MARK) is not None:
                    del t.attrib[_SPACE_MARK]
                    t.set(_XML_SPACE, "preserve")


def _has_listing(xml: str) -> bool:
    return any(char in xml for char in _LISTING)


_FONT = "Times New Roman"
_RUN_PROPERTIES = (f'<w:rPr><w:rFonts w:ascii="{_FONT}" w:hAnsi="{_FONT}" w:eastAsia="{_FONT}" '
                   f'w:cs="{_FONT}"/><w:lang w:val="vi-VN" w:eastAsia="vi-VN" w:bidi="vi-VN"/>'
                   "</w:rPr>")


class _Picture(InlineImage):  # type: ignore[misc]
    """docxtpl's InlineImage whose runs carry the fonts of every other run (Times New Roman)."""

    def _insert_image(self) -> str:
        xml: str = super()._insert_image()
        return xml.replace("<w:r>", f"<w:r>{_RUN_PROPERTIES}")


def _pictures(document: DocxTemplate, context: dict[str, Any]) -> None:
    """Replace the Chart values of a context by docxtpl pictures of this document."""

    def picture(value: Any) -> Any:
        if not isinstance(value, Chart):
            return value
        return _Picture(document, io.BytesIO(value.png), width=Mm(value.width_mm))

    if "progress_chart" in context:
        context["progress_chart"] = picture(context["progress_chart"])
    for section in context.get("sections", ()):
        for clause in section["clauses"]:
            if "chart" in clause:
                clause["chart"] = picture(clause["chart"])


class _Environment(Environment):
    """Jinja2's environment looking a name up in a dict before among its attributes.

    The context is plain dicts: ``{{ line.text }}`` first tries the attribute, which a dict
    lacks, so every lookup raised and caught an AttributeError (a third of a large render's
    template time). A key of the dict now comes first; anything else is looked up as before.
    """

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


def _keep_percent(value: Any) -> Any:
    """Join a figure and its percent sign with a no-break space: "%" never starts a line."""
    if type(value) is str and " %" in value:
        return _PERCENT_SPACE.sub("\u00a0%", value)
    return value


def _render(template: Path, context: dict[str, Any], out: Path) -> Path:
    document = _Template(str(template))
    _pictures(document, context)
    env = _Environment(autoescape=True, undefined=StrictUndefined, finalize=_keep_percent)
    try:
        document.render(context, jinja_env=env, autoescape=True)
    except Exception as error:  # jinja2 and lxml errors from a template a person edited
        raise RenderError(f"{template.name}: {type(error).__name__}: {error}") from error
    fix_layout(document.docx, landscape=bool(context.get("appendix", {}).get("landscape")))
    out.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(out))
    return out
