"""Loading and checking campaign, questionnaire and units files (bot/campaigns/campaign.py and the
modules it uses: campaign_spec, file_checks, questions_file, units_file)."""

from __future__ import annotations

import dataclasses
import json
import re
import textwrap
import unicodedata
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import texts
from bot.campaigns import campaign as campaign_file
from bot.campaigns import checks as file_checks
from bot.campaigns import questions as questions_file
from bot.campaigns import units as units_file
from bot.campaigns import upload as campaign_upload
from bot.campaigns import yaml_tree
from bot.campaigns.campaign import check_file, load_campaign, load_campaign_text, load_questionnaire
from bot.campaigns.checks import PARAMS, CampaignFileError, Problem
from bot.campaigns.spec import Agency, CampaignSpec, ReminderPolicy, Signer, SummarySection
from bot.campaigns.units import Unit
from bot.questionnaire import Condition, Questionnaire

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
FIXTURES = Path(__file__).parent / "fixtures" / "campaigns"

CAMPAIGN = """\
title: Báo cáo số liệu
request: Công văn số 1/SNV
agency: {parent: UBND TỈNH QUẢNG NGÃI, name: SỞ NỘI VỤ, code: SNV, place: Quảng Ngãi}
deadline: 2023-10-31 17:00
questionnaire: questionnaire.yaml
units: units.csv
"""
QUESTIONNAIRE = """\
sections:
  - title: I. Số liệu
    questions:
      - id: co_ke_hoach
        type: yesno
        ask: Có kế hoạch không?
      - id: hinh_thuc
        type: choice
        ask: Hình thức?
        options: [Hội nghị, Bản tin]
"""
UNITS = "code,name\nSXD,Sở Xây dựng\nSYT,Sở Y tế\n"


def with_question(text: str) -> str:
    """Return the base questionnaire with one more question, written from line 11."""
    return QUESTIONNAIRE + textwrap.indent(textwrap.dedent(text), " " * 6)


def write(tmp_path: Path, campaign: str = CAMPAIGN, questionnaire: str = QUESTIONNAIRE,
          units: str | bytes = UNITS, units_name: str = "units.csv") -> Path:
    """Write a campaign with its questionnaire and units; return the campaign's path."""
    (tmp_path / "questionnaire.yaml").write_text(questionnaire, encoding="utf-8")
    data = units if isinstance(units, bytes) else units.encode("utf-8")
    (tmp_path / units_name).write_bytes(data)
    path = tmp_path / "campaign.yaml"
    path.write_text(campaign, encoding="utf-8")
    return path


def problems(path: Path) -> list[Problem]:
    """Return the problems of a campaign file, checking each renders with the right params."""
    with pytest.raises(CampaignFileError) as info:
        load_campaign(path, TZ)
    return checked(info.value)


def checked(error: CampaignFileError) -> list[Problem]:
    """Return the problems of an error after checking their params and messages."""
    for problem in error.problems:
        assert set(problem.params) == set(PARAMS[problem.code]), problem
        assert problem.message() in str(error)
    return error.problems


def one(found: list[Problem]) -> Problem:
    """Return the single problem found."""
    assert len(found) == 1, [p.message() for p in found]
    return found[0]


def where(problem: Problem) -> tuple[str, int | None, str, str]:
    """Return the location and code of a problem."""
    return problem.file, problem.line, problem.field, problem.code


# --- good files -------------------------------------------------------------------------------


def test_good_campaign_with_files_loads() -> None:
    spec = load_campaign(FIXTURES / "good" / "campaign.yaml", TZ)
    assert spec.title == "Tổng kết phong trào thi đua phòng, chống dịch COVID-19"
    assert spec.agency == Agency("UBND TỈNH QUẢNG NGÃI", "SỞ NỘI VỤ", "SNV", "Quảng Ngãi")
    assert spec.deadline == datetime(2023, 10, 31, 17, 0, tzinfo=TZ)
    assert spec.deadline.utcoffset() is not None
    assert spec.deadline.tzinfo is TZ
    assert spec.period == (date(2021, 9, 10), date(2023, 10, 15))
    assert spec.source == "campaign.yaml"
    assert spec.template == (FIXTURES / "good" / "report.docx").resolve()
    assert [len(s.questions) for s in spec.questionnaire.sections] == [1, 3, 3]
    assert spec.units == (
        Unit("SXD", "Sở Xây dựng", "Sở, ban, ngành"),
        Unit("SYT", "Sở Y tế", "Sở, ban, ngành"),
        Unit("BS", "UBND huyện Bình Sơn", "Huyện"),
    )


def test_good_questionnaire_builds_questions() -> None:
    questionnaire = load_campaign(FIXTURES / "good" / "campaign.yaml", TZ).questionnaire
    documents = questionnaire.get("van_ban")
    assert documents.when == Condition("co_ke_hoach", (True,))
    assert documents.section == 1
    people = questionnaire.get("so_nguoi")
    assert people.when == Condition("hinh_thuc", ("Hội nghị", "Bản tin"))
    assert people.min == Decimal(0) and people.max is None and people.unit == "người"
    assert people.aggregate == "sum"
    channels = questionnaire.get("hinh_thuc")
    assert channels.options == ("Hội nghị", "Bản tin", "Mạng xã hội")
    assert channels.other and not channels.required
    assert questionnaire.get("ty_le").aggregate == "min"
    assert questionnaire.get("thuan_loi").max_length == 2000


def test_reminders_override_and_default() -> None:
    spec = load_campaign(FIXTURES / "good" / "campaign.yaml", TZ)
    assert spec.reminders == ReminderPolicy(before_days=(3, 1), at=time(9, 30), quiet_hours=None,
                                            days_off=(date(2023, 10, 30), date(2023, 11, 1)))
    inline = load_campaign(FIXTURES / "inline.yaml", TZ)
    assert inline.reminders == ReminderPolicy()
    assert inline.reminders.days_off == ()


def test_days_off_are_sorted_without_repeats(tmp_path: Path) -> None:
    path = write(tmp_path, CAMPAIGN + (
        "reminders:\n  days_off:\n    - 17/02/2026\n    - 2026-02-16\n    - 2026-02-17\n"))
    assert load_campaign(path, TZ).reminders.days_off == (date(2026, 2, 16), date(2026, 2, 17))
    empty = write(tmp_path, CAMPAIGN + "reminders:\n  days_off: []\n")
    assert load_campaign(empty, TZ).reminders.days_off == ()


def test_reminder_policy_round_trip_and_older_stored_form() -> None:
    policy = ReminderPolicy(before_days=(2,), working_days_only=True,
                            days_off=(date(2026, 2, 16), date(2026, 2, 27)))
    data = json.loads(json.dumps(policy.to_dict()))
    assert data["days_off"] == ["2026-02-16", "2026-02-27"]
    assert ReminderPolicy.from_dict(data) == policy
    del data["days_off"]  # a round stored before days_off existed
    assert ReminderPolicy.from_dict(data) == ReminderPolicy(before_days=(2,))


def test_inline_campaign_loads() -> None:
    spec = load_campaign(FIXTURES / "inline.yaml", TZ)
    assert spec.deadline == datetime(2023, 11, 10, 17, 0, tzinfo=TZ)  # a date alone: 17:00
    assert spec.period is None and spec.template is None
    assert [q.id for q in spec.questionnaire.questions] == ["so_nguoi", "ghi_chu"]
    assert spec.units == (Unit("SXD", "Sở Xây dựng"), Unit("001", "UBND huyện Bình Sơn", "Huyện"))


def test_campaign_text_loads_self_contained_campaign() -> None:
    text = (FIXTURES / "inline.yaml").read_text(encoding="utf-8")
    spec = load_campaign_text("dot-moi.yaml", text, TZ)
    assert spec.source == "dot-moi.yaml"
    assert dataclasses.replace(spec, source="inline.yaml") == load_campaign(
        FIXTURES / "inline.yaml", TZ)


def test_units_from_xlsx(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in (["Code", "Name", "Group"], [101, "Phòng Nội vụ", None], [None, None, None],
                ["SXD", " Sở Xây dựng ", "Sở"]):
        sheet.append(row)
    workbook.save(tmp_path / "units.xlsx")
    path = write(tmp_path, CAMPAIGN.replace("units.csv", "units.xlsx"))
    spec = load_campaign(path, TZ)
    assert spec.units == (Unit("101", "Phòng Nội vụ"), Unit("SXD", "Sở Xây dựng", "Sở"))


def test_units_csv_with_semicolons(tmp_path: Path) -> None:
    path = write(tmp_path, units="code;name;group\nSXD;Sở Xây dựng;Sở, ban, ngành\n")
    assert load_campaign(path, TZ).units == (Unit("SXD", "Sở Xây dựng", "Sở, ban, ngành"),)


def test_strings_are_nfc_and_stripped(tmp_path: Path) -> None:
    decomposed = unicodedata.normalize("NFD", "Báo cáo số liệu")
    path = write(tmp_path, CAMPAIGN.replace("title: Báo cáo số liệu", f"title: '  {decomposed} '"))
    assert load_campaign(path, TZ).title == "Báo cáo số liệu"


def test_deadline_forms(tmp_path: Path) -> None:
    for written, expected in (
        ("2023-10-31 17:00:00", datetime(2023, 10, 31, 17, 0, tzinfo=TZ)),
        ("'31/10/2023 16:30'", datetime(2023, 10, 31, 16, 30, tzinfo=TZ)),
        ("2023-10-31T10:00:00+00:00", datetime(2023, 10, 31, 17, 0, tzinfo=TZ)),
    ):
        path = write(tmp_path, CAMPAIGN.replace("2023-10-31 17:00", written))
        deadline = load_campaign(path, TZ).deadline
        assert deadline == expected and deadline.tzinfo is TZ


def test_round_trip_through_json() -> None:
    for name in ("good/campaign.yaml", "inline.yaml"):
        spec = load_campaign(FIXTURES / name, TZ)
        again = CampaignSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
        assert again == spec
        assert again.deadline.tzinfo == TZ
    data = load_campaign(FIXTURES / "good" / "campaign.yaml", TZ).to_dict()
    assert data["deadline"] == "2023-10-31T17:00:00+07:00"
    assert data["timezone"] == "Asia/Ho_Chi_Minh"


def test_load_questionnaire_alone() -> None:
    questionnaire = load_questionnaire(FIXTURES / "good" / "questionnaire.yaml")
    assert isinstance(questionnaire, Questionnaire)
    assert len(questionnaire.questions) == 7


def test_check_file_decides_by_content() -> None:
    assert isinstance(check_file(FIXTURES / "good" / "questionnaire.yaml", TZ), Questionnaire)
    assert isinstance(check_file(FIXTURES / "good" / "campaign.yaml", TZ), CampaignSpec)
    with pytest.raises(CampaignFileError):
        check_file(FIXTURES / "broken" / "campaign.yaml", TZ)


def test_default_campaign_loads() -> None:
    default = texts.templates_dir() / "default" / "campaign.yaml"
    if not default.exists():
        pytest.skip("the default campaign is not written yet")
    spec = load_campaign(default, TZ)
    assert spec.units and spec.questionnaire.questions


# --- problems: reading files ------------------------------------------------------------------


def test_missing_campaign_file(tmp_path: Path) -> None:
    with pytest.raises(CampaignFileError) as info:
        load_campaign(tmp_path / "nothing.yaml", TZ)
    problem = one(checked(info.value))
    assert where(problem) == ("nothing.yaml", None, "", "file_missing")
    assert str(info.value).startswith("nothing.yaml: không tìm thấy tệp")


def test_missing_questionnaire_file(tmp_path: Path) -> None:
    path = write(tmp_path, CAMPAIGN.replace("questionnaire.yaml", "cau-hoi.yaml"))
    problem = one(problems(path))
    assert where(problem) == ("campaign.yaml", 5, "questionnaire", "file_missing")
    assert problem.message().startswith("campaign.yaml:5: questionnaire: không tìm thấy tệp")
    assert "cau-hoi.yaml" in problem.message()


def test_missing_units_file(tmp_path: Path) -> None:
    path = write(tmp_path, CAMPAIGN.replace("units.csv", "don-vi.csv"))
    assert where(one(problems(path))) == ("campaign.yaml", 6, "units", "file_missing")


def test_missing_template(tmp_path: Path) -> None:
    path = write(tmp_path, CAMPAIGN + "template: mau.docx\n")
    assert where(one(problems(path))) == ("campaign.yaml", 7, "template", "file_missing")


def test_unreadable_file(tmp_path: Path) -> None:
    path = write(tmp_path, CAMPAIGN.replace("questionnaire.yaml", "folder.yaml"))
    (tmp_path / "folder.yaml").mkdir()
    assert where(one(problems(path))) == ("campaign.yaml", 5, "questionnaire", "file_unreadable")


def test_yaml_syntax_error(tmp_path: Path) -> None:
    broken = QUESTIONNAIRE.replace("        ask: Có kế hoạch không?", "       ask: [Có kế hoạch")
    problem = one(problems(write(tmp_path, questionnaire=broken)))
    assert (problem.file, problem.code) == ("questionnaire.yaml", "yaml_syntax")
    assert problem.line == 6
    assert problem.message().startswith("questionnaire.yaml:6: thụt lề không đúng")


def test_bad_encoding(tmp_path: Path) -> None:
    data = "code,name\nSXD,Sở Xây dựng\nSYT,Sở Y tế\n".encode("cp1258", errors="replace")
    path = write(tmp_path, units=data)
    assert where(one(problems(path))) == ("units.csv", 2, "", "bad_encoding")


def test_empty_file(tmp_path: Path) -> None:
    path = write(tmp_path, "# chưa viết gì\n")
    assert where(one(problems(path))) == ("campaign.yaml", None, "", "empty_file")


def test_xlsx_that_is_not_a_workbook(tmp_path: Path) -> None:
    path = write(tmp_path, CAMPAIGN.replace("units.csv", "units.xlsx"), units=b"not a zip",
                 units_name="units.xlsx")
    assert where(one(problems(path))) == ("units.xlsx", None, "", "bad_xlsx")


def test_bad_extension(tmp_path: Path) -> None:
    path = write(tmp_path, CAMPAIGN.replace("units.csv", "units.txt"))
    problem = one(problems(path))
    assert where(problem) == ("campaign.yaml", 6, "units", "bad_extension")
    assert ".csv, .xlsx" in problem.message()


def test_path_not_allowed_in_chat_attachment() -> None:
    with pytest.raises(CampaignFileError) as info:
        load_campaign_text("dot.yaml", CAMPAIGN.replace("units.csv", "[]"), TZ)
    found = checked(info.value)
    assert [where(p) for p in found] == [
        ("dot.yaml", 5, "questionnaire", "path_not_allowed"),
        ("dot.yaml", 6, "units", "no_units"),
    ]


# --- problems: keys and values ----------------------------------------------------------------


def test_unknown_key_with_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, CAMPAIGN + "remiders:\n  at: '08:00'\n")
    problem = one(problems(path))
    assert where(problem) == ("campaign.yaml", 7, "remiders", "unknown_key")
    assert problem.params["suggestion"] == "reminders"
    assert '(có phải "reminders"?)' in problem.message()


def test_unknown_key_in_question(tmp_path: Path) -> None:
    path = write(tmp_path, questionnaire=with_question("""\
        - id: so_nguoi
          type: integer
          ask: Số người?
          mn: 0
        """))
    problem = one(problems(path))
    assert where(problem) == ("questionnaire.yaml", 14, "sections[1].questions[3].mn",
                              "unknown_key")
    assert problem.params["suggestion"] == "min"


def test_unknown_key_in_when_and_agency(tmp_path: Path) -> None:
    campaign = CAMPAIGN.replace("place: Quảng Ngãi", "place: Quảng Ngãi, phone: 1")
    path = write(tmp_path, campaign, with_question("""\
        - id: ghi_chu
          type: text
          ask: Ghi chú?
          when: {id: co_ke_hoach, equal: true}
        """))
    found = problems(path)
    assert [where(p) for p in found] == [
        ("campaign.yaml", 3, "agency.phone", "unknown_key"),
        ("questionnaire.yaml", 14, "sections[1].questions[3].when.equal", "unknown_key"),
        ("questionnaire.yaml", 14, "sections[1].questions[3].when", "when_keys"),
    ]
    assert found[0].params["suggestion"] is None
    assert found[1].params["suggestion"] == "equals"


def test_duplicate_key(tmp_path: Path) -> None:
    path = write(tmp_path, CAMPAIGN + "title: Báo cáo khác\n")
    problem = one(problems(path))
    assert where(problem) == ("campaign.yaml", 7, "title", "duplicate_key")
    assert problem.params["first_line"] == 1


def test_missing_key(tmp_path: Path) -> None:
    path = write(tmp_path, CAMPAIGN.replace(", place: Quảng Ngãi", ""))
    problem = one(problems(path))
    assert where(problem) == ("campaign.yaml", 3, "agency", "missing_key")
    assert problem.params == {"key": "place"}


def test_missing_top_level_key(tmp_path: Path) -> None:
    path = write(tmp_path, CAMPAIGN.replace("request: Công văn số 1/SNV\n", ""))
    assert where(one(problems(path))) == ("campaign.yaml", 1, "", "missing_key")


def test_wrong_type(tmp_path: Path) -> None:
    path = write(tmp_path, CAMPAIGN.replace(
        "agency: {parent: UBND TỈNH QUẢNG NGÃI, name: SỞ NỘI VỤ, code: SNV, place: Quảng Ngãi}",
        "agency: SỞ NỘI VỤ"))
    problem = one(problems(path))
    assert where(problem) == ("campaign.yaml", 3, "agency", "wrong_type")
    assert problem.params == {"expected": "mapping"}


def test_empty_value(tmp_path: Path) -> None:
    path = write(tmp_path, CAMPAIGN.replace("title: Báo cáo số liệu", "title: ''"))
    assert where(one(problems(path))) == ("campaign.yaml", 1, "title", "empty_value")


def test_too_small(tmp_path: Path) -> None:
    path = write(tmp_path, CAMPAIGN + "reminders:\n  after_deadline_every_days: 0\n")
    problem = one(problems(path))
    assert where(problem) == ("campaign.yaml", 8, "reminders.after_deadline_every_days",
                              "too_small")
    assert problem.params == {"value": 0, "min": 1}


def test_before_days_must_be_whole_days(tmp_path: Path) -> None:
    path = write(tmp_path, CAMPAIGN + "reminders:\n  before_days: [3, -1, x]\n")
    assert [where(p)[1:] for p in problems(path)] == [
        (8, "reminders.before_days[2]", "too_small"),
        (8, "reminders.before_days[3]", "wrong_type"),
    ]


# --- problems: campaign -----------------------------------------------------------------------


def test_bad_deadline(tmp_path: Path) -> None:
    path = write(tmp_path, CAMPAIGN.replace("2023-10-31 17:00", "cuối tháng 10"))
    problem = one(problems(path))
    assert where(problem) == ("campaign.yaml", 4, "deadline", "bad_deadline")
    assert "cuối tháng 10" in problem.message()


def test_bad_date(tmp_path: Path) -> None:
    path = write(tmp_path, CAMPAIGN + "period: {from: 2023-02-30, to: 2023-10-15}\n")
    problem = one(problems(path))
    assert where(problem) == ("campaign.yaml", 7, "period.from", "bad_date")
    assert problem.params == {"value": "2023-02-30"}


def test_bad_period(tmp_path: Path) -> None:
    path = write(tmp_path, CAMPAIGN + "period:\n  from: 2023-10-15\n  to: 2021-09-10\n")
    problem = one(problems(path))
    assert where(problem) == ("campaign.yaml", 8, "period", "bad_period")
    assert "15/10/2023" in problem.message() and "10/09/2021" in problem.message()


def test_bad_time(tmp_path: Path) -> None:
    path = write(tmp_path, CAMPAIGN + "reminders:\n  at: 8h sáng\n")
    assert where(one(problems(path))) == ("campaign.yaml", 8, "reminders.at", "bad_time")


def test_at_written_without_quotes(tmp_path: Path) -> None:
    path = write(tmp_path, CAMPAIGN + "reminders:\n  at: 17:00\n  quiet_hours: 21:00-6:00\n")
    reminders = load_campaign(path, TZ).reminders
    assert reminders.at == time(17, 0) and reminders.quiet_hours == (time(21, 0), time(6, 0))


def test_bad_days_off(tmp_path: Path) -> None:
    path = write(tmp_path, CAMPAIGN + (
        "reminders:\n  days_off:\n    - 2026-02-30\n    - 2026-02-17\n    - 2026-02-18 08:00\n"
        "    - sau Tết\n"))
    found = problems(path)
    assert [where(p) for p in found] == [
        ("campaign.yaml", 9, "reminders.days_off[1]", "bad_date"),
        ("campaign.yaml", 11, "reminders.days_off[3]", "bad_date"),
        ("campaign.yaml", 12, "reminders.days_off[4]", "bad_date"),
    ]
    assert 'ngày "2026-02-30" không hợp lệ' in found[0].message()
    assert "sau Tết" in found[2].message()
    single = write(tmp_path, CAMPAIGN + "reminders:\n  days_off: 2026-02-17\n")
    assert where(one(problems(single))) == ("campaign.yaml", 8, "reminders.days_off",
                                            "wrong_type")


def test_bad_quiet_hours(tmp_path: Path) -> None:
    path = write(tmp_path, CAMPAIGN + "reminders:\n  quiet_hours: 20:00 đến 07:00\n")
    problem = one(problems(path))
    assert where(problem) == ("campaign.yaml", 8, "reminders.quiet_hours", "bad_quiet_hours")
    assert "20:00 đến 07:00" in problem.message()


# --- problems: questionnaire ------------------------------------------------------------------


def test_bad_type_with_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, questionnaire=with_question("""\
        - id: kinh_phi
          type: moneyy
          ask: Kinh phí?
        """))
    problem = one(problems(path))
    assert where(problem) == ("questionnaire.yaml", 12, "sections[1].questions[3].type",
                              "bad_type")
    message = problem.message()
    assert message.startswith('questionnaire.yaml:12: sections[1].questions[3].type: kiểu "moneyy"')
    assert "text, longtext, integer" in message and '(có phải "money"?)' in message


def test_bad_id(tmp_path: Path) -> None:
    path = write(tmp_path, questionnaire=with_question("- {id: So-nguoi, type: integer, ask: A}\n"))
    problem = one(problems(path))
    assert where(problem) == ("questionnaire.yaml", 11, "sections[1].questions[3].id", "bad_id")


def test_duplicate_id(tmp_path: Path) -> None:
    path = write(tmp_path, questionnaire=with_question("- {id: co_ke_hoach, type: text, ask: A}\n"))
    problem = one(problems(path))
    assert where(problem) == ("questionnaire.yaml", 11, "sections[1].questions[3].id",
                              "duplicate_id")
    assert problem.params == {"id": "co_ke_hoach", "first_line": 4}
    assert "dòng 4" in problem.message()


def test_empty_sections(tmp_path: Path) -> None:
    path = write(tmp_path, questionnaire="sections: []\n")
    assert where(one(problems(path))) == ("questionnaire.yaml", 1, "sections", "empty_list")


def test_options_on_non_choice_question(tmp_path: Path) -> None:
    path = write(tmp_path, questionnaire=with_question("""\
        - id: so_nguoi
          type: integer
          ask: Số người?
          options: [1, 2]
        """))
    problem = one(problems(path))
    assert where(problem) == ("questionnaire.yaml", 14, "sections[1].questions[3].options",
                              "not_for_type")
    assert problem.params == {"key": "options", "type": "integer"}


def test_min_on_text_and_max_length_on_integer(tmp_path: Path) -> None:
    path = write(tmp_path, questionnaire=with_question("""\
        - {id: a, type: text, ask: A, min: 1}
        - {id: b, type: integer, ask: B, max_length: 10}
        - {id: c, type: yesno, ask: C, other: true}
        """))
    assert [(p.line, p.params) for p in problems(path)] == [
        (11, {"key": "min", "type": "text"}),
        (12, {"key": "max_length", "type": "integer"}),
        (13, {"key": "other", "type": "yesno"}),
    ]


def test_chart_is_refused_on_a_text_question_with_file_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, questionnaire=with_question("""\
        - id: ghi_chu
          type: text
          ask: Ghi chú?
          chart: true
        """))
    problem = one(problems(path))
    assert where(problem) == ("questionnaire.yaml", 14, "sections[1].questions[3].chart",
                              "not_for_type")
    assert problem.params == {"key": "chart", "type": "text"}
    assert problem.message().startswith("questionnaire.yaml:14: sections[1].questions[3].chart")


def test_chart_is_true_false_or_a_title(tmp_path: Path) -> None:
    path = write(tmp_path, questionnaire=with_question("""\
        - {id: a, type: money, ask: A, chart: true}
        - {id: b, type: percent, ask: B, chart: Tỷ lệ tiêm vắc xin}
        - {id: c, type: multichoice, ask: C, options: [X, Y], chart: false}
        """))
    questionnaire = load_campaign(path, TZ).questionnaire
    charted = {q.id: (q.chart, q.chart_title) for q in questionnaire.questions}
    assert charted == {"co_ke_hoach": (False, None), "hinh_thuc": (False, None),
                       "a": (True, None), "b": (True, "Tỷ lệ tiêm vắc xin"), "c": (False, None)}
    assert Questionnaire.from_dict(questionnaire.to_dict()) == questionnaire  # kept in the store
    bad = write(tmp_path,
                questionnaire=with_question("- {id: a, type: integer, ask: A, chart: 3}\n"))
    problem = one(problems(bad))
    assert where(problem) == ("questionnaire.yaml", 11, "sections[1].questions[3].chart",
                              "wrong_type")
    assert "tên biểu đồ" in problem.message()


def test_choice_without_options(tmp_path: Path) -> None:
    path = write(tmp_path, questionnaire=with_question("""\
        - id: xep_loai
          type: multichoice
          ask: Xếp loại?
        """))
    problem = one(problems(path))
    assert where(problem) == ("questionnaire.yaml", 12, "sections[1].questions[3].type",
                              "options_required")


def test_too_few_and_duplicate_options(tmp_path: Path) -> None:
    path = write(tmp_path, questionnaire=with_question("""\
        - {id: a, type: choice, ask: A, options: [Có]}
        - {id: b, type: choice, ask: B, options: [Có, co, ""]}
        """))
    assert [where(p)[1:] for p in problems(path)] == [
        (11, "sections[1].questions[3].options", "too_few_options"),
        (12, "sections[1].questions[4].options[2]", "duplicate_option"),
        (12, "sections[1].questions[4].options[3]", "empty_value"),
    ]


def test_min_above_max(tmp_path: Path) -> None:
    path = write(tmp_path, questionnaire=with_question("""\
        - id: so_nguoi
          type: integer
          ask: Số người?
          min: 10
          max: 5
        """))
    problem = one(problems(path))
    assert where(problem) == ("questionnaire.yaml", 14, "sections[1].questions[3].min",
                              "min_above_max")
    assert problem.params == {"min": "10", "max": "5"}


def test_percent_bounds(tmp_path: Path) -> None:
    path = write(tmp_path, questionnaire=with_question(
        "- {id: a, type: percent, ask: A, max: 120}\n"))
    problem = one(problems(path))
    assert where(problem) == ("questionnaire.yaml", 11, "sections[1].questions[3].max",
                              "percent_bounds")


def test_bad_aggregate(tmp_path: Path) -> None:
    path = write(tmp_path, questionnaire=with_question(
        "- {id: a, type: integer, ask: A, aggregate: summ}\n"))
    problem = one(problems(path))
    assert where(problem) == ("questionnaire.yaml", 11, "sections[1].questions[3].aggregate",
                              "bad_aggregate")
    assert problem.params["suggestion"] == "sum"


def test_aggregate_for_type(tmp_path: Path) -> None:
    path = write(tmp_path, questionnaire=with_question("""\
        - {id: a, type: text, ask: A, aggregate: sum}
        - {id: b, type: date, ask: B, aggregate: max}
        - {id: c, type: yesno, ask: C, aggregate: min}
        """))
    assert [(p.line, p.code, p.params) for p in problems(path)] == [
        (11, "aggregate_for_type", {"value": "sum", "type": "text"}),
        (13, "aggregate_for_type", {"value": "min", "type": "yesno"}),
    ]


def with_lead(lead: str) -> str:
    """Return the base questionnaire with an integer question whose lead is on line 16."""
    return with_question(f"""\
        - id: so_nguoi
          type: integer
          ask: Bao nhiêu người?
          report:
            heading: Số người
            lead: '{lead}'
        """)


def test_report_heading_and_lead_are_kept(tmp_path: Path) -> None:
    path = write(tmp_path, questionnaire=with_lead(
        "{{ sum }} {{ unit }} của {{ answered }}/{{ reported }} đơn vị."))
    question = load_campaign(path, TZ).questionnaire.get("so_nguoi")
    assert (question.heading, question.lead) == (
        "Số người", "{{ sum }} {{ unit }} của {{ answered }}/{{ reported }} đơn vị.")


@pytest.mark.parametrize(("lead", "kind", "name"), [
    ("{{ sum }", "syntax", ""),
    ("{% if sum > 0 %}nhiều", "syntax", ""),
    ("{{ tong }} người", "unknown", "tong"),
    ("{{ yes }} đơn vị", "unknown", "yes"),  # yes / no belong to a yes/no question
    ("{{ sum.__class__.__mro__ }}", "unsafe", ""),
    ("{{ unit.__class__ }}", "unsafe", ""),
    ("{{ sum | words | int / 0 }}", "error", ""),
    # a lead is small and fast whatever the figures: no loop, no call, no huge value
    ("{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}",
     "unsafe", ""),
    ("{{ lipsum(1000000) }}", "unsafe", ""),
    ("{{ sum ** sum ** sum }}", "unsafe", ""),
    ("{{ 10 ** 5000 }}", "unsafe", ""),
    ('{{ "x" * 10 ** 9 }}', "unsafe", ""),
    ('{{ "x" * sum }}', "unsafe", ""),  # 3.750 characters with the sample figures
    ('{{ "%099999999d" % 1 }}', "unsafe", ""),
    ('{{ "x" | center(1000000000) }}', "syntax", ""),
])
def test_a_broken_lead_is_a_check_error_with_line_and_field(
        tmp_path: Path, lead: str, kind: str, name: str) -> None:
    path = write(tmp_path, questionnaire=with_lead(lead))
    problem = one(problems(path))
    assert where(problem) == ("questionnaire.yaml", 16,
                              "sections[1].questions[3].report.lead", "report_lead")
    assert (problem.params["kind"], problem.params["name"]) == (kind, name)
    if kind == "unknown":
        assert "sum, avg, min, max" in problem.message()
    if kind == "unsafe":  # what it may not do, said in Vietnamese (no library text quoted)
        said = problem.message().split("dùng bộ lọc; ")[1]
        assert said.startswith("không được "), said
        assert not re.search(r"\b(allowed|over|unsafe|attribute|characters)\b", said), said


def test_a_lead_may_read_the_options_and_compare_numbers(tmp_path: Path) -> None:
    lead = ("{{ options['Tốt'] }}/{{ answered }} tốt{% if options['Khá'] > 0 %}, có khá"
            "{% endif %}; {{ options['Kém'] }}")
    path = write(tmp_path, questionnaire=with_question(f"""\
        - id: muc_do
          type: choice
          ask: Mức độ?
          options: [Tốt, Khá]
          report:
            lead: "{lead}"
        """))
    problem = one(problems(path))
    assert (problem.code, problem.params["kind"], problem.params["name"]) == (
        "report_lead", "unknown", "Kém")


def test_a_heading_written_as_a_question_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, questionnaire=with_question("""\
        - {id: a, type: longtext, ask: A, report: {heading: "Đơn vị gặp khó khăn gì?"}}
        """).replace("title: I. Số liệu", "title: Đơn vị có số liệu gì?"))
    assert [where(p)[1:] for p in problems(path)] == [
        (2, "sections[1].title", "heading_question"),
        (11, "sections[1].questions[3].report.heading", "heading_question")]


def test_weight_and_target_of_a_percent(tmp_path: Path) -> None:
    path = write(tmp_path, questionnaire=with_question("""\
        - {id: ty_le, type: percent, ask: "Tỷ lệ?", weight: so_nguoi, target: 95}
        - {id: so_nguoi, type: integer, ask: "Số người?"}
        """))
    question = load_campaign(path, TZ).questionnaire.get("ty_le")
    assert (question.weight, question.target) == ("so_nguoi", Decimal(95))


def test_bad_weight_target_and_appendix(tmp_path: Path) -> None:
    path = write(tmp_path, questionnaire="appendix: [so_nguoi, hinh_thuc, so_ngoui, so_nguoi]\n"
                 + with_question("""\
        - {id: a, type: percent, ask: A, weight: so_ngoui}
        - {id: b, type: percent, ask: B, weight: hinh_thuc, target: 120}
        - {id: c, type: integer, ask: C, weight: a, target: 5}
        - {id: so_nguoi, type: integer, ask: "Số người?"}
        """))
    found = [(p.line, p.field, p.code) for p in problems(path)]
    assert found == [
        (1, "appendix[2]", "appendix_not_numeric"),
        (1, "appendix[3]", "appendix_unknown_id"),
        (1, "appendix[4]", "appendix_duplicate"),
        (12, "sections[1].questions[3].weight", "weight_unknown_id"),
        (13, "sections[1].questions[4].target", "percent_bounds"),
        (13, "sections[1].questions[4].weight", "weight_type"),
        (14, "sections[1].questions[5].weight", "not_for_type"),
        (14, "sections[1].questions[5].target", "not_for_type"),
    ]


def test_a_target_that_is_not_a_number_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, questionnaire=with_question("""\
        - {id: a, type: percent, ask: A, target: .nan}
        - {id: b, type: percent, ask: B, target: .inf}
        """))
    assert [(p.line, p.code) for p in problems(path)] == [
        (11, "wrong_type"), (12, "wrong_type")]


def test_number_sums_by_default(tmp_path: Path) -> None:
    path = write(tmp_path, questionnaire=with_question("- {id: ha, type: number, ask: 'Ha?'}\n"))
    assert load_campaign(path, TZ).questionnaire.get("ha").aggregate == "sum"


def test_when_missing_id(tmp_path: Path) -> None:
    path = write(tmp_path, questionnaire=with_question("""\
        - id: ghi_chu
          type: text
          ask: Ghi chú?
          when: {id: co_ke_hoachh, equals: true}
        """))
    problem = one(problems(path))
    assert where(problem) == ("questionnaire.yaml", 14, "sections[1].questions[3].when.id",
                              "when_unknown_id")
    assert problem.params == {"id": "co_ke_hoachh", "suggestion": "co_ke_hoach"}


def test_when_later_question(tmp_path: Path) -> None:
    path = write(tmp_path, questionnaire=with_question("""\
        - id: ghi_chu
          type: text
          ask: Ghi chú?
          when:
            id: sau_cung
            equals: true
        - {id: sau_cung, type: yesno, ask: Có không}
        """))
    problem = one(problems(path))
    assert where(problem) == ("questionnaire.yaml", 15, "sections[1].questions[3].when.id",
                              "when_later")


def test_when_self(tmp_path: Path) -> None:
    path = write(tmp_path, questionnaire=with_question(
        "- {id: a, type: yesno, ask: A, when: {id: a, equals: true}}\n"))
    problem = one(problems(path))
    assert where(problem) == ("questionnaire.yaml", 11, "sections[1].questions[3].when.id",
                              "when_self")


def test_when_needs_exactly_one_of_equals_and_in(tmp_path: Path) -> None:
    path = write(tmp_path, questionnaire=with_question("""\
        - id: ghi_chu
          type: text
          ask: Ghi chú?
          when: {id: co_ke_hoach, equals: true, in: [true]}
        """))
    problem = one(problems(path))
    assert where(problem) == ("questionnaire.yaml", 14, "sections[1].questions[3].when",
                              "when_keys")


def test_when_bad_value(tmp_path: Path) -> None:
    path = write(tmp_path, questionnaire=with_question("""\
        - {id: a, type: text, ask: A, when: {id: co_ke_hoach, equals: có}}
        - {id: b, type: text, ask: B, when: {id: hinh_thuc, in: [Bản tin, Hội thảo]}}
        - {id: c, type: integer, ask: C}
        - {id: d, type: text, ask: D, when: {id: c, equals: nhiều}}
        """))
    found = problems(path)
    assert [where(p)[1:] for p in found] == [
        (11, "sections[1].questions[3].when.equals", "when_bad_value"),
        (12, "sections[1].questions[4].when.in[2]", "when_bad_value"),
        (14, "sections[1].questions[6].when.equals", "when_bad_value"),
    ]
    assert [p.params["expected"] for p in found] == ["bool", "option", "number"]
    assert "Hội nghị, Bản tin" in found[1].message()


def test_when_values_become_condition_values(tmp_path: Path) -> None:
    path = write(tmp_path, questionnaire=with_question("""\
        - {id: c, type: number, ask: C}
        - {id: d, type: date, ask: D}
        - {id: e, type: text, ask: E, when: {id: c, in: [1, 2.5]}}
        - {id: f, type: text, ask: F, when: {id: d, equals: 2023-10-04}}
        - {id: g, type: text, ask: G, when: {id: hinh_thuc, equals: bản tin}}
        """))
    questionnaire = load_campaign(path, TZ).questionnaire
    assert questionnaire.get("e").when == Condition("c", (1, 2.5))
    assert questionnaire.get("f").when == Condition("d", ("2023-10-04",))
    assert questionnaire.get("g").when == Condition("hinh_thuc", ("Bản tin",))


# --- problems: units --------------------------------------------------------------------------


def test_duplicate_unit_code_in_csv(tmp_path: Path) -> None:
    path = write(tmp_path, units="code,name\nSXD,Sở Xây dựng\nSYT,Sở Y tế\nSXD,Sở Xây dựng 2\n")
    problem = one(problems(path))
    assert where(problem) == ("units.csv", 4, "code", "duplicate_unit")
    assert problem.params == {"code": "SXD", "first_line": 2}
    assert problem.message().startswith('units.csv:4: code: mã đơn vị "SXD" trùng')


def test_duplicate_unit_code_inline(tmp_path: Path) -> None:
    campaign = CAMPAIGN.replace("units: units.csv", "units:\n  - {code: A, name: Một}\n"
                                "  - {code: A, name: Hai}\n")
    problem = one(problems(write(tmp_path, campaign)))
    assert where(problem) == ("campaign.yaml", 8, "units[2].code", "duplicate_unit")
    assert problem.params["first_line"] == 7


def test_csv_missing_name_column(tmp_path: Path) -> None:
    path = write(tmp_path, units="code,ten\nSXD,Sở Xây dựng\n")
    found = problems(path)
    assert [where(p) for p in found] == [
        ("units.csv", 1, "", "unknown_column"),
        ("units.csv", 1, "", "missing_columns"),
    ]
    assert found[1].params == {"missing": "name", "found": "code, ten"}


def test_unknown_and_duplicate_column(tmp_path: Path) -> None:
    path = write(tmp_path, units="code,name,grop,name\nSXD,Sở Xây dựng,Sở,x\n")
    found = problems(path)
    assert [(p.code, p.params.get("suggestion")) for p in found] == [
        ("unknown_column", "group"), ("duplicate_column", None)]


def test_bad_unit_code_and_empty_name(tmp_path: Path) -> None:
    path = write(tmp_path, units="code,name\nS X D,Sở Xây dựng\nSYT,\n")
    assert [where(p) for p in problems(path)] == [
        ("units.csv", 2, "code", "bad_unit_code"),
        ("units.csv", 3, "name", "empty_value"),
    ]


def test_no_units(tmp_path: Path) -> None:
    path = write(tmp_path, units="code,name\n")
    assert where(one(problems(path))) == ("units.csv", None, "", "no_units")


def test_empty_units_file(tmp_path: Path) -> None:
    path = write(tmp_path, units="\n\n")
    assert where(one(problems(path))) == ("units.csv", None, "", "empty_file")


def test_unknown_key_in_inline_unit(tmp_path: Path) -> None:
    campaign = CAMPAIGN.replace("units: units.csv", "units:\n  - {code: A, name: Một, nhom: X}\n")
    problem = one(problems(write(tmp_path, campaign)))
    assert where(problem) == ("campaign.yaml", 7, "units[1].nhom", "unknown_key")


# --- several problems, never another exception -----------------------------------------------


def test_several_problems_at_once() -> None:
    with pytest.raises(CampaignFileError) as info:
        load_campaign(FIXTURES / "broken" / "campaign.yaml", TZ)
    found = checked(info.value)
    assert [where(p) for p in found] == [
        ("campaign.yaml", 3, "agency", "missing_key"),
        ("campaign.yaml", 4, "deadline", "bad_deadline"),
        ("campaign.yaml", 5, "remiders", "unknown_key"),
        ("questionnaire.yaml", 7, "sections[1].questions[1].min", "min_above_max"),
        ("questionnaire.yaml", 9, "sections[1].questions[2].id", "duplicate_id"),
        ("questionnaire.yaml", 15, "sections[2].questions[1].type", "bad_type"),
        ("units.csv", 3, "name", "empty_value"),
        ("units.csv", 4, "code", "duplicate_unit"),
    ]
    lines = str(info.value).splitlines()
    assert len(lines) == len(found)
    assert lines[5].startswith(
        'questionnaire.yaml:15: sections[2].questions[1].type: kiểu "moneyy"')


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_gives_a_campaign_or_problems(text: str) -> None:
    try:
        load_campaign_text("x.yaml", text, TZ)
    except CampaignFileError as error:
        checked(error)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_any_units_bytes_give_units_or_problems(data: bytes) -> None:
    found: list[str] = []

    def report(code: str, file: str, line: int | None, field: str, /, **params: object) -> None:
        assert set(params) == set(PARAMS[code])
        found.append(code)

    units_file.parse_csv(data, "u.csv", report)
    units_file.parse_xlsx(data, "u.xlsx", report)
    assert found


def test_yaml_aliases_do_not_blow_up() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True))
    with pytest.raises(CampaignFileError) as info:
        load_campaign_text("bomb.yaml", bomb, TZ)
    assert [p.code for p in info.value.problems] == ["too_many_values"]


# --- the message catalogue --------------------------------------------------------------------

SAMPLES: dict[str, object] = {
    "path": "cau-hoi.yaml", "error": "Bad CRC-32", "expected": "list", "kind": "colon",
    "char": "@", "detail": "mapping values are not allowed here", "tag": "!!str",
    "name": "a", "previous": "name", "limit": 2_000_000,
    "key": "min", "suggestion": "max", "allowed": "a, b", "first_line": 3, "value": "x",
    "min": 1, "start": "2023-10-15", "end": "2021-09-10", "id": "q1", "type": "text",
    "count": 1, "max": 0, "options": "Có, Không", "column": "nhom", "missing": "name",
    "found": "code", "code": "SXD", "at_line": 2, "reason": "format",
    "authority": "KT.", "parts": "I. Số liệu; II. Đề xuất",
}


def test_every_code_has_a_message() -> None:
    keys = {k for k in texts.catalogue().sources if k.startswith("campaign_file.")}
    assert keys == {f"campaign_file.{code}" for code in PARAMS} | {
        "campaign_file.summary", "campaign_file.more_problems"}


def test_every_code_used_in_the_source_is_listed() -> None:
    used: set[str] = set()
    for module in (campaign_file, file_checks, questions_file, units_file, yaml_tree):
        source = Path(str(module.__file__)).read_text(encoding="utf-8")
        used |= set(re.findall(r'(?:add|report|sink|_Refused)\(\s*"([a-z_]+)"', source))
    chat = Path(str(campaign_upload.__file__)).read_text(encoding="utf-8")  # files sent in chat
    used |= set(re.findall(r'Problem\([^"]*"", "([a-z_]+)"', chat))
    assert used == set(PARAMS)


@pytest.mark.parametrize("code", sorted(PARAMS))
def test_every_message_renders(code: str) -> None:
    params = {name: SAMPLES[name] for name in PARAMS[code]}
    for fmt in ("plain", "html"):
        text = texts.render(f"campaign_file.{code}", fmt, **params)
        assert text and "{" not in text and unicodedata.is_normalized("NFC", text)
    if "suggestion" in params:
        assert texts.render(f"campaign_file.{code}", "plain", **{**params, "suggestion": None})


@pytest.mark.parametrize("expected", ["mapping", "list", "text", "integer", "number", "bool",
                                      "path_or_mapping", "path_or_list", "path"])
def test_wrong_type_messages_differ(expected: str) -> None:
    assert texts.render("campaign_file.wrong_type", expected=expected).startswith("cần ")


def test_summary_message() -> None:
    assert texts.render("campaign_file.summary", sections=4, questions=24, units=8) == (
        "Hợp lệ: 4 phần, 24 câu hỏi, 8 đơn vị.")
    assert texts.render("campaign_file.summary", sections=4, questions=24, units=None) == (
        "Hợp lệ: 4 phần, 24 câu hỏi.")


def test_catalogue_source_is_nfc() -> None:
    path = texts.templates_dir() / "messages" / "campaign_file.yaml"
    source = path.read_text(encoding="utf-8")
    assert unicodedata.is_normalized("NFC", source)
    assert all(isinstance(v, str) for v in yaml.safe_load(source).values())


def test_problem_message_without_line_or_field() -> None:
    problem = Problem("units.csv", None, "", "no_units", {})
    assert problem.message() == "units.csv: cần ít nhất một đơn vị"
    html = Problem("a<b>.yaml", 2, "title", "bad_date", {"value": "<1>"}).message("html")
    assert html.startswith("a&lt;b&gt;.yaml:2: title: ngày \"&lt;1&gt;\"")


# --- who signs, who receives, on what basis; unit headers (#13 items 3 and 4) ---------------


def test_flood_campaign_loads_signer_recipients_bases_and_unit_headers() -> None:
    spec = load_campaign(FIXTURES / "flood" / "campaign.yaml", TZ)
    assert spec.agency == Agency("", "UBND huyện Sơn Tịnh", "UBND", "Sơn Tịnh")  # no chủ quản
    assert spec.to == ("UBND tỉnh Quảng Ngãi",)
    assert spec.signer == Signer("CHỦ TỊCH", "Phạm Văn Tâm", "TM. ỦY BAN NHÂN DÂN", "KT.",
                                 "PHÓ CHỦ TỊCH")
    assert spec.recipients == ("Ban Chỉ huy PCTT và TKCN tỉnh",
                               "Sở Nông nghiệp và Phát triển nông thôn",
                               "TT Huyện ủy, TT HĐND huyện")
    assert spec.drafter == "NN"
    assert [b.split(" ngày")[0] for b in spec.bases] == ["Công điện số 12/CĐ-UBND",
                                                         "Công văn số 1250/UBND-NN"]
    assert spec.summary_sections[0].after == "II. Công tác khắc phục hậu quả"
    assert spec.units[0] == Unit("XTH", "UBND xã Tịnh Hà", "UBND cấp xã", None, "Tịnh Hà",
                                 "UBND")
    assert spec.units[2] == Unit("XTB", "UBND xã Tịnh Bình", "UBND cấp xã")
    again = CampaignSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec


def test_a_round_stored_before_the_new_keys_still_loads() -> None:
    spec = load_campaign(FIXTURES / "good" / "campaign.yaml", TZ)
    data = spec.to_dict()
    for key in ("signer", "to", "recipients", "drafter", "bases", "summary_sections"):
        del data[key]
    for unit in data["units"]:
        for key in ("parent", "place", "symbol"):
            del unit[key]
    old = CampaignSpec.from_dict(data)
    assert old.to == ("UBND TỈNH QUẢNG NGÃI",)  # Kính gửi: the agency's parent, as before
    assert (old.signer, old.recipients, old.drafter, old.bases) == (None, (), None, ())
    assert old.units == spec.units


def test_to_null_means_no_kinh_gui_and_parent_is_optional(tmp_path: Path) -> None:
    campaign = CAMPAIGN.replace("parent: UBND TỈNH QUẢNG NGÃI, ", "") + "to: null\n"
    spec = load_campaign(write(tmp_path, campaign), TZ)
    assert spec.agency.parent == "" and spec.to == ()
    spec = load_campaign(write(tmp_path, CAMPAIGN), TZ)
    assert spec.to == ("UBND TỈNH QUẢNG NGÃI",)
    several = CAMPAIGN + "to:\n  - UBND tỉnh Quảng Ngãi;\n  - Ban Thi đua - Khen thưởng tỉnh.\n"
    spec = load_campaign(write(tmp_path, several), TZ)
    assert spec.to == ("UBND tỉnh Quảng Ngãi", "Ban Thi đua - Khen thưởng tỉnh")
    problem = one(problems(write(tmp_path, CAMPAIGN + "to:\n  - ''\n")))
    assert where(problem) == ("campaign.yaml", 8, "to[1]", "empty_value")


def test_bases_alone_stand_for_the_request(tmp_path: Path) -> None:
    campaign = CAMPAIGN.replace("request: Công văn số 1/SNV\n",
                                "bases: [Kế hoạch số 5/KH-UBND, Công văn số 1/SNV]\n")
    spec = load_campaign(write(tmp_path, campaign), TZ)
    assert spec.request == "" and spec.bases == ("Kế hoạch số 5/KH-UBND", "Công văn số 1/SNV")


SIGNER = """\
signer:
  authority: KT.
  title: GIÁM ĐỐC
  deputy_title: PHÓ GIÁM ĐỐC
  name: Trần Văn B
"""


def test_signer_problems_name_file_line_and_field(tmp_path: Path) -> None:
    cases = [
        (SIGNER.replace("KT.", "TM."), ("campaign.yaml", 8, "signer.authority", "bad_authority")),
        (SIGNER.replace("title: GIÁM ĐỐC", "title: KT. GIÁM ĐỐC"),
         ("campaign.yaml", 9, "signer.title", "title_has_authority")),
        (SIGNER.replace("  deputy_title: PHÓ GIÁM ĐỐC\n", ""),
         ("campaign.yaml", 7, "signer", "deputy_title_required")),
        (SIGNER.replace("  authority: KT.\n", ""),
         ("campaign.yaml", 9, "signer.deputy_title", "deputy_title_unused")),
        (SIGNER.replace("  name: Trần Văn B\n", ""),
         ("campaign.yaml", 7, "signer", "missing_key")),
    ]
    for text, expected in cases:
        problem = one(problems(write(tmp_path, CAMPAIGN + text)))
        assert where(problem) == expected, problem.message()


def test_signer_authority_is_read_as_people_write_it(tmp_path: Path) -> None:
    text = SIGNER.replace("KT.", "kt") + "  on_behalf: ủy ban nhân dân\n"
    spec = load_campaign(write(tmp_path, CAMPAIGN + text), TZ)
    assert spec.signer == Signer("GIÁM ĐỐC", "Trần Văn B", "TM. ỦY BAN NHÂN DÂN", "KT.",
                                 "PHÓ GIÁM ĐỐC")


def test_recipients_the_report_writes_itself_are_refused(tmp_path: Path) -> None:
    text = "recipients:\n  - Như trên;\n  - '- Giám đốc Sở;'\n  - 'Lưu: VT, TĐKT.'\n"
    found = problems(write(tmp_path, CAMPAIGN + text))
    assert [where(p) for p in found] == [
        ("campaign.yaml", 8, "recipients[1]", "recipient_reserved"),
        ("campaign.yaml", 10, "recipients[3]", "recipient_reserved")]
    assert "Như trên" in found[0].message()


def test_summary_section_after_a_part_that_does_not_exist(tmp_path: Path) -> None:
    text = ("summary_sections:\n  - title: Đánh giá chung\n    text: Tốt.\n"
            "    after: I. So lieu\n")
    problem = one(problems(write(tmp_path, CAMPAIGN + text)))
    assert where(problem) == ("campaign.yaml", 10, "summary_sections[1].after",
                              "summary_after_unknown")
    assert problem.params["parts"] == "I. Số liệu"
    good = text.replace("I. So lieu", "số liệu")  # the part's number and case do not matter
    spec = load_campaign(write(tmp_path, CAMPAIGN + good), TZ)
    assert spec.summary_sections == (SummarySection("Đánh giá chung", "Tốt.", "I. Số liệu"),)


def test_unit_header_columns_in_csv_and_xlsx(tmp_path: Path) -> None:
    units = ("code,name,parent,place,symbol\nCA,Công an tỉnh,BỘ CÔNG AN,,CAT\n"
             "SXD,Sở Xây dựng,-,,\nSYT,Sở Y tế,,Đức Phổ,\n")
    spec = load_campaign(write(tmp_path, units=units), TZ)
    assert spec.units == (Unit("CA", "Công an tỉnh", None, "BỘ CÔNG AN", None, "CAT"),
                          Unit("SXD", "Sở Xây dựng", None, ""),
                          Unit("SYT", "Sở Y tế", None, None, "Đức Phổ"))
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in units.splitlines():
        sheet.append(row.split(","))
    workbook.save(tmp_path / "units.xlsx")
    campaign = CAMPAIGN.replace("units.csv", "units.xlsx")
    (tmp_path / "campaign.yaml").write_text(campaign, encoding="utf-8")
    assert load_campaign(tmp_path / "campaign.yaml", TZ).units == spec.units


@pytest.mark.parametrize("symbol", ["BC/SXD", "BC-SXD"])  # "BC-" the report adds itself
def test_bad_symbol(tmp_path: Path, symbol: str) -> None:
    path = write(tmp_path, units=f"code,name,symbol\nSXD,Sở Xây dựng,{symbol}\n")
    problem = one(problems(path))
    assert where(problem) == ("units.csv", 2, "symbol", "bad_symbol")


@pytest.mark.parametrize(("text", "field"), [
    ("  on_behalf: TM.\n", "signer.on_behalf"),  # on behalf of nobody
])
def test_a_signer_on_behalf_of_nobody_is_refused(tmp_path: Path, text: str, field: str) -> None:
    problem = one(problems(write(tmp_path, CAMPAIGN + SIGNER + text)))
    assert (problem.field, problem.code) == (field, "empty_value")


def test_a_kinh_gui_of_only_punctuation_is_refused(tmp_path: Path) -> None:
    problem = one(problems(write(tmp_path, CAMPAIGN + "to: ';.'\n")))
    assert (problem.field, problem.code) == ("to", "empty_value")


def test_inline_units_carry_header_columns_too(tmp_path: Path) -> None:
    campaign = CAMPAIGN.replace("units: units.csv", (
        "units:\n  - {code: XTH, name: UBND xã Tịnh Hà, parent: null, place: Tịnh Hà, "
        "symbol: UBND}\n  - {code: CA, name: Công an tỉnh, parent: BỘ CÔNG AN}\n"
        "  - {code: SXD, name: Sở Xây dựng, parent: '-'}\n"))
    spec = load_campaign(write(tmp_path, campaign), TZ)
    assert spec.units == (Unit("XTH", "UBND xã Tịnh Hà", None, "", "Tịnh Hà", "UBND"),
                          Unit("CA", "Công an tỉnh", None, "BỘ CÔNG AN"),
                          Unit("SXD", "Sở Xây dựng", None, ""))
