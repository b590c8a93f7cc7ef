"""A round on another topic than the seed's: three communes report flood damage to their
district (tests/fixtures/campaigns/flood). The consolidated report speaks of hectares, houses and
đồng with the campaign file's own headings and leads, sums what adds up, and carries nothing of
the COVID round's wording."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from docx import Document
from docx.enum.section import WD_ORIENT

from bot.campaigns.campaign import load_campaign
from bot.campaigns.spec import CampaignSpec
from bot.compile import aggregate, amount_in_words, summary_message
from bot.documents.export import export
from bot.documents.outputs import write_outputs
from bot.documents.reports import render_consolidated
from bot.model import Sheet
from tests.conftest import TZ

FLOOD = Path(__file__).parent / "fixtures" / "campaigns" / "flood" / "campaign.yaml"
AT = datetime(2023, 11, 22, 3, 0, tzinfo=UTC)
JOINT = {"kind": "Công văn", "number": "12/UBND-NN", "date": "2023-11-18",
         "summary": "về việc phối hợp khắc phục hậu quả mưa lũ"}
SHEETS = [
    Sheet("XTH", "UBND xã Tịnh Hà", "UBND cấp xã", "submitted", {
        "dien_tich_lua": "120.5", "nha_hu_hong": 35, "so_ho_anh_huong": 400,
        "uoc_thiet_hai": 2_500_000_000,
        "ty_le_ho_tro": "90", "van_ban": [
            {"kind": "Kế hoạch", "number": "45/KH-UBND", "date": "2023-11-19",
             "summary": "khắc phục hậu quả mưa lũ"}, JOINT],
        "kho_khan": "Kinh phí hỗ trợ chưa kịp thời.\nNhiều tuyến kênh mương bị bồi lấp.",
        "kien_nghi": "Đề nghị huyện hỗ trợ giống lúa vụ Đông Xuân.",
    }, AT),
    Sheet("XTS", "UBND xã Tịnh Sơn", "UBND cấp xã", "submitted", {
        "dien_tich_lua": "350", "nha_hu_hong": 0, "so_ho_anh_huong": 100,
        "uoc_thiet_hai": 850_000_000,
        "ty_le_ho_tro": "50", "van_ban": [JOINT], "kho_khan": "Không.", "kien_nghi": None,
    }, AT),
    Sheet("XTB", "UBND xã Tịnh Bình", "UBND cấp xã", "in_progress", {
        "dien_tich_lua": "80", "nha_hu_hong": 12,
    }, None),
]
SEED_WORDS = ("COVID", "Covid", "vắc xin", "tiêm", "phòng, chống dịch", "thi đua", "đạt 100 %",
              "Bình quân", "cán bộ, công chức")


@pytest.fixture(scope="module")
def spec() -> CampaignSpec:
    return load_campaign(FLOOD, TZ)


@pytest.fixture(scope="module")
def docx_path(spec: CampaignSpec, tmp_path_factory: pytest.TempPathFactory) -> Path:
    report = aggregate(spec, SHEETS, AT)
    return render_consolidated(report, tmp_path_factory.mktemp("flood") / "bao-cao.docx")


def body(path: Path) -> list[str]:
    return [p.text for p in Document(str(path)).paragraphs if p.text.strip()]


def table_rows(path: Path) -> list[list[str]]:
    appendix = Document(str(path)).tables[-1]
    return [[c.text for c in row.cells] for row in appendix.rows]


def test_none_of_the_seed_wording(docx_path: Path) -> None:
    text = "\n".join(body(docx_path) + ["|".join(r) for r in table_rows(docx_path)])
    found = [w for w in SEED_WORDS if w in text]
    assert not found, found


def test_area_and_money_are_summed_in_the_campaigns_own_leads(spec: CampaignSpec,
                                                              docx_path: Path) -> None:
    text = "\n".join(body(docx_path))
    communes = len(spec.units)
    # only the two communes that submitted: 120,5 + 350 ha; Tịnh Bình's 80 ha is not in
    assert (f"Mưa lũ làm thiệt hại 470,5 ha lúa, hoa màu tại 2/{communes} xã, nhiều nhất"
            " 350 ha.") in text
    money = 2_500_000_000 + 850_000_000
    assert (f"Tổng giá trị thiệt hại ước tính 3.350.000.000 đồng ({amount_in_words(money)}), "
            f"theo báo cáo của 2/{communes} xã.") in text
    assert "Toàn huyện có 35 nhà bị hư hỏng, tốc mái; có xã không có nhà bị hư hỏng." in text
    # weighted by households: (90 × 400 + 50 × 100) / 500 = 82 %, not the plain 70 %
    assert "Tính chung toàn huyện, 82\u00a0% số hộ bị ảnh hưởng đã được hỗ trợ; thấp nhất" \
        " 50\u00a0%." in text


def test_headings_are_the_written_ones(spec: CampaignSpec, docx_path: Path) -> None:
    document = Document(str(docx_path))
    clauses = [p.text for p in document.paragraphs if p.style.name == "ND30 Item"]
    written = [q.heading for q in spec.questionnaire.questions if q.aggregate != "none"]
    assert clauses == [f"{n}. {h}" for n, h in zip((1, 2, 3, 4, 1, 2, 1, 2), written,
                                                   strict=True)]
    assert not [c for c in clauses if "?" in c or re.search(r"\b(gì|nào)\b", c)]


def test_documents_merged_once_and_nothing_said_is_not_listed(docx_path: Path) -> None:
    text = body(docx_path)
    assert "Các xã đã ban hành 2 văn bản chỉ đạo khắc phục hậu quả:" in text
    joint = [t for t in text if "12/UBND-NN" in t]
    assert joint == ["- Công văn số 12/UBND-NN ngày 18/11/2023 về việc phối hợp khắc phục hậu"
                     " quả mưa lũ (UBND xã Tịnh Hà, UBND xã Tịnh Sơn);"]
    assert text.index(joint[0]) < next(i for i, t in enumerate(text) if "45/KH-UBND" in t)
    assert "1/2 xã nêu khó khăn, vướng mắc; 1 xã không có khó khăn:" in text
    assert not any(t.startswith("- UBND xã Tịnh Sơn: Không") for t in text)
    assert "- UBND xã Tịnh Hà: Kinh phí hỗ trợ chưa kịp thời." in text
    assert "Nhiều tuyến kênh mương bị bồi lấp." in text
    assert not any(t.rstrip().endswith("..") or t.strip() in ("-", "- .") for t in text)


def test_appendix_is_landscape_with_a_total_and_the_missing_commune_apart(
        docx_path: Path) -> None:
    document = Document(str(docx_path))
    first, last = document.sections[0], document.sections[-1]
    assert first.orientation == WD_ORIENT.PORTRAIT
    assert last.orientation == WD_ORIENT.LANDSCAPE and last.page_width > last.page_height
    rows = table_rows(docx_path)
    # five numeric questions, none named: every one, too wide for a portrait page
    assert rows[0] == ["TT", "Đơn vị", "(1)", "(2)", "(3)", "(4)", "(5)", "Ghi chú"]
    assert [r[1] for r in rows[1:]] == ["UBND xã Tịnh Hà", "UBND xã Tịnh Sơn", "Tổng cộng"]
    assert rows[-1][2:7] == ["470,5", "35", "500", "3.350.000.000", "82"]
    text = "\n".join(body(docx_path))
    assert ("Đơn vị chưa gửi báo cáo (không tính vào dòng Tổng cộng): UBND xã Tịnh Bình (đang"
            " trả lời, đã trả lời 2/11 câu hỏi); UBND xã Tịnh Thọ.") in text
    assert "(1) Diện tích lúa, hoa màu bị thiệt hại (ha)." in text
    assert "(5) Hỗ trợ hộ dân bị ảnh hưởng (%; dòng Tổng cộng: tỷ lệ chung tính theo hộ dân" \
        " bị ảnh hưởng)." in text


def test_spreadsheet_and_chat_use_the_same_headings(spec: CampaignSpec, tmp_path: Path) -> None:
    xlsx, _ = export(spec, SHEETS, tmp_path)
    header = [c.value for c in openpyxl.load_workbook(xlsx).worksheets[0][1]]
    assert header[3:7] == ["Diện tích lúa, hoa màu bị thiệt hại", "Nhà ở bị hư hỏng, tốc mái",
                           "Hộ dân bị ảnh hưởng", "Giá trị thiệt hại ước tính"]
    chat = "\n".join(summary_message(aggregate(spec, SHEETS, AT)))
    assert "▸ <i>Diện tích lúa, hoa màu bị thiệt hại</i> (2/2 đơn vị trả lời)\nMưa lũ làm" \
        " thiệt hại 470,5 ha" in chat
    assert not [w for w in SEED_WORDS if w in chat]


def test_the_html_summary_shows_the_headings_and_leads(spec: CampaignSpec,
                                                      tmp_path: Path) -> None:
    write_outputs(spec, SHEETS, AT, tmp_path, unit_reports=False)
    page = (tmp_path / "tom-tat.html").read_text(encoding="utf-8")
    assert "<i>Giá trị thiệt hại ước tính</i>" in page
    assert "Tổng giá trị thiệt hại ước tính 3.350.000.000 đồng" in page
    assert not [w for w in SEED_WORDS if w in page]


def _lead(spec: CampaignSpec, qid: str) -> Any:
    return next(q for q in spec.questionnaire.questions if q.id == qid).lead


def test_every_question_has_a_written_lead(spec: CampaignSpec) -> None:
    assert all(q.heading and _lead(spec, q.id) for q in spec.questionnaire.questions
               if q.aggregate != "none")
