"""Word reports: the consolidated and the unit BÁO CÁO of the demo round, checked in the .docx
XML against Decree 30/2020 (FORMAT-ND30.md §5) and, through LibreOffice, in the PDF."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import sys
import unicodedata
import zipfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from docx import Document
from lxml import etree

from bot.campaigns.spec import CampaignSpec
from bot.compile import Report, aggregate, amount_in_words
from bot.demo import default_campaign, demo_clock, run_demo
from bot.documents.context import consolidated_context, unit_context
from bot.documents.layout import text_width
from bot.documents.reports import RenderError, render_consolidated, render_unit
from bot.documents.wording import display_name, question_label, signer_title
from bot.model import Sheet
from bot.paths import templates_dir
from bot.store import Store

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
TNR = "Times New Roman"
SLOTS = ("ascii", "hAnsi", "eastAsia", "cs")
ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ["I. ĐẶC ĐIỂM, TÌNH HÌNH", "II. CÔNG TÁC TRIỂN KHAI THỰC HIỆN",
            "III. KẾT QUẢ ĐẠT ĐƯỢC", "IV. ĐỀ XUẤT, KIẾN NGHỊ"]
EVIL = "A & B < C > D {{ x }} {% if y %} =1+2"


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    """The demo round (3 of 8 units reported, one in progress), aggregated."""
    folder = tmp_path_factory.mktemp("demo")

    async def build() -> Report:
        store = await Store.open(folder / "demo.sqlite3")
        try:
            campaign_id, _ = await run_demo(store, TZ, folder)
            campaign = await store.campaign(campaign_id)
            assert campaign is not None
            return aggregate(campaign.spec, await store.sheets(campaign_id), demo_clock())
        finally:
            await store.close()

    return asyncio.run(build())


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("docx")


@pytest.fixture(scope="module")
def consolidated(report: Report, out: Path) -> Path:
    return render_consolidated(report, out / "tong-hop.docx")


@pytest.fixture(scope="module")
def unit_docx(report: Report, out: Path) -> Path:
    return render_unit(report, "SXD", out / "SXD.docx")


@pytest.fixture(scope="module")
def pdfs(consolidated: Path, unit_docx: Path, out: Path) -> dict[str, Path]:
    """Both reports converted by LibreOffice in one run (a few seconds)."""
    missing = [tool for tool in ("soffice", "pdftotext", "pdfinfo") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed: run .ci/install-office.sh (CI does)")
    profile = out / "lo-profile"
    subprocess.run(
        ["soffice", "--headless", "--norestore", f"-env:UserInstallation={profile.as_uri()}",
         "--convert-to", "pdf", "--outdir", str(out / "pdf"), str(consolidated), str(unit_docx)],
        check=True, capture_output=True, timeout=180,
    )
    result = {"consolidated": out / "pdf" / "tong-hop.pdf", "unit": out / "pdf" / "SXD.pdf"}
    assert all(p.exists() for p in result.values()), list((out / "pdf").iterdir())
    return result


# -- helpers -------------------------------------------------------------------------------------


def parts(path: Path, prefix: str = "word/") -> dict[str, Any]:
    """Return the parsed XML parts of a .docx under a prefix."""
    with zipfile.ZipFile(path) as archive:
        return {name: etree.fromstring(archive.read(name)) for name in archive.namelist()
                if name.startswith(prefix) and name.endswith(".xml")}


def text_of(element: Any) -> str:
    return "".join(t.text or "" for t in element.iter(f"{W}t"))


def paragraphs(path: Path) -> list[str]:
    """Every paragraph's text in the body, tables included, in order."""
    body = parts(path)["word/document.xml"]
    return [text_of(p) for p in body.iter(f"{W}p")]


def styled(path: Path, style_id: str) -> list[str]:
    body = parts(path)["word/document.xml"]
    return [text_of(p) for p in body.iter(f"{W}p")
            if p.find(f"{W}pPr/{W}pStyle") is not None
            and p.find(f"{W}pPr/{W}pStyle").get(f"{W}val") == style_id]


def tables(path: Path) -> list[Any]:
    return list(parts(path)["word/document.xml"].iter(f"{W}tbl"))


def headers(path: Path) -> dict[str, Any]:
    """Map "default" / "first" to the header part each refers to."""
    document = Document(str(path))
    section = document.sections[0]
    return {"default": section.header._element, "first": section.first_page_header._element}


def pdftext(pdf: Path, page: int | None = None) -> str:
    pages = [] if page is None else ["-f", str(page), "-l", str(page)]
    return subprocess.run(["pdftotext", "-layout", *pages, str(pdf), "-"], check=True,
                          capture_output=True, text=True, timeout=60).stdout


# -- the document's frame ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["bao-cao-tong-hop.docx", "bao-cao-don-vi.docx", "output"])
def test_page_is_a4_with_nd30_margins(name: str, consolidated: Path) -> None:
    path = consolidated if name == "output" else templates_dir() / "word" / name
    sect = parts(path)["word/document.xml"].find(f"{W}body/{W}sectPr")
    size, margins = sect.find(f"{W}pgSz"), sect.find(f"{W}pgMar")
    assert (size.get(f"{W}w"), size.get(f"{W}h")) == ("11906", "16838")
    assert size.get(f"{W}orient") in (None, "portrait")
    assert {k: margins.get(f"{W}{k}") for k in ("top", "bottom", "left", "right")} == {
        "top": "1134", "bottom": "1134", "left": "1701", "right": "850"}


@pytest.mark.parametrize("which", ["consolidated", "unit"])
def test_every_run_and_style_is_times_new_roman_in_all_four_slots(
        which: str, consolidated: Path, unit_docx: Path) -> None:
    path = consolidated if which == "consolidated" else unit_docx
    xml = parts(path)
    runs = 0
    for name, root in xml.items():
        if name.startswith("word/theme/"):
            continue
        for fonts in root.iter(f"{W}rFonts"):
            assert [a for a in fonts.attrib if "Theme" in a or "theme" in a] == [], name
            assert {s: fonts.get(f"{W}{s}") for s in SLOTS} == dict.fromkeys(SLOTS, TNR), name
        for size in root.iter(f"{W}sz"):
            twin = size.getparent().find(f"{W}szCs")
            assert twin is not None and twin.get(f"{W}val") == size.get(f"{W}val"), name
        if name == "word/document.xml" or "header" in name:
            for run in root.iter(f"{W}r"):
                runs += 1
                fonts = run.find(f"{W}rPr/{W}rFonts")
                assert fonts is not None, etree.tostring(run)[:200]
    assert runs > 50
    styles = xml["word/styles.xml"]
    default = styles.find(f"{W}docDefaults/{W}rPrDefault/{W}rPr")
    assert default.find(f"{W}rFonts").get(f"{W}eastAsia") == TNR
    assert default.find(f"{W}lang").get(f"{W}val") == "vi-VN"
    for style in styles.iter(f"{W}style"):
        fonts = style.find(f"{W}rPr/{W}rFonts")
        if style.get(f"{W}customStyle") == "1":
            assert fonts is not None, style.get(f"{W}styleId")


def test_header_table_has_two_fixed_columns_with_grid_and_cell_widths(consolidated: Path) -> None:
    header = tables(consolidated)[0]
    grid = [int(c.get(f"{W}w")) for c in header.iter(f"{W}gridCol")]
    assert grid == [3515, 5839]  # 62 + 103 mm: the Quốc hiệu fits at 13 pt
    assert header.find(f"{W}tblPr/{W}tblLayout").get(f"{W}type") == "fixed"
    assert {b.get(f"{W}val") for b in header.find(f"{W}tblPr/{W}tblBorders")} == {"nil"}
    for row in header.iter(f"{W}tr"):
        assert row.find(f"{W}trPr/{W}cantSplit") is not None
        widths = [int(tc.find(f"{W}tcPr/{W}tcW").get(f"{W}w")) for tc in row.iter(f"{W}tc")]
        assert widths == grid
    left, right = (text_of(tc) for tc in header.find(f"{W}tr").iter(f"{W}tc"))
    assert left == "UBND TỈNH QUẢNG NGÃISỞ NỘI VỤ"
    assert right == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAMĐộc lập - Tự do - Hạnh phúc"
    # the Quốc hiệu at 13 pt bold fits in the right cell without its padding
    assert text_width("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 26, True) < 5839 - 2 * 108


def test_number_and_place_date_line(consolidated: Path) -> None:
    texts = paragraphs(consolidated)
    assert any(re.fullmatch(r"Số:\s{3,}/BC-SNV", t) for t in texts), texts[:12]
    assert "Quảng Ngãi, ngày 27 tháng 10 năm 2023" in texts


@pytest.mark.parametrize(("when", "expected"), [
    (datetime(2024, 1, 4, 23, 30, tzinfo=UTC), "ngày 05 tháng 01 năm 2024"),  # +07:00
    (datetime(2024, 2, 10, 3, 0, tzinfo=UTC), "ngày 10 tháng 02 năm 2024"),
    (datetime(2024, 3, 9, 3, 0, tzinfo=UTC), "ngày 09 tháng 3 năm 2024"),
    (datetime(2023, 10, 20, 3, 0, tzinfo=UTC), "ngày 20 tháng 10 năm 2023"),
])
def test_date_in_the_campaign_time_zone_with_decree_30_padding(
        report: Report, when: datetime, expected: str) -> None:
    assert consolidated_context(replace(report, generated_at=when))["date"] == expected


def test_title_subject_recipient_and_opening(consolidated: Path) -> None:
    texts = paragraphs(consolidated)
    at = texts.index("BÁO CÁO")
    assert texts[at + 1].startswith("Tổng kết phong trào thi đua “Quảng Ngãi đoàn kết")
    assert "Kính gửi: UBND tỉnh Quảng Ngãi" in texts
    opening = next(t for t in texts if t.startswith("Thực hiện "))
    assert "; Công văn số 1918/SNV-TĐKT ngày 17/10/2023 của Sở Nội vụ; " in opening
    assert "trên cơ sở báo cáo của 3/8 đơn vị" in opening
    assert "thời gian chốt số liệu từ ngày 10/09/2021 đến ngày 15/10/2023" in opening
    assert opening.endswith("báo cáo kết quả như sau:")


def test_sections_in_questionnaire_order_with_numbered_clauses(consolidated: Path) -> None:
    # the coordinator's own parts (campaign.yaml summary_sections) after part III, renumbered
    assert styled(consolidated, "ND30Section") == [
        *SECTIONS[:3], "IV. ĐÁNH GIÁ CHUNG", "V. PHƯƠNG HƯỚNG, NHIỆM VỤ",
        "VI. ĐỀ XUẤT, KIẾN NGHỊ"]
    clauses = styled(consolidated, "ND30Item")
    assert clauses[:2] == ["1. Thuận lợi", "2. Khó khăn, hạn chế"]  # report.heading
    assert "6. Ủng hộ bằng tiền" in clauses
    assert not any("người ký" in c for c in clauses)  # aggregate: none
    for clause in clauses:  # never the question itself
        assert not re.search(r"\?|\bgì\b|bao nhiêu|\bkhông$|^\d+\. Đơn vị|Xin ", clause), clause


def test_figures_in_vietnamese_notation(consolidated: Path) -> None:
    text = "\n".join(paragraphs(consolidated))
    total = 10_000_000 + 1_200_000_000 + 250_000_000
    assert f"tổng số tiền 1.460.000.000 đồng ({amount_in_words(total)})" in text
    # weighted by staff: (100 × 85 + 99,5 × 1.250 + 98,7 × 2.946) / 4.281
    assert "tính chung đạt 98,96 %; 1/3 đơn vị đạt 100 %, thấp nhất 98,7 %." in text.replace(
        "\u00a0", " ")
    assert "là 4.281 người." in text
    assert "- Hội nghị: 2 đơn vị (Sở Xây dựng, Sở Giáo dục và Đào tạo);" in text


def test_every_part_opens_with_a_lead_with_figures(consolidated: Path) -> None:
    body = paragraphs(consolidated)
    clauses = set(styled(consolidated, "ND30Item"))
    for at, text in enumerate(body):
        if text in clauses:
            lead = body[at + 1]
            assert re.search(r"\d", lead) and not lead.startswith("- "), (text, lead)
    assert not any(t.rstrip().endswith("..") for t in body)
    assert not any(t.strip() in ("-", "- .", "-.") for t in body)


def test_what_units_wrote_is_attributed(consolidated: Path) -> None:
    texts = paragraphs(consolidated)
    plan = next(t for t in texts if "692/KH-SXD" in t)
    assert plan.startswith("- Kế hoạch số 692/KH-SXD ngày 04/10/2021 ")
    assert plan.endswith("(Sở Xây dựng);")
    # the units' documents merged into one list in date order
    order = [next(i for i, t in enumerate(texts) if number in t)
             for number in ("1563/KH-SYT", "2846/KH-SGDĐT", "692/KH-SXD", "4120/SYT-VP")]
    assert order == sorted(order)
    assert any(t.startswith("- Sở Y tế: Ngành Y tế luôn nhận được") for t in texts)


def test_draft_shows_the_mark_and_the_missing_units(consolidated: Path) -> None:
    first = text_of(headers(consolidated)["first"])
    assert "DỰ THẢO" in first
    text = "\n".join(paragraphs(consolidated))
    assert "còn 5/8 đơn vị chưa gửi báo cáo: Sở Tài chính, " in text
    assert "Ủy ban nhân dân huyện Bình Sơn." in text


def test_final_report_has_no_draft_mark(report: Report, out: Path) -> None:
    final = replace(report, units=report.reported, missing=())
    path = render_consolidated(final, out / "final.docx")
    assert "DỰ THẢO" not in text_of(headers(path)["first"])
    text = "\n".join(paragraphs(path))
    assert "chưa gửi báo cáo" not in text and "trên cơ sở báo cáo của 3/3 đơn vị" in text


def test_body_ends_with_slash_and_is_kept_with_the_signature(consolidated: Path) -> None:
    body = parts(consolidated)["word/document.xml"].find(f"{W}body")
    signature = next(t for t in body.iter(f"{W}tbl") if "Nơi nhận:" in text_of(t))
    last = signature.getprevious()
    assert text_of(last).endswith("xem xét, chỉ đạo./.")
    style = last.find(f"{W}pPr/{W}pStyle").get(f"{W}val")
    styles = parts(consolidated)["word/styles.xml"]
    defined = next(s for s in styles.iter(f"{W}style") if s.get(f"{W}styleId") == style)
    assert defined.find(f"{W}pPr/{W}keepNext") is not None


def test_signature_block_beside_the_recipients(consolidated: Path) -> None:
    signature = next(t for t in tables(consolidated) if "Nơi nhận:" in text_of(t))
    assert {b.get(f"{W}val") for b in signature.find(f"{W}tblPr/{W}tblBorders")} == {"nil"}
    assert signature.find(f"{W}tr/{W}trPr/{W}cantSplit") is not None
    left, right = signature.find(f"{W}tr").iter(f"{W}tc")
    # the campaign's recipients between "Như trên" and the drafting office (campaign.yaml)
    assert [text_of(p) for p in left.iter(f"{W}p")] == [
        "Nơi nhận:", "- Như trên;", "- Chủ tịch, các PCT UBND tỉnh;",
        "- Hội đồng Thi đua - Khen thưởng tỉnh;", "- Giám đốc, các PGĐ Sở;", "- Lưu: VT, TĐKT."]
    lines = [text_of(p) for p in right.iter(f"{W}p")]
    assert lines == ["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC", "", "", "", "", "Trần Quang Vinh"]


def test_appendix_has_a_row_per_unit_and_sized_columns(report: Report,
                                                       consolidated: Path) -> None:
    appendix = next(t for t in tables(consolidated)
                    if t.find(f"{W}tblPr/{W}tblStyle").get(f"{W}val") == "ND30AppendixTable")
    rows = appendix.findall(f"{W}tr")
    assert len(rows) == 1 + len(report.reported) + 1  # head, the units that reported, total
    head = [text_of(tc) for tc in rows[0].iter(f"{W}tc")]
    assert head == ["TT", "Đơn vị", "(1)", "(2)", "(3)", "(4)", "Ghi chú"]  # appendix: [4 ids]
    first = [text_of(tc) for tc in rows[1].iter(f"{W}tc")]
    assert first == ["1", "Sở Xây dựng", "85", "100", "10.000.000", "", "Gửi ngày 27/10/2023"]
    total = [text_of(tc) for tc in rows[-1].iter(f"{W}tc")]
    # Bình Sơn answered 312 staff but has not submitted: not in the total
    assert total == ["", "Tổng cộng", "4.281", "98,96", "1.460.000.000", "1.535.000.000", ""]
    grid = [int(c.get(f"{W}w")) for c in appendix.iter(f"{W}gridCol")]
    assert len(grid) == len(head) and sum(grid) == 9355
    for row in rows:
        assert [int(tc.find(f"{W}tcPr/{W}tcW").get(f"{W}w")) for tc in row.iter(f"{W}tc")] == grid
    money = text_width("1.200.000.000", 24) + 2 * 57
    assert grid[4] >= money  # a money figure is never cut
    text = "\n".join(paragraphs(consolidated))
    assert "(3) Ủng hộ bằng tiền (đồng)." in text
    assert ("(2) Tỷ lệ tiêm vắc xin phòng COVID-19 (%; dòng Tổng cộng: tỷ lệ chung tính theo số"
            " cán bộ, công chức, viên chức và người lao động).") in text
    assert ("Đơn vị chưa gửi báo cáo (không tính vào dòng Tổng cộng): Sở Tài chính; ") in text
    assert "Ủy ban nhân dân huyện Bình Sơn (đang trả lời, đã trả lời 12/23 câu hỏi)." in text
    assert not any("Bình Sơn" in text_of(row) for row in rows)
    assert len(Document(str(consolidated)).sections) == 1  # four columns fit a portrait page


def test_page_number_in_the_header_from_page_two(consolidated: Path) -> None:
    sect = parts(consolidated)["word/document.xml"].find(f"{W}body/{W}sectPr")
    assert sect.find(f"{W}titlePg") is not None
    found = headers(consolidated)
    default = "".join(i.text or "" for i in found["default"].iter(f"{W}instrText"))
    assert default.strip() == "PAGE"
    assert list(found["first"].iter(f"{W}instrText")) == []
    assert list(found["first"].iter(f"{W}fldSimple")) == []


@pytest.mark.parametrize("which", ["consolidated", "unit"])
def test_no_template_tags_left_and_text_is_nfc(which: str, consolidated: Path,
                                               unit_docx: Path) -> None:
    path = consolidated if which == "consolidated" else unit_docx
    for name, root in parts(path).items():
        text = text_of(root)
        for mark in ("{{", "}}", "{%", "%}", "{#"):
            assert mark not in text, (name, mark)
        assert unicodedata.normalize("NFC", text) == text


# -- the unit report -----------------------------------------------------------------------------


def test_unit_report_is_issued_by_the_unit_to_the_coordinator(unit_docx: Path) -> None:
    texts = paragraphs(unit_docx)
    assert "UBND TỈNH QUẢNG NGÃI" in texts and "SỞ XÂY DỰNG" in texts
    assert any(re.fullmatch(r"Số:\s{3,}/BC-SXD", t) for t in texts)
    assert "Kính gửi: Sở Nội vụ" in texts
    assert styled(unit_docx, "ND30Section") == SECTIONS
    text = "\n".join(texts)
    assert "10.000.000 đồng (Mười triệu đồng)." in text
    assert "- Kế hoạch số 692/KH-SXD ngày 04/10/2021 " in text
    assert "của Sở Xây dựng, đề nghị Sở Nội vụ tổng hợp./." in text
    assert "DỰ THẢO" not in text_of(headers(unit_docx)["first"])
    signature = next(t for t in tables(unit_docx) if "Nơi nhận:" in text_of(t))
    right = [text_of(p) for p in list(signature.find(f"{W}tr").iter(f"{W}tc"))[1].iter(f"{W}p")]
    assert right == ["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC", "", "", "", "", "Nguyễn Hữu Hồng"]


def test_unit_report_without_signer_answers_leaves_them_blank(report: Report, out: Path) -> None:
    context = unit_context(report, "UBNDHBS")
    assert context["draft"] is True
    assert context["signer"] == {"lines": [], "name": "", "authority": "", "title": ""}
    path = render_unit(report, "UBNDHBS", out / "UBNDHBS.docx")
    assert "DỰ THẢO" in text_of(headers(path)["first"])
    assert "ỦY BAN NHÂN DÂNHUYỆN BÌNH SƠN" in paragraphs(path)  # two lines, see test_headers.py
    with pytest.raises(KeyError):
        unit_context(report, "NOPE")


def test_units_words_grouped_by_group_in_roster_order(tmp_path: Path) -> None:
    spec: CampaignSpec = default_campaign(TZ)
    at = datetime(2023, 10, 25, 3, 0, tzinfo=UTC)
    said = {"SXD": "Khối lượng công việc tăng.", "UBNDHBS": "Thiếu kinh phí..",
            "SYT": "Không có.", "SGDDT": "Nhân lực mỏng"}
    sheets = [Sheet(u.code, u.name, u.group, "submitted", {"kho_khan": said[u.code]}, at)
              for u in reversed(spec.units) if u.code in said]
    path = render_consolidated(aggregate(spec, sheets, at), tmp_path / "groups.docx")
    texts = paragraphs(path)
    at_clause = texts.index("2. Khó khăn, hạn chế")
    assert texts[at_clause + 1:at_clause + 7] == [
        "3/4 đơn vị nêu khó khăn, hạn chế trong quá trình thực hiện phong trào; 1 đơn vị báo cáo"
        " không có khó khăn:",
        "a) Sở, ban, ngành:",
        "- Sở Xây dựng: Khối lượng công việc tăng.",
        "- Sở Giáo dục và Đào tạo: Nhân lực mỏng.",
        "b) UBND huyện, thị xã, thành phố:",
        "- Ủy ban nhân dân huyện Bình Sơn: Thiếu kinh phí.",
    ]
    assert not any("Sở Y tế: Không" in t for t in texts)


# -- what people typed --------------------------------------------------------------------------


def _evil_report() -> Report:
    spec: CampaignSpec = default_campaign(TZ)
    at = datetime(2023, 10, 25, 3, 0, tzinfo=UTC)
    answers = {
        "thuan_loi": EVIL, "kho_khan": "Không\u0007 có\u000c gì\r\nDòng hai",
        "co_ke_hoach": True,
        "van_ban_chi_dao": [{"kind": "Kế hoạch", "number": "1/KH-A&B", "date": "2021-10-04",
                             "summary": EVIL}],
        "hinh_thuc_tt": {"selected": ["Hội nghị"], "other": EVIL},
        "ung_ho_tien": 1_525_000_000, "ty_le_tiem": "87.75", "so_can_bo": 12,
        "nguoi_ky": "Trần <Văn> & {{ B }}",
    }
    sheets = [Sheet("SXD", "Sở Xây dựng", None, "submitted", answers, at)]
    return aggregate(spec, sheets, at)


def test_typed_text_comes_out_literally(tmp_path: Path) -> None:
    report = _evil_report()
    path = render_consolidated(report, tmp_path / "evil.docx")
    text = "\n".join(paragraphs(path))
    assert f"- Sở Xây dựng: {EVIL}." in text
    assert "Kế hoạch số 1/KH-A&B ngày 04/10/2021 " + EVIL in text
    assert "1.525.000.000 đồng (Một tỷ, năm trăm hai mươi lăm triệu đồng)" in text
    assert "tính chung đạt 87,75\u00a0%" in text  # the figure and its sign never apart
    assert "\u0007" not in text and "\u000c" not in text
    texts = paragraphs(path)
    at = texts.index("- Sở Xây dựng: Không có gì")  # control characters dropped, CRLF split
    assert texts[at + 1] == "Dòng hai."
    unit = render_unit(report, "SXD", tmp_path / "evil-unit.docx")
    unit_text = "\n".join(paragraphs(unit))
    assert EVIL in unit_text and "Trần <Văn> & {{ B }}" in unit_text
    assert "- Khác: " + EVIL + "." in unit_text
    Document(str(unit))  # still a valid package


def test_a_round_nobody_answered_yet(tmp_path: Path) -> None:
    spec = default_campaign(TZ)
    report = aggregate(spec, [], datetime(2023, 10, 20, 3, 0, tzinfo=UTC))
    path = render_consolidated(report, tmp_path / "empty.docx")
    text = "\n".join(paragraphs(path))
    assert "trên cơ sở báo cáo của 0/8 đơn vị" in text
    assert "Chưa có đơn vị nào báo cáo nội dung này." in text
    appendix = tables(path)[-1]
    assert len(appendix.findall(f"{W}tr")) == 2  # the head and an empty total row
    assert "Đơn vị chưa gửi báo cáo (không tính vào dòng Tổng cộng): Sở Xây dựng; " in text


def test_a_template_with_an_unknown_variable_is_refused(report: Report, tmp_path: Path) -> None:
    broken = Document()
    broken.add_paragraph("{{ no_such_variable }}")
    broken.save(str(tmp_path / "broken.docx"))
    with pytest.raises(RenderError, match="no_such_variable"):
        render_consolidated(report, tmp_path / "x.docx", tmp_path / "broken.docx")


def test_the_campaign_template_is_used(report: Report, tmp_path: Path) -> None:
    own = Document()
    own.add_paragraph("Mẫu riêng: {{ issuer.display }} – {{ reported_count }}/{{ unit_count }}")
    own.save(str(tmp_path / "own.docx"))
    spec = replace(report.spec, template=tmp_path / "own.docx")
    path = render_consolidated(replace(report, spec=spec), tmp_path / "own-out.docx")
    assert paragraphs(path) == ["Mẫu riêng: Sở Nội vụ – 3/8"]


# -- words -------------------------------------------------------------------------------------


def test_display_name() -> None:
    hints = ["Công văn số 1918/SNV-TĐKT ngày 17/10/2023 của Sở Nội vụ"]
    assert display_name("SỞ NỘI VỤ", hints) == "Sở Nội vụ"
    assert display_name("UBND TỈNH QUẢNG NGÃI") == "UBND tỉnh Quảng Ngãi"
    assert display_name("ỦY BAN NHÂN DÂN THÀNH PHỐ QUẢNG NGÃI") == (
        "Ủy ban nhân dân thành phố Quảng Ngãi")
    assert display_name("SỞ TÀI CHÍNH") == "Sở Tài chính"
    assert display_name("SỞ Y TẾ TỈNH QUẢNG NGÃI") == "Sở Y tế tỉnh Quảng Ngãi"
    assert display_name("Sở Giáo dục và Đào tạo") == "Sở Giáo dục và Đào tạo"


def test_signer_title_follows_the_agency() -> None:
    assert signer_title("SỞ NỘI VỤ") == "GIÁM ĐỐC"
    assert signer_title("ỦY BAN NHÂN DÂN HUYỆN BÌNH SƠN") == "CHỦ TỊCH"
    assert signer_title("Sở Y tế") == "GIÁM ĐỐC"


@pytest.mark.parametrize(("ask", "heading"), [
    ("Tổng số tiền đơn vị đã ủng hộ là bao nhiêu?", "Tổng số tiền đã ủng hộ"),
    ("Xin anh/chị cho biết những thuận lợi của đơn vị.", "Những thuận lợi"),
    ("Đơn vị (hoặc đơn vị trực thuộc) có ban hành văn bản không? Nếu có, xin liệt kê.",
     "Ban hành văn bản"),
    ("Đề nghị khen thưởng bao nhiêu tập thể?", "Số tập thể đề nghị khen thưởng"),
    ("Đơn vị gặp những khó khăn, hạn chế gì trong quá trình thực hiện phong trào?",
     "Những khó khăn, hạn chế trong quá trình thực hiện phong trào"),
    ("Đơn vị có đề xuất, kiến nghị gì với UBND tỉnh và Sở Nội vụ không?",
     "Đề xuất, kiến nghị với UBND tỉnh và Sở Nội vụ"),
    ("Đơn vị đã tuyên truyền qua những hình thức nào? (có thể chọn nhiều)",
     "Hình thức tuyên truyền"),
    ("Đơn vị phát động phong trào thi đua vào ngày nào?", "Thời gian phát động phong trào thi đua"),
    ("Có bao nhiêu nhà bị hư hỏng?", "Số nhà bị hư hỏng"),
    ("Quý đơn vị có kiến nghị gì không?", "Kiến nghị"),
    ("Nếu ký thay, xin ghi thẩm quyền ký.", "Thẩm quyền ký"),
    ("Chức vụ của người ký báo cáo là gì?", "Chức vụ của người ký báo cáo"),
])
def test_a_derived_heading_is_never_a_question(ask: str, heading: str) -> None:
    assert question_label(ask) == heading


def test_text_width_matches_the_measured_quoc_hieu() -> None:
    # FORMAT-ND30.md §1.3: 95.7 mm at 13 pt bold, 60.5 mm for the Tiêu ngữ at 14 pt bold
    mm = 1440 / 25.4
    assert abs(text_width("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 26, True) / mm - 95.7) < 0.5
    assert abs(text_width("Độc lập - Tự do - Hạnh phúc", 28, True) / mm - 60.5) < 0.5


def test_committed_templates_match_the_script(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_word_templates.py"),
                    "--out", str(tmp_path)], check=True, capture_output=True, timeout=60)
    for name in ("bao-cao-tong-hop.docx", "bao-cao-don-vi.docx"):
        fresh = parts(tmp_path / name, "word/")
        committed = parts(templates_dir() / "word" / name, "word/")
        assert fresh.keys() == committed.keys(), name
        for part, root in fresh.items():
            assert etree.tostring(root) == etree.tostring(committed[part]), (
                f"{name}:{part} differs: run scripts/make_word_templates.py")


# -- through LibreOffice -------------------------------------------------------------------------


def test_pdf_is_a4(pdfs: dict[str, Path]) -> None:
    for pdf in pdfs.values():
        info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True,
                              timeout=60).stdout
        found = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info)
        assert found, info
        assert abs(float(found.group(1)) - 595.3) < 1 and abs(float(found.group(2)) - 841.9) < 1


def test_pdf_header_lines_are_not_wrapped(pdfs: dict[str, Path]) -> None:
    for which, agency in (("consolidated", "SỞ NỘI VỤ"), ("unit", "SỞ XÂY DỰNG")):
        lines = pdftext(pdfs[which], 1).splitlines()
        national = next(line for line in lines if "CỘNG HÒA" in line)
        assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in national, lines[:6]
        assert "UBND TỈNH QUẢNG NGÃI" in national  # the left block sits beside it
        assert any("Độc lập - Tự do - Hạnh phúc" in line and agency in line for line in lines)
        assert any("Quảng Ngãi, ngày 27 tháng 10 năm 2023" in line for line in lines)


def test_pdf_page_number_only_from_page_two(pdfs: dict[str, Path]) -> None:
    first = [line.strip() for line in pdftext(pdfs["consolidated"], 1).splitlines()
             if line.strip()]
    assert not any(re.fullmatch(r"\d+", line) for line in first[:3]), first[:3]
    assert first[0] == "DỰ THẢO"
    second = [line.strip() for line in pdftext(pdfs["consolidated"], 2).splitlines()
              if line.strip()]
    assert second[0] == "2"
