"""Aggregation of a round into a Report, the summary message and amounts in words."""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.campaigns.campaign import load_campaign, load_campaign_text
from bot.campaigns.spec import CampaignSpec
from bot.compile import (
    QuestionSummary,
    Report,
    aggregate,
    amount_in_words,
    summary_message,
)
from bot.model import Sheet, UnitStatus
from bot.paths import templates_dir

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2023, 10, 27, 2, 0, tzinfo=UTC)  # 09:00 in Quảng Ngãi
AT = datetime(2023, 10, 25, 3, 0, tzinfo=UTC)
DANGER = "A & B < C > D {{ 7*7 }} {% if true %}x{% endif %} =1+2"


def doc(number: str | None, kind: str = "Kế hoạch", day: str = "2021-10-04") -> dict[str, Any]:
    return {"kind": kind, "number": number, "date": day, "summary": "triển khai phong trào"}


def choice(*selected: str, other: str | None = None) -> dict[str, Any]:
    return {"selected": list(selected), "other": other}


def default_spec(units: int = 5) -> CampaignSpec:
    spec = load_campaign(templates_dir() / "default" / "campaign.yaml", TZ)
    return dataclasses.replace(spec, units=spec.units[:units])


def sheet(code: str, name: str, status: UnitStatus, answers: dict[str, Any]) -> Sheet:
    submitted = AT if status in ("submitted", "edited") else None
    return Sheet(code, name, "Sở, ban, ngành", status, answers, submitted)


SXD = {
    "thuan_loi": "Được sự chỉ đạo kịp thời của Đảng ủy và lãnh đạo Sở.",
    "kho_khan": "Khối lượng công việc tăng.",
    "co_ke_hoach": True,
    "van_ban_chi_dao": [doc("692/KH-SXD")],
    "ngay_phat_dong": "2021-10-04",
    "tuyen_truyen": "Phối hợp với Công đoàn.",
    "hinh_thuc_tt": choice("Hội nghị", "Lồng ghép trong sinh hoạt chuyên môn"),
    "so_can_bo": 85,
    "ty_le_tiem": "100",
    "van_ban_chuyen_nganh": None,
    "giai_phap_cong_nghe": choice("Bluezone/PC-Covid", "Mã QR Code"),
    "ung_ho_tien": 10_000_000,
    "ung_ho_hien_vat": ["May quần áo ủng hộ bác sĩ tuyến đầu", "Giúp đỡ đoàn viên bị cách ly"],
    "tu_danh_gia": choice("Hoàn thành tốt"),
    "de_nghi_khen": False,
    "so_tap_the": 99,  # hidden: de_nghi_khen is False
    "nguoi_ky": "Nguyễn Hữu Hồng",
}
SYT = {
    "thuan_loi": DANGER,
    "kho_khan": "Nhân lực mỏng.",
    "co_ke_hoach": True,
    "van_ban_chi_dao": [doc("1563/KH-SYT"), doc("4120/SYT-VP", "Công văn", "2021-10-05")],
    "ngay_phat_dong": "2021-09-30",
    "tuyen_truyen": "Tuyên truyền thông điệp 5K.",
    "hinh_thuc_tt": choice("Trang thông tin điện tử", "Mạng xã hội (Zalo/Facebook)",
                           other="Phóng sự <b>truyền hình</b> & báo"),
    "so_can_bo": 1250,
    "ty_le_tiem": "100",
    "van_ban_chuyen_nganh": [doc("3935/SYT-NVY", "Công văn")],
    "giai_phap_cong_nghe": choice("Mã QR Code"),
    "ung_ho_tien": 1_200_000_000,
    "gia_tri_hien_vat": 35_000_000,
    "ngay_cong": 2700,
    "tu_danh_gia": choice("Hoàn thành xuất sắc"),
    "de_nghi_khen": True,
    "so_tap_the": 4,
    "so_ca_nhan": 15,
}
SGDDT = {
    "thuan_loi": "Được sự quan tâm của Bộ.",
    "kho_khan": "Dạy học trực tuyến kéo dài.",
    "co_ke_hoach": False,
    "van_ban_chi_dao": [doc("2846/KH-SGDĐT")],  # hidden: co_ke_hoach is False
    "ngay_phat_dong": None,
    "tuyen_truyen": "Sinh hoạt dưới cờ.",
    "hinh_thuc_tt": choice("Hội nghị", other="Loa truyền thanh"),
    "so_can_bo": 2946,
    "ty_le_tiem": "99.2",
    "giai_phap_cong_nghe": choice("Họp trực tuyến"),
    "ung_ho_tien": 315_000_000,
    "gia_tri_hien_vat": None,
    "tu_danh_gia": choice("Hoàn thành tốt"),
    "de_nghi_khen": True,
    "so_tap_the": 2,
    "so_ca_nhan": 8,
}
STC = {"thuan_loi": "Đang trả lời", "co_ke_hoach": True, "ty_le_tiem": "50",
       "ung_ho_tien": 999}


def sheets() -> list[Sheet]:
    return [
        sheet("SXD", "Sở Xây dựng", "submitted", SXD),
        sheet("SYT", "Sở Y tế", "edited", SYT),
        sheet("SGDDT", "Sở Giáo dục và Đào tạo", "submitted", SGDDT),
        sheet("STC", "Sở Tài chính", "in_progress", STC),
        sheet("SNNPTNT", "Sở Nông nghiệp và Phát triển nông thôn", "not_started", {}),
    ]


@pytest.fixture
def report() -> Report:
    return aggregate(default_spec(), sheets(), NOW)


def find(report: Report, qid: str) -> QuestionSummary:
    found = [s for sec in report.sections for s in sec.questions if s.question.id == qid]
    assert len(found) == 1, qid
    return found[0]


def test_units_in_campaign_order_split_into_reported_missing_and_edited(report: Report) -> None:
    assert [u.code for u in report.units] == ["SXD", "SYT", "SGDDT", "STC", "SNNPTNT"]
    assert [u.code for u in report.reported] == ["SXD", "SYT", "SGDDT"]
    assert [u.code for u in report.missing] == ["STC", "SNNPTNT"]
    assert [u.code for u in report.edited] == ["SYT"]
    assert not report.final
    assert report.generated_at == NOW
    assert report.units[0].submitted_at == AT and report.units[3].submitted_at is None


def test_sheet_order_and_missing_sheets_do_not_matter() -> None:
    shuffled = aggregate(default_spec(), list(reversed(sheets()[:3])), NOW)
    assert [u.code for u in shuffled.units] == ["SXD", "SYT", "SGDDT", "STC", "SNNPTNT"]
    assert [(u.status, u.name) for u in shuffled.units[3:]] == [
        ("not_started", "Sở Tài chính"), ("not_started", "Sở Nông nghiệp và Phát triển nông thôn")]
    assert shuffled.sections == aggregate(default_spec(), sheets(), NOW).sections


def test_unit_rows_keep_only_visible_answers(report: Report) -> None:
    sxd, _, sgddt, stc, _ = report.units
    assert "so_tap_the" not in sxd.answers and sxd.answers["so_can_bo"] == 85
    assert "van_ban_chi_dao" not in sgddt.answers
    assert (stc.status, stc.answered) == ("in_progress", 4)
    questions = len(report.spec.questionnaire.questions)
    assert (sxd.total, report.units[4].answered, report.units[4].total) == (
        questions - 2, 0, questions - 3)  # the plans and the proposals are hidden


def test_money_and_integer_sums(report: Report) -> None:
    money = find(report, "ung_ho_tien")
    assert (money.how, money.total, money.answered) == ("sum", 1_525_000_000, 3)
    assert isinstance(money.total, int)
    assert find(report, "so_can_bo").total == 4281
    assert find(report, "gia_tri_hien_vat").total == 35_000_000
    assert find(report, "gia_tri_hien_vat").answered == 1  # one skipped, one not shown


def test_percent_weighted_by_staff_with_units_at_target(report: Report) -> None:
    rate = find(report, "ty_le_tiem")  # weight: so_can_bo, target: 100
    assert (rate.how, rate.weighted) == ("avg", True)
    # (100 × 85 + 100 × 1.250 + 99,2 × 2.946) / 4.281, not the plain 99,73
    assert rate.average == Decimal("99.45")
    assert (rate.minimum, rate.maximum, rate.reached) == (Decimal("99.2"), Decimal(100), 2)


def test_percent_without_every_weight_is_the_plain_average() -> None:
    without = {**SGDDT}
    del without["so_can_bo"]
    report = aggregate(default_spec(), [*sheets()[:2], sheet("SGDDT", "Sở GD", "submitted",
                                                              without)], NOW)
    rate = find(report, "ty_le_tiem")
    assert (rate.average, rate.weighted) == (Decimal("99.73"), False)
    text = "\n".join(summary_message(report))
    assert "bình quân các đơn vị đạt 99,73 %" in text


def test_number_sums_by_default_and_documents_count_once_by_number() -> None:
    spec = load_campaign_text("inline.yaml", INLINE.replace(
        "aggregate: avg, unit: người}", "unit: người}\n        - {id: ha, type: number, "
        "ask: \"Diện tích?\", unit: ha}\n        - {id: vb, type: documents, ask: \"Văn bản?\"}"
        "\n        - {id: y, type: text, ask: \"Ý kiến?\"}"), TZ)
    same = doc("12/UBND-NN")
    report = aggregate(spec, [
        Sheet("A", "Đơn vị A", None, "submitted",
              {"ha": "120.5", "vb": [same, doc("3/KH-A")], "y": "Không có."}, AT),
        Sheet("B", "Đơn vị B", None, "submitted",
              {"ha": "350", "vb": [{**same, "kind": "Công văn"}], "y": "Đề nghị hỗ trợ giống."},
              AT),
    ], NOW)
    area = find(report, "ha")
    assert (area.how, area.total, area.average) == ("sum", Decimal("470.5"), Decimal("235.25"))
    assert find(report, "vb").items == 2
    said = find(report, "y")
    assert (said.answered, said.none) == (1, ("Đơn vị A",))


def test_yes_no_counts(report: Report) -> None:
    assert find(report, "co_ke_hoach").counts == (("Có", 2), ("Không", 1))
    assert find(report, "de_nghi_khen").counts == (("Có", 2), ("Không", 1))


def test_hidden_answers_are_ignored(report: Report) -> None:
    groups = find(report, "so_tap_the")
    assert (groups.total, groups.answered, groups.asked) == (6, 2, 2)
    assert find(report, "so_ca_nhan").total == 23
    plans = find(report, "van_ban_chi_dao")
    assert [unit for unit, _ in plans.entries] == ["Sở Xây dựng", "Sở Y tế"]
    assert (plans.answered, plans.asked) == (2, 2)


def test_option_counts_keep_zeros_and_attribute_other_texts(report: Report) -> None:
    forms = find(report, "hinh_thuc_tt")
    assert forms.counts == (
        ("Hội nghị", 2),
        ("Trang thông tin điện tử", 1),
        ("Mạng xã hội (Zalo/Facebook)", 1),
        ("Pa nô và áp phích", 0),
        ("Lồng ghép trong sinh hoạt chuyên môn", 1),
    )
    assert forms.others == (
        ("Sở Y tế", "Phóng sự <b>truyền hình</b> & báo"),
        ("Sở Giáo dục và Đào tạo", "Loa truyền thanh"),
    )
    assert find(report, "tu_danh_gia").counts == (
        ("Hoàn thành xuất sắc", 1), ("Hoàn thành tốt", 2), ("Hoàn thành", 0),
        ("Chưa hoàn thành", 0))


def test_documents_listed_by_unit_with_numbers(report: Report) -> None:
    plans = find(report, "van_ban_chi_dao")
    assert plans.how == "list" and plans.total == 3
    assert [(u, [d["number"] for d in v]) for u, v in plans.entries] == [
        ("Sở Xây dựng", ["692/KH-SXD"]), ("Sở Y tế", ["1563/KH-SYT", "4120/SYT-VP"])]
    special = find(report, "van_ban_chuyen_nganh")
    assert (special.answered, special.total) == (1, 1)  # SXD skipped it


def test_text_list_and_date_entries_in_campaign_order(report: Report) -> None:
    assert find(report, "thuan_loi").entries == (
        ("Sở Xây dựng", SXD["thuan_loi"]), ("Sở Y tế", DANGER),
        ("Sở Giáo dục và Đào tạo", SGDDT["thuan_loi"]))
    goods = find(report, "ung_ho_hien_vat")
    assert goods.entries == (("Sở Xây dựng", SXD["ung_ho_hien_vat"]),) and goods.total == 2
    day = find(report, "ngay_phat_dong")
    assert day.entries == (("Sở Xây dựng", "2021-10-04"), ("Sở Y tế", "2021-09-30"))
    assert (day.minimum, day.maximum) == (date(2021, 9, 30), date(2021, 10, 4))


def test_questions_not_aggregated_are_left_out(report: Report) -> None:
    ids = [s.question.id for sec in report.sections for s in sec.questions]
    assert "nguoi_ky" not in ids and "chuc_vu_ky" not in ids
    assert [sec.title for sec in report.sections] == [
        "I. Đặc điểm, tình hình", "II. Công tác triển khai thực hiện", "III. Kết quả đạt được",
        "IV. Đề xuất, kiến nghị"]


def test_final_when_every_unit_reported() -> None:
    done = [dataclasses.replace(s, status="submitted") for s in sheets()[:3]]
    report = aggregate(default_spec(3), done, NOW)
    assert report.final and not report.missing
    text = "\n\n".join(summary_message(report))
    assert "DỰ THẢO" not in text and "Đủ 3/3 đơn vị đã báo cáo" in text


INLINE = """\
title: Thử các cách tổng hợp
request: Công văn số 1/SNV ngày 01/10/2023
agency: {parent: UBND TỈNH QUẢNG NGÃI, name: SỞ NỘI VỤ, code: SNV, place: Quảng Ngãi}
deadline: 2023-10-31 17:00
questionnaire:
  sections:
    - title: I. Số liệu
      questions:
        - {id: nguoi, type: integer, ask: "Số người?", aggregate: avg, unit: người}
        - {id: ngay, type: date, ask: "Ngày phát động?", aggregate: min}
        - {id: tien, type: money, ask: "Số tiền nhỏ nhất?", aggregate: max}
        - {id: tep, type: file, ask: "Tệp báo cáo?"}
        - {id: ghi_chu, type: text, ask: "Ghi chú?", aggregate: count, required: false}
units:
  - {code: A, name: Đơn vị A}
  - {code: B, name: Đơn vị B}
"""


def test_other_aggregates() -> None:
    spec = load_campaign_text("inline.yaml", INLINE, TZ)
    files = [{"name": "bc.pdf", "mime": "application/pdf", "size": 1, "file_id": "x"}]
    report = aggregate(spec, [
        Sheet("A", "Đơn vị A", None, "submitted",
              {"nguoi": 10, "ngay": "2021-10-04", "tien": 5, "tep": files, "ghi_chu": "x"}, AT),
        Sheet("B", "Đơn vị B", None, "submitted",
              {"nguoi": 15, "ngay": "2021-09-01", "tien": 7, "tep": files * 2}, AT),
    ], NOW)
    assert find(report, "nguoi").average == Decimal("12.50")
    assert find(report, "ngay").minimum == date(2021, 9, 1)
    assert find(report, "tien").maximum == 7
    assert (find(report, "tep").answered, find(report, "tep").total) == (2, 3)
    assert find(report, "ghi_chu").answered == 1
    text = "\n".join(summary_message(report))
    assert ("Bình quân các đơn vị: <b>12,5 người</b> (thấp nhất 10 người, cao nhất 15 người)"
            in text)
    assert "Sớm nhất: <b>01/09/2021</b>" in text
    assert "Cao nhất: <b>7 đồng</b>" in text
    assert "3 tệp của 2 đơn vị" in text


def test_summary_headline_figures_and_missing_units(report: Report) -> None:
    parts = summary_message(report)
    assert all(len(part) <= 4096 for part in parts)
    text = "\n\n".join(parts)
    assert text.startswith("<b>TỔNG HỢP</b> Tổng kết phong trào thi đua &#34;Quảng Ngãi")
    assert "<b>DỰ THẢO</b> · Đã báo cáo 3/5 đơn vị · số liệu lúc 09:00 ngày 27/10/2023" in text
    assert "<b>Chưa báo cáo (2):</b>\n• Sở Tài chính — đang trả lời (4/" in text
    assert "• Sở Nông nghiệp và Phát triển nông thôn — chưa bắt đầu" in text
    assert "<b>Đã sửa sau khi gửi (1):</b>\n• Sở Y tế" in text
    # the questions' report headings and their leads rendered over the figures
    assert ("▸ <i>Ủng hộ bằng tiền</i> (3/3 đơn vị trả lời)\nCác đơn vị đã ủng hộ công tác phòng,"
            " chống dịch COVID-19 tổng số tiền 1.525.000.000 đồng (Một tỷ, năm trăm hai mươi lăm"
            " triệu đồng), theo báo cáo của 3/3 đơn vị.") in text
    assert "Tổng số cán bộ, công chức, viên chức và người lao động của 3/3 đơn vị đã báo cáo" \
        " là 4.281 người." in text
    assert ("tính chung đạt 99,45 %; 2/3 đơn vị đạt 100 %, thấp nhất 99,2 %.") in text
    assert "2/3 đơn vị đã ban hành kế hoạch, văn bản chỉ đạo triển khai phong trào; 1 đơn vị" \
        " chưa ban hành." in text
    assert "Xin anh/chị" not in text and "?" not in text
    assert "• Pa nô và áp phích: <b>0</b>" in text
    assert "3 văn bản của 2 đơn vị\n• <b>Sở Xây dựng</b>: 692/KH-SXD" in text
    assert "• <b>Sở Y tế</b>: 1563/KH-SYT, 4120/SYT-VP" in text
    assert "Từ 30/09/2021 đến 04/10/2021" in text
    assert "• <b>Sở Xây dựng</b>: May quần áo ủng hộ bác sĩ tuyến đầu (+1)" in text
    assert "<b>III. Kết quả đạt được</b>\n▸ <i>Số cán bộ" in text
    assert "(2/2 đơn vị trả lời)\nCác đơn vị đề nghị khen thưởng 6 tập thể." in text
    assert "Nguyễn Hữu Hồng" not in text and "99 tập thể" not in text
    assert "50 %" not in text  # the unit still answering is not counted


def test_unit_text_is_escaped_never_interpreted(report: Report) -> None:
    text = "\n\n".join(summary_message(report))
    escaped = "A &amp; B &lt; C &gt; D {{ 7*7 }} {% if true %}x{% endif %} =1+2"
    assert f"• <b>Sở Y tế</b>: {escaped}" in text
    assert "D 49" not in text
    assert "Phóng sự &lt;b&gt;truyền hình&lt;/b&gt; &amp; báo" in text
    plain = "\n\n".join(summary_message(report, "plain"))
    assert DANGER in plain and "<b>" not in plain.replace("<b>truyền", "")


def long_round() -> Report:
    spec = default_spec(8)
    long_text = "Nội dung rất dài & có ký tự <đặc biệt> " * 20
    answers = {**SYT, "thuan_loi": long_text, "kho_khan": long_text, "tuyen_truyen": long_text}
    rows = [sheet(u.code, u.name, "submitted", answers) for u in spec.units[:-1]]
    return aggregate(spec, rows, NOW)


@pytest.mark.parametrize("limit", [200, 300, 500, 1000])
def test_parts_fit_the_limit_and_keep_tags_whole(limit: int) -> None:
    report = long_round()
    whole = summary_message(report, limit=100_000)[0]
    parts = summary_message(report, limit=limit)
    assert len(parts) > 1
    for part in parts:
        assert len(part) <= limit
        assert part.count("<b>") == part.count("</b>")
        assert part.count("<i>") == part.count("</i>")
        assert part.count("&") == len(re.findall(r"&(?:amp|lt|gt|#34|#39);", part))
    lines = [line for part in parts for line in part.split("\n") if line]
    assert lines == [line for line in whole.split("\n") if line]


def test_parts_split_between_paragraphs_when_they_fit() -> None:
    report = long_round()
    whole = summary_message(report, limit=100_000)[0]
    parts = summary_message(report, limit=1500)
    assert len(parts) > 1 and "\n\n".join(parts) == whole
    assert "… và 4 đơn vị khác" in whole


def test_a_line_longer_than_a_part_is_cut_at_spaces() -> None:
    spec = dataclasses.replace(default_spec(), title="Tổng kết & đánh giá " * 30)
    parts = summary_message(aggregate(spec, sheets(), NOW), limit=200)
    assert all(len(p) <= 200 and p.count("<b>") == p.count("</b>") for p in parts)
    assert parts[0].startswith("<b>TỔNG HỢP</b> Tổng kết &amp; đánh giá")
    spec = dataclasses.replace(default_spec(), title="&<>" * 100)  # no space to cut at
    parts = summary_message(aggregate(spec, sheets(), NOW), limit=200)
    for part in parts:
        assert len(part) <= 200 and part.count("<b>") == part.count("</b>")
        assert part.count("&") == len(re.findall(r"&(?:amp|lt|gt);", part))
    with pytest.raises(ValueError):
        summary_message(aggregate(spec, sheets(), NOW), limit=50)


def test_nobody_reported_yet() -> None:
    text = "\n".join(summary_message(aggregate(default_spec(), [], NOW)))
    assert "Đã báo cáo 0/5 đơn vị" in text and "Chưa có đơn vị nào gửi báo cáo." in text
    assert "Chưa báo cáo (5):" in text and "Kết quả đạt được" not in text


@pytest.mark.parametrize(("amount", "words"), [
    (0, "Không đồng"),
    (5, "Năm đồng"),
    (10, "Mười đồng"),
    (14, "Mười bốn đồng"),
    (15, "Mười lăm đồng"),
    (21, "Hai mươi mốt đồng"),
    (24, "Hai mươi tư đồng"),
    (25, "Hai mươi lăm đồng"),
    (50, "Năm mươi đồng"),
    (101, "Một trăm linh một đồng"),
    (105, "Một trăm linh năm đồng"),
    (110, "Một trăm mười đồng"),
    (115, "Một trăm mười lăm đồng"),
    (1_000, "Một nghìn đồng"),
    (35_000, "Ba mươi lăm nghìn đồng"),
    (250_500, "Hai trăm năm mươi nghìn, năm trăm đồng"),
    (1_000_005, "Một triệu, không trăm linh năm đồng"),
    (1_050_000, "Một triệu, không trăm năm mươi nghìn đồng"),
    (10_000_000, "Mười triệu đồng"),
    (1_000_000_001, "Một tỷ, không trăm linh một đồng"),
    (1_525_000_000, "Một tỷ, năm trăm hai mươi lăm triệu đồng"),
    (12_345_678_000,
     "Mười hai tỷ, ba trăm bốn mươi lăm triệu, sáu trăm bảy mươi tám nghìn đồng"),
    (1_200_000_000_000, "Một nghìn hai trăm tỷ đồng"),
])
def test_amount_in_words(amount: int, words: str) -> None:
    assert amount_in_words(amount) == words


def test_amount_in_words_refuses_negative() -> None:
    with pytest.raises(ValueError):
        amount_in_words(-1)


def test_catalogue_texts_are_nfc() -> None:
    data = yaml.safe_load((templates_dir() / "messages" / "compile.yaml").read_text("utf-8"))
    assert data and all(key.startswith("compile.") for key in data)
    for key, text in data.items():
        assert unicodedata.is_normalized("NFC", text), key
