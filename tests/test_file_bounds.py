"""What the loaders read is bounded: file size, table rows, cells, a workbook's unpacked size;
and characters no document can hold are refused where they are written."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from bot.campaigns.campaign import check_file, load_campaign, load_campaign_text
from bot.campaigns.checks import PARAMS, CampaignFileError

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
GOOD = Path(__file__).parent / "fixtures" / "campaigns" / "good"
CAMPAIGN = """\
title: Báo cáo số liệu
request: Công văn số 1/SNV
agency: {parent: UBND TỈNH QUẢNG NGÃI, name: SỞ NỘI VỤ, code: SNV, place: Quảng Ngãi}
deadline: 2023-10-31 17:00
questionnaire: questionnaire.yaml
units: units.csv
"""
CONTROL = "có ký tự điều khiển không in được (U+0007); hãy xoá ký tự này (thường do sao chép " \
          "từ phần mềm khác)"


def write(folder: Path, units: bytes, units_name: str = "units.csv",
          questionnaire: bytes | None = None) -> Path:
    """Write a campaign naming its questionnaire and units files; return its path."""
    (folder / "questionnaire.yaml").write_bytes(
        questionnaire or (GOOD / "questionnaire.yaml").read_bytes())
    (folder / units_name).write_bytes(units)
    path = folder / "campaign.yaml"
    path.write_text(CAMPAIGN.replace("units.csv", units_name), encoding="utf-8")
    return path


def refused(path: Path) -> list[str]:
    """Return the lines the problems of a campaign are told in."""
    with pytest.raises(CampaignFileError) as info:
        load_campaign(path, TZ)
    for problem in info.value.problems:
        assert set(problem.params) == set(PARAMS[problem.code]), problem
    return str(info.value).splitlines()


def workbook(rows: list[list[object]]) -> bytes:
    """Return an .xlsx whose first sheet holds these rows."""
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_oversized_questionnaire_file_is_not_read(tmp_path: Path) -> None:
    big = (GOOD / "questionnaire.yaml").read_bytes() + b"# " + b"x" * 2_100_000 + b"\n"
    path = write(tmp_path, (GOOD / "units.csv").read_bytes(), questionnaire=big)
    assert refused(path) == [
        "campaign.yaml:5: questionnaire: tệp quá lớn (tối đa 2.000.000 byte)"]


def test_oversized_file_checked_alone(tmp_path: Path) -> None:
    path = tmp_path / "to.yaml"
    path.write_bytes(CAMPAIGN.encode() + b"#" * 2_000_000)
    with pytest.raises(CampaignFileError) as info:
        check_file(path, TZ)
    assert str(info.value) == "to.yaml: tệp quá lớn (tối đa 2.000.000 byte)"


def test_csv_cell_too_long_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    path = write(tmp_path, b"code,name\nSXD," + b"x" * 200_000 + b"\n")
    assert refused(path) == ["units.csv:2: có một ô dài quá 131.072 ký tự"]


@pytest.mark.parametrize("name", ["units.csv", "units.xlsx"])
def test_table_rows_are_bounded(tmp_path: Path, name: str) -> None:
    rows = [["code", "name"]] + [[f"U{i}", f"Đơn vị {i}"] for i in range(10_001)]
    data = workbook(rows) if name.endswith(".xlsx") else "".join(
        f"{a},{b}\n" for a, b in rows).encode()
    assert refused(write(tmp_path, data, name)) == [
        f"{name}: bảng có quá nhiều dòng (tối đa 10.000 đơn vị)"]


def test_workbook_unpacking_past_the_limit_is_not_opened(tmp_path: Path) -> None:
    buffer = io.BytesIO(workbook([["code", "name"], ["SXD", "Sở Xây dựng"]]))
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/bomb.bin", bytes(25_000_000))
    path = write(tmp_path, buffer.getvalue(), "units.xlsx")
    assert refused(path) == ["units.xlsx: tệp Excel khi giải nén lớn quá 20.000.000 byte"]


def test_control_character_in_a_csv_cell(tmp_path: Path) -> None:
    path = write(tmp_path, "code,name\nSXD,Sở Xây\x07 dựng\n".encode())
    assert refused(path) == [f"units.csv:2: name: {CONTROL}"]


def test_control_character_written_as_a_yaml_escape() -> None:
    text = (GOOD.parent / "inline.yaml").read_text(encoding="utf-8").replace(
        'title: "Báo cáo nhanh', 'title: "Báo cáo\\a nhanh')
    with pytest.raises(CampaignFileError) as info:
        load_campaign_text("x.yaml", text, TZ)
    assert str(info.value) == f"x.yaml:2: {CONTROL}"
