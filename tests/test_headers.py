"""Who signs, who receives, who drafted, on what basis, and headers that follow the unit (#13
items 3 and 4): checked in the generated .docx (python-docx) and, for the header lines, through
LibreOffice. The flood round (tests/fixtures/campaigns/flood) is a district's round of communes."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from docx import Document

from bot.campaigns.campaign import load_campaign
from bot.campaigns.spec import CampaignSpec, SummarySection
from bot.campaigns.units import Unit
from bot.compile import Report, aggregate
from bot.demo import default_campaign
from bot.documents.layout import break_lines, text_width
from bot.documents.reports import render_consolidated, render_unit
from bot.model import Sheet

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
FLOOD = Path(__file__).parent / "fixtures" / "campaigns" / "flood" / "campaign.yaml"
AT = datetime(2023, 11, 22, 3, 0, tzinfo=UTC)
HEADER_CELL = 3515 - 2 * 108  # the left header cell of the shipped templates, padding off


def _flood_answers(homes: int, hectares: str, money: int, name: str, title: str,
                   authority: str = "") -> dict[str, Any]:
    return {"so_ho_anh_huong": homes, "dien_tich_lua": Decimal(hectares),
            "uoc_thiet_hai": money, "nguoi_ky": name, "chuc_vu_ky": title,
            "tham_quyen_ky": authority}


@pytest.fixture(scope="module")
def flood() -> Report:
    spec = load_campaign(FLOOD, TZ)
    sheets = [
        Sheet("XTH", "UBND xã Tịnh Hà", "UBND cấp xã", "submitted", _flood_answers(
            120, "35.5", 1_200_000_000, "Nguyễn Văn Hùng", "Phó Chủ tịch",
            "TM. Ủy ban nhân dân KT. Chủ tịch"), AT),
        Sheet("XTS", "UBND xã Tịnh Sơn", "UBND cấp xã", "submitted", _flood_answers(
            80, "20", 650_000_000, "Lê Thị Mai", "CHỦ TỊCH", "TM. ỦY BAN NHÂN DÂN"), AT),
        Sheet("XTB", "UBND xã Tịnh Bình", "UBND cấp xã", "submitted", _flood_answers(
            45, "12.25", 300_000_000, "Trần Văn Lộc", "phó chủ tịch", "kt chủ tịch"), AT),
    ]
    return aggregate(spec, sheets, AT)


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("headers")


def _body(path: Path) -> Any:
    return Document(str(path))


def _lines(paragraph: Any) -> list[str]:
    """The lines of a paragraph as Word breaks them at w:br."""
    text = ""
    for run in paragraph.runs:
        for child in run._r:
            if child.tag.endswith("}br"):
                text += "\n"
            elif child.tag.endswith("}t"):
                text += child.text or ""
    return text.split("\n")


def _styled(path: Path, style: str) -> list[Any]:
    document = _body(path)
    found = [p for p in document.paragraphs if p.style.name == style]
    for table in document.tables:
        for row in table.rows:
            for cell in row.cells:
                found += [p for p in cell.paragraphs if p.style.name == style]
    return found


def _header_cell(path: Path) -> list[str]:
    """The header's left column (agency, then Số), line by line."""
    rows = _body(path).tables[0].rows
    return [line for row in rows for p in row.cells[0].paragraphs for line in _lines(p) if line]


def _texts(path: Path) -> list[str]:
    document = _body(path)
    texts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            for cell in row.cells:
                texts += [p.text for p in cell.paragraphs]
    return texts


def _signature(path: Path) -> tuple[list[str], list[str]]:
    table = next(t for t in _body(path).tables if "Nơi nhận:" in t.rows[0].cells[0].text)
    left, right = table.rows[0].cells
    return [p.text for p in left.paragraphs], [p.text for p in right.paragraphs]


# -- the flood round: a district and its communes ----------------------------------------------


def test_commune_report_has_no_chu_quan_and_its_own_place_and_symbol(flood: Report,
                                                                       out: Path) -> None:
    path = render_unit(flood, "XTH", out / "XTH.docx")
    assert _header_cell(path) == ["ỦY BAN NHÂN DÂN", "XÃ TỊNH HÀ", "Số:      /BC-UBND"]
    assert _styled(path, "ND30 Agency Parent") == []  # not even an empty line above the name
    texts = _texts(path)
    assert not any("SƠN TỊNH" in t for t in texts[:4])
    assert "Tịnh Hà, ngày 22 tháng 11 năm 2023" in texts
    assert not any("/BC-XTH" in t for t in texts)  # the unit's code is not its ký hiệu
    assert "Kính gửi: UBND huyện Sơn Tịnh" in texts
    opening = next(t for t in texts if t.startswith("Thực hiện "))
    assert opening.startswith("Thực hiện Công văn số 1250/UBND-NN ngày 18/11/2023 của UBND "
                              "huyện Sơn Tịnh; UBND xã Tịnh Hà báo cáo")


def test_commune_without_place_and_symbol_columns_gets_them_from_its_name(
        flood: Report, out: Path) -> None:
    path = render_unit(flood, "XTB", out / "XTB.docx")  # place and symbol left empty
    assert _header_cell(path) == ["ỦY BAN NHÂN DÂN", "XÃ TỊNH BÌNH", "Số:      /BC-UBND"]
    assert "Tịnh Bình, ngày 22 tháng 11 năm 2023" in _texts(path)


@pytest.mark.parametrize(("code", "lines", "name"), [
    ("XTH", ["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"], "Nguyễn Văn Hùng"),
    ("XTS", ["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"], "Lê Thị Mai"),
    ("XTB", ["KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"], "Trần Văn Lộc"),  # typed "kt chủ tịch"
])
def test_unit_signature_from_its_own_answers_in_decree_30_form(
        flood: Report, out: Path, code: str, lines: list[str], name: str) -> None:
    path = render_unit(flood, code, out / f"{code}-sign.docx")
    recipients, signer = _signature(path)
    assert recipients == ["Nơi nhận:", "- Như trên;", "- Lưu: VT."]
    assert signer == [*lines, "", "", "", "", name]
    name_paragraph = _styled(path, "ND30 Signer Name")[0]
    assert name_paragraph.text == name
    assert name_paragraph.style.font.bold or name_paragraph.style.base_style.font.bold


def test_district_report_signed_on_behalf_of_the_committee(flood: Report, out: Path) -> None:
    path = render_consolidated(flood, out / "flood.docx")
    assert _header_cell(path) == ["ỦY BAN NHÂN DÂN", "HUYỆN SƠN TỊNH", "Số:      /BC-UBND"]
    texts = _texts(path)
    assert "Sơn Tịnh, ngày 22 tháng 11 năm 2023" in texts
    assert "Kính gửi: UBND tỉnh Quảng Ngãi" in texts
    opening = next(t for t in texts if t.startswith("Thực hiện "))
    assert opening.startswith(
        "Thực hiện Công điện số 12/CĐ-UBND ngày 17/11/2023 của Chủ tịch UBND tỉnh Quảng Ngãi về "
        "việc khắc phục hậu quả mưa lũ; Công văn số 1250/UBND-NN ngày 18/11/2023 của UBND huyện "
        "Sơn Tịnh; trên cơ sở báo cáo của 3/4 đơn vị")
    assert opening.count("1250/UBND-NN") == 1  # the request is also a basis: cited once
    recipients, signer = _signature(path)
    assert recipients == ["Nơi nhận:", "- Như trên;", "- Ban Chỉ huy PCTT và TKCN tỉnh;",
                          "- Sở Nông nghiệp và Phát triển nông thôn;",
                          "- TT Huyện ủy, TT HĐND huyện;", "- Lưu: VT, NN."]
    assert signer == ["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH", "", "", "", "",
                      "Phạm Văn Tâm"]
    sections = [p.text for p in _styled(path, "ND30 Section")]
    # the district's own part after the part its "after" names, the next ones renumbered
    assert sections == ["I. TÌNH HÌNH THIỆT HẠI", "II. CÔNG TÁC KHẮC PHỤC HẬU QUẢ",
                        "III. ĐÁNH GIÁ CHUNG", "IV. KHÓ KHĂN VÀ KIẾN NGHỊ"]
    at = texts.index("III. ĐÁNH GIÁ CHUNG")
    assert texts[at + 1].startswith("UBND huyện đã chỉ đạo các xã huy động lực lượng")
    assert texts[at + 2] == "IV. KHÓ KHĂN VÀ KIẾN NGHỊ"


def test_no_kinh_gui_when_the_campaign_says_none(flood: Report, out: Path) -> None:
    spec = replace(flood.spec, to=())
    path = render_consolidated(replace(flood, spec=spec), out / "flood-no-to.docx")
    texts = _texts(path)
    assert not any(t.startswith("Kính gửi") for t in texts)
    recipients, _ = _signature(path)
    assert recipients[1] != "- Như trên;" and recipients[-1] == "- Lưu: VT, NN."
    closing = next(t for t in texts if t.startswith("Trên đây là báo cáo"))
    assert closing.endswith(" của UBND huyện Sơn Tịnh, được tổng hợp từ báo cáo của các đơn"
                            " vị./.")
    assert "kính báo cáo" not in closing


def test_a_summary_section_without_after_ends_the_body(flood: Report, out: Path) -> None:
    spec = replace(flood.spec, summary_sections=(
        SummarySection("Đánh giá chung", "Ưu điểm: phối hợp kịp thời.\nHạn chế: còn chậm.",
                       "I. Tình hình thiệt hại"),
        SummarySection("Phương hướng, nhiệm vụ", "Khôi phục sản xuất vụ Đông Xuân.")))
    path = render_consolidated(replace(flood, spec=spec), out / "flood-summaries.docx")
    texts = _texts(path)
    sections = [p.text for p in _styled(path, "ND30 Section")]
    assert sections == ["I. TÌNH HÌNH THIỆT HẠI", "II. ĐÁNH GIÁ CHUNG",
                        "III. CÔNG TÁC KHẮC PHỤC HẬU QUẢ", "IV. KHÓ KHĂN VÀ KIẾN NGHỊ",
                        "V. PHƯƠNG HƯỚNG, NHIỆM VỤ"]
    at = texts.index("II. ĐÁNH GIÁ CHUNG")
    assert texts[at + 1:at + 3] == ["Ưu điểm: phối hợp kịp thời.", "Hạn chế: còn chậm."]
    last = texts.index("V. PHƯƠNG HƯỚNG, NHIỆM VỤ")
    assert texts[last + 1] == "Khôi phục sản xuất vụ Đông Xuân."
    assert texts[last + 2].startswith("Trên đây là báo cáo")


# -- the seed round: Sở and huyện units, the consolidated report ----------------------------------


def _seed(*sheets: Sheet, spec: CampaignSpec | None = None) -> Report:
    return aggregate(spec or default_campaign(TZ), list(sheets), AT)


def test_unit_headers_follow_the_unit(out: Path) -> None:
    signer = {"nguoi_ky": "Võ Văn A", "chuc_vu_ky": "GIÁM ĐỐC"}
    report = _seed(
        Sheet("SNNPTNT", "Sở Nông nghiệp và Phát triển nông thôn", None, "submitted", signer, AT),
        Sheet("SGDDT", "Sở Giáo dục và Đào tạo", None, "submitted", signer, AT),
        Sheet("UBNDTPQN", "Ủy ban nhân dân thành phố Quảng Ngãi", None, "submitted", signer, AT))
    agriculture = render_unit(report, "SNNPTNT", out / "SNNPTNT.docx")
    assert _header_cell(agriculture) == [
        "UBND TỈNH QUẢNG NGÃI", "SỞ NÔNG NGHIỆP VÀ", "PHÁT TRIỂN NÔNG THÔN",
        "Số:      /BC-SNNPTNT"]
    education = render_unit(report, "SGDDT", out / "SGDDT.docx")
    assert _header_cell(education)[-1] == "Số:      /BC-SGDĐT"  # initials, not the code
    city = render_unit(report, "UBNDTPQN", out / "UBNDTPQN.docx")
    assert _header_cell(city)[0] == "ỦY BAN NHÂN DÂN"
    assert "UBND TỈNH QUẢNG NGÃI" not in _header_cell(city)
    assert "Quảng Ngãi, ngày 22 tháng 11 năm 2023" in _texts(city)
    # the campaign's own capitalisation in the text: no "Phát triển" re-cased
    closing = next(t for t in _texts(agriculture) if t.startswith("Trên đây"))
    assert "của Sở Nông nghiệp và Phát triển nông thôn, đề nghị Sở Nội vụ" in closing


def _header_sizes(path: Path) -> list[float]:
    """The font size (pt) of each agency line of the header, as the run or its style sets it."""
    cell = _body(path).tables[0].rows[0].cells[0]
    return [(run.font.size or p.style.font.size).pt for p in cell.paragraphs
            if p.style.name in ("ND30 Agency Parent", "ND30 Agency") for run in p.runs]


def test_a_name_too_wide_at_13_pt_goes_to_12_pt_with_its_parent(out: Path) -> None:
    signer = {"nguoi_ky": "Võ Văn A", "chuc_vu_ky": "CHỦ TỊCH"}
    report = _seed(
        Sheet("UBNDTPQN", "Ủy ban nhân dân thành phố Quảng Ngãi", None, "submitted", signer, AT),
        Sheet("SGDDT", "Sở Giáo dục và Đào tạo", None, "submitted", signer, AT),
        Sheet("SNNPTNT", "Sở Nông nghiệp và Phát triển nông thôn", None, "submitted", signer, AT))
    # at 13 pt "THÀNH PHỐ QUẢNG NGÃI" is 1 mm too wide for the cell: three lines
    assert len(break_lines("ỦY BAN NHÂN DÂN\nTHÀNH PHỐ QUẢNG NGÃI", HEADER_CELL, 26, True)) == 3
    city = render_unit(report, "UBNDTPQN", out / "city-12.docx")
    assert _header_cell(city)[:2] == ["ỦY BAN NHÂN DÂN", "THÀNH PHỐ QUẢNG NGÃI"]
    assert set(_header_sizes(city)) == {12.0}
    education = render_unit(report, "SGDDT", out / "SGDDT-12.docx")  # one line at 12 pt
    assert _header_cell(education)[:2] == ["UBND TỈNH QUẢNG NGÃI", "SỞ GIÁO DỤC VÀ ĐÀO TẠO"]
    assert set(_header_sizes(education)) == {12.0}  # the chủ quản line with it
    agriculture = render_unit(report, "SNNPTNT", out / "SNNPTNT-13.docx")  # 2 lines either way
    assert set(_header_sizes(agriculture)) == {13.0}
    consolidated = render_consolidated(report, out / "consolidated-13.docx")
    assert set(_header_sizes(consolidated)) == {13.0}  # SỞ NỘI VỤ fits at 13 pt


def test_units_csv_columns_win_over_the_defaults(out: Path) -> None:
    spec = default_campaign(TZ)
    units = (Unit("CA", "Công an tỉnh", None, "BỘ CÔNG AN", None, "CAT-PV01"),
             Unit("SXD", "Sở Xây dựng", None, "", "Đức Phổ", None))
    spec = replace(spec, units=units)
    report = _seed(Sheet("CA", "Công an tỉnh", None, "submitted", {}, AT),
                   Sheet("SXD", "Sở Xây dựng", None, "submitted", {}, AT), spec=spec)
    police = render_unit(report, "CA", out / "CA.docx")
    assert _header_cell(police) == ["BỘ CÔNG AN", "CÔNG AN TỈNH", "Số:      /BC-CAT-PV01"]
    building = render_unit(report, "SXD", out / "SXD-own.docx")
    assert _header_cell(building) == ["SỞ XÂY DỰNG", "Số:      /BC-SXD"]  # parent "-": none
    assert "Đức Phổ, ngày 22 tháng 11 năm 2023" in _texts(building)


LONG_NAMES = [
    "SỞ NÔNG NGHIỆP VÀ PHÁT TRIỂN NÔNG THÔN", "SỞ VĂN HÓA, THỂ THAO VÀ DU LỊCH",
    "SỞ LAO ĐỘNG - THƯƠNG BINH VÀ XÃ HỘI", "SỞ KHOA HỌC VÀ CÔNG NGHỆ",
    "BAN CHỈ HUY PHÒNG, CHỐNG THIÊN TAI VÀ TÌM KIẾM CỨU NẠN HUYỆN SƠN TỊNH",
    "TRUNG TÂM PHÁT TRIỂN QUỸ ĐẤT TỈNH QUẢNG NGÃI", "ỦY BAN NHÂN DÂN\nTHÀNH PHỐ HỒ CHÍ MINH",
]


@pytest.mark.parametrize("name", LONG_NAMES)
def test_header_lines_fit_the_cell_and_never_leave_a_word_alone(name: str) -> None:
    lines = break_lines(name, HEADER_CELL, 26, True)
    assert " ".join(lines) == " ".join(name.split())
    assert len(lines) > 1
    for line in lines:
        assert text_width(line, 26, True) <= HEADER_CELL, line
        assert len(line.split()) > 1, lines


def test_header_breaks_where_the_name_s_parts_meet() -> None:
    assert break_lines("SỞ NÔNG NGHIỆP VÀ PHÁT TRIỂN NÔNG THÔN", HEADER_CELL, 26, True) == [
        "SỞ NÔNG NGHIỆP VÀ", "PHÁT TRIỂN NÔNG THÔN"]
    assert break_lines("SỞ VĂN HÓA, THỂ THAO VÀ DU LỊCH", HEADER_CELL, 26, True) == [
        "SỞ VĂN HÓA,", "THỂ THAO VÀ DU LỊCH"]
    assert break_lines("SỞ NỘI VỤ", HEADER_CELL, 26, True) == ["SỞ NỘI VỤ"]


def test_header_lines_through_libreoffice(flood: Report, out: Path) -> None:
    missing = [tool for tool in ("soffice", "pdftotext") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed: run .ci/install-office.sh (CI does)")
    signer = {"nguoi_ky": "Võ Văn A", "chuc_vu_ky": "GIÁM ĐỐC"}
    report = _seed(Sheet("SNNPTNT", "Sở Nông nghiệp và Phát triển nông thôn", None,
                         "submitted", signer, AT))
    city = _seed(Sheet("UBNDTPQN", "Ủy ban nhân dân thành phố Quảng Ngãi", None, "submitted",
                       signer, AT))
    files = [render_unit(report, "SNNPTNT", out / "lo-SNNPTNT.docx"),
             render_unit(flood, "XTH", out / "lo-XTH.docx"),
             render_unit(city, "UBNDTPQN", out / "lo-UBNDTPQN.docx")]
    profile = out / "lo-profile"
    subprocess.run(
        ["soffice", "--headless", "--norestore", f"-env:UserInstallation={profile.as_uri()}",
         "--convert-to", "pdf", "--outdir", str(out / "pdf"), *map(str, files)],
        check=True, capture_output=True, timeout=180)

    def page_one(name: str) -> list[str]:
        text = subprocess.run(["pdftotext", "-layout", "-f", "1", "-l", "1",
                               str(out / "pdf" / name), "-"], check=True, capture_output=True,
                              text=True, timeout=60).stdout
        return [re.sub(r"\s{2,}", " | ", line.strip()) for line in text.splitlines()
                if line.strip()]

    agriculture = page_one("lo-SNNPTNT.pdf")
    assert agriculture[0] == "UBND TỈNH QUẢNG NGÃI | CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    assert agriculture[1] == "SỞ NÔNG NGHIỆP VÀ | Độc lập - Tự do - Hạnh phúc"
    assert agriculture[2].startswith("PHÁT TRIỂN NÔNG THÔN")
    commune = page_one("lo-XTH.pdf")
    assert commune[0] == "ỦY BAN NHÂN DÂN | CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    assert commune[1] == "XÃ TỊNH HÀ | Độc lập - Tự do - Hạnh phúc"
    assert commune[2].startswith("Số: | /BC-UBND | Tịnh Hà, ngày 22 tháng 11 năm 2023")
    town = page_one("lo-UBNDTPQN.pdf")  # at 12 pt: the city's name on one line
    assert town[1] == "THÀNH PHỐ QUẢNG NGÃI | Độc lập - Tự do - Hạnh phúc"


def test_kinh_gui_several_bodies_one_per_line_dashes_under_the_colon(flood: Report,
                                                                      out: Path) -> None:
    spec = replace(flood.spec, to=("UBND tỉnh Quảng Ngãi", "Ban Chỉ huy PCTT và TKCN tỉnh"))
    path = render_consolidated(replace(flood, spec=spec), out / "flood-to-two.docx")
    head = _styled(path, "ND30 Recipient Head")
    items = _styled(path, "ND30 Recipient Item")
    assert [p.text for p in head] == ["Kính gửi:"]
    assert [p.text for p in items] == ["- UBND tỉnh Quảng Ngãi;",
                                       "- Ban Chỉ huy PCTT và TKCN tỉnh."]
    assert not any(t.startswith("Kính gửi: ") for t in _texts(path))
    to_colon = text_width("Kính gửi", 28)
    assert {p.paragraph_format.left_indent.twips for p in items} == {
        head[0].paragraph_format.left_indent.twips + to_colon}
    recipients, _ = _signature(path)
    assert recipients[1] == "- Như trên;"
    closing = next(t for t in _texts(path) if t.startswith("Trên đây là báo cáo"))
    assert "kính báo cáo UBND tỉnh Quảng Ngãi và Ban Chỉ huy PCTT và TKCN tỉnh xem xét" in closing


def test_signer_recipients_and_bases_come_out_literally(flood: Report, out: Path) -> None:
    evil = "A & B < C > D {{ x }} {% if y %}"
    signer = replace(flood.spec.signer, name=evil)
    spec = replace(flood.spec, signer=signer, recipients=(evil,), drafter="TĐ&KT",
                   bases=(f"Công văn số 1/A&B về {evil}",), summary_sections=(
                       SummarySection(evil, evil),))
    path = render_consolidated(replace(flood, spec=spec), out / "flood-evil.docx")
    recipients, lines = _signature(path)
    assert recipients[2:] == [f"- {evil};", "- Lưu: VT, TĐ&KT."]
    assert lines[-1] == evil
    texts = _texts(path)
    assert any(t.startswith(f"Thực hiện Công văn số 1/A&B về {evil}; ") for t in texts)
    assert texts[texts.index(f"IV. {evil.upper()}") + 1] == evil
