"""du-lieu.xlsx and du-lieu.csv of a real small round, read as a person opening them would."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.worksheet.worksheet import Worksheet

from bot.campaigns.campaign import load_campaign_text
from bot.campaigns.spec import CampaignSpec
from bot.documents.export import export, write_xlsx
from bot.engine import Engine
from bot.model import Sheet
from bot.store import Store
from tests.conftest import SMALL_CAMPAIGN, TZ, Clock, open_chat

ROUND = SMALL_CAMPAIGN.replace(
    '        - {id: tien, type: money, ask: "Số tiền ủng hộ?"}\n',
    '        - {id: tien, type: money, ask: "Số tiền ủng hộ?",'
    ' report: {heading: "Kinh phí ủng hộ phong trào"}}\n'
    '        - {id: ngay_hop, type: date, ask: "Ngày tổ chức hội nghị sơ kết?"}\n',
).replace("  - {code: SYT, name: Sở Y tế}\n",
          "  - {code: SYT, name: Sở Y tế}\n  - {code: STC, name: Sở Tài chính}\n")
NOTE = ("Đơn vị đã lồng ghép việc tuyên truyền phong trào thi đua vào các buổi sinh hoạt "
        "chuyên môn hằng tháng của các phòng, ban")

# The CSV as PRODUCT.md describes it, pinned byte for byte: the machine columns and values.
CSV = (
    "\ufeffunit_code,unit_name,status,so_nguoi,co_vb,van_ban,ghi_chu,ty_le,tien,ngay_hop,"
    "hinh_thuc,muc_do\r\n"
    "SXD,Sở Xây dựng,submitted,1250,có,Kế hoạch số 692/KH-SXD ngày 04/10/2021 tổ chức thực "
    f"hiện phong trào,\"{NOTE}\",99.5,1500000000,2023-10-15,Hội nghị | Mạng xã hội,Khá\r\n"
    "SYT,Sở Y tế,in_progress,30,không,,,,,,,\r\n"
    "STC,Sở Tài chính,not_started,,,,,,,,,\r\n"
)


IDS = ["unit_code", "unit_name", "status", "so_nguoi", "co_vb", "van_ban", "ghi_chu", "ty_le",
       "tien", "ngay_hop", "hinh_thuc", "muc_do"]


@pytest.fixture
async def out(store: Store, tmp_path: Path) -> Path:
    """Export a round of three units: one submitted, one answering, one not started."""
    spec = load_campaign_text("round.yaml", ROUND, TZ)
    campaign_id, _ = await store.create_campaign(spec, datetime(2023, 10, 17, tzinfo=UTC))
    engine = Engine(store, clock=Clock())
    chat = await open_chat(engine, campaign_id)
    for text in ("1.250 người", "có",
                 "Kế hoạch số 692/KH-SXD ngày 04/10/2021 tổ chức thực hiện phong trào", "xong",
                 NOTE, "99,5 %", "1,5 tỷ", "15/10/2023", "1, 3", "2"):
        await chat.send(text)
    assert "Đã gửi báo cáo" in await chat.send("/submit")
    other = await open_chat(engine, campaign_id, "SYT", "chat-2")
    await other.send("30")
    await other.send("không")
    export(spec, await store.sheets(campaign_id), tmp_path / "out")
    return tmp_path / "out"


def test_csv_keeps_the_machine_columns_and_values(out: Path) -> None:
    assert (out / "du-lieu.csv").read_bytes().decode("utf-8") == CSV



def data_sheet(out: Path) -> Worksheet:
    sheet = openpyxl.load_workbook(out / "du-lieu.xlsx").worksheets[0]
    assert isinstance(sheet, Worksheet)
    return sheet


def column(sheet: Worksheet, key: str) -> list[Any]:
    """Return the cells of the column whose id (row 2) is `key`, from row 3 on."""
    index = [c.value for c in sheet[2]].index(key) + 1
    return [sheet.cell(row, index) for row in range(3, sheet.max_row + 1)]


def width(sheet: Worksheet, key: str) -> float:
    letter = column(sheet, key)[0].column_letter
    return float(sheet.column_dimensions[letter].width)


def test_header_shows_each_question_heading_over_its_id(out: Path) -> None:
    sheet = data_sheet(out)
    headings = [c.value for c in sheet[1]]
    assert headings[:3] == ["Mã đơn vị", "Tên đơn vị", "Tình trạng"]
    assert headings[IDS.index("so_nguoi")] == "Tổng số người"  # derived from the question
    assert headings[IDS.index("tien")] == "Kinh phí ủng hộ phong trào"  # its report.heading
    assert not [h for h in headings if h.endswith("?")], headings
    assert [c.value for c in sheet[2]] == IDS  # the CSV's header, to match the two files
    assert all(c.font.bold for c in sheet[1]) and not sheet["A2"].font.bold


def test_status_and_yes_no_read_in_vietnamese(out: Path) -> None:
    sheet = data_sheet(out)
    assert [c.value for c in column(sheet, "status")] == ["Đã gửi", "Đang trả lời",
                                                          "Chưa bắt đầu"]
    assert [c.value for c in column(sheet, "co_vb")] == ["Có", "Không", None]


def test_every_status_has_its_vietnamese_words(spec: CampaignSpec, tmp_path: Path) -> None:
    statuses = ["not_started", "in_progress", "submitted", "edited", "returned"]
    sheets = [Sheet(f"U{i}", f"Đơn vị {i}", None, status, {}, None)  # type: ignore[arg-type]
              for i, status in enumerate(statuses)]
    write_xlsx(spec, sheets, tmp_path / "d.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "d.xlsx").worksheets[0]
    assert [sheet.cell(row, 3).value for row in range(3, 8)] == [
        "Chưa bắt đầu", "Đang trả lời", "Đã gửi", "Đã sửa sau khi gửi", "Bị trả lại"]


def test_money_is_a_number_with_thousands_separators(out: Path) -> None:
    money = column(data_sheet(out), "tien")[0]
    assert money.value == 1_500_000_000 and money.data_type == "n"
    assert money.number_format == "#,##0"  # "1.500.000.000" in a Vietnamese-locale spreadsheet
    people = column(data_sheet(out), "so_nguoi")
    assert [c.value for c in people] == [1250, 30, None] and people[0].number_format == "#,##0"


def test_percent_is_a_number_shown_with_its_decimals_and_a_sign(out: Path) -> None:
    percent = column(data_sheet(out), "ty_le")[0]
    assert percent.value == 99.5 and percent.data_type == "n"
    assert percent.number_format == '0.0" %"'  # "99,5 %"; the quoted sign does not scale


def test_dates_are_date_cells_shown_day_month_year(out: Path) -> None:
    day = column(data_sheet(out), "ngay_hop")[0]
    assert day.is_date and day.value == datetime(2023, 10, 15)
    assert day.number_format == "dd/mm/yyyy"
    issued = openpyxl.load_workbook(out / "du-lieu.xlsx")["van_ban"]["E2"]
    assert issued.is_date and issued.value == datetime(2021, 10, 4)
    assert issued.number_format == "dd/mm/yyyy"


def test_header_is_frozen_and_filtered(out: Path) -> None:
    book = openpyxl.load_workbook(out / "du-lieu.xlsx")
    data = book.worksheets[0]
    assert data.freeze_panes == "D3"  # both header rows and the unit's code, name and status
    assert data.auto_filter.ref == "A2:L5"  # the filter buttons on the ids, above every unit
    for name in ("Câu hỏi", "van_ban"):
        assert book[name].freeze_panes == "A2" and book[name].auto_filter.ref.startswith("A1:")


def test_columns_are_as_wide_as_their_content_within_bounds(out: Path) -> None:
    sheet = data_sheet(out)
    widths = {key: width(sheet, key) for key in IDS}
    assert all(8 <= w <= 60 for w in widths.values()), widths
    assert widths["unit_code"] < widths["unit_name"]
    assert widths["hinh_thuc"] >= len("Hội nghị | Mạng xã hội") > widths["muc_do"]
    assert widths["tien"] >= len("1.500.000.000")
    assert widths["ghi_chu"] == 60  # a long note: the widest column, and it wraps
    note = column(sheet, "ghi_chu")[0]
    assert note.value == NOTE and note.alignment.wrap_text
    assert not column(sheet, "muc_do")[0].alignment.wrap_text
    assert sheet["D1"].alignment.wrap_text  # a heading longer than its column wraps


def test_questions_and_list_sheets_stay(out: Path) -> None:
    book = openpyxl.load_workbook(out / "du-lieu.xlsx")
    assert book.sheetnames == ["Dữ liệu", "Câu hỏi", "van_ban"]
    questions = [[c.value for c in row] for row in book["Câu hỏi"].iter_rows()]
    assert questions[0] == ["Mã câu hỏi", "Tiêu đề cột", "Phần", "Câu hỏi", "Kiểu", "Đơn vị tính"]
    assert questions[1] == ["so_nguoi", "Tổng số người", "I. Thông tin chung",
                            "Tổng số người của đơn vị?", "integer", "người"]
    documents = [[c.value for c in row] for row in book["van_ban"].iter_rows()]
    assert documents[0] == ["Mã đơn vị", "Tên đơn vị", "Loại văn bản", "Số, ký hiệu",
                            "Ngày ban hành", "Trích yếu"]
    assert documents[1][:4] == ["SXD", "Sở Xây dựng", "Kế hoạch", "692/KH-SXD"]


def test_libreoffice_in_vietnamese_shows_separators_and_dates(out: Path, tmp_path: Path) -> None:
    """The cells as LibreOffice Calc displays them to a reader whose locale is Vietnamese."""
    soffice = shutil.which("soffice")
    if soffice is None or not (Path(soffice).resolve().parent / "libsclo.so").exists():
        pytest.skip("LibreOffice Calc not installed (apt-get install libreoffice-calc-nogui)")
    profile = tmp_path / "lo-profile"
    subprocess.run(
        [soffice, "--headless", "--norestore", f"-env:UserInstallation={profile.as_uri()}",
         "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true",
         "--outdir", str(tmp_path / "shown"), str(out / "du-lieu.xlsx")],
        check=True, capture_output=True, timeout=180,
        env={**os.environ, "LANG": "vi_VN.UTF-8", "LC_ALL": "vi_VN.UTF-8"})
    with (tmp_path / "shown" / "du-lieu.csv").open(encoding="utf-8") as handle:
        shown = list(csv.reader(handle))
    sxd = dict(zip(shown[1], shown[2], strict=True))
    assert sxd["tien"] == "1.500.000.000" and sxd["so_nguoi"] == "1.250"
    assert sxd["ty_le"] == "99,5 %" and sxd["ngay_hop"] == "15/10/2023"
    assert sxd["status"] == "Đã gửi" and sxd["co_vb"] == "Có"
