"""The command line as a new user runs it: real subprocesses in a scratch folder."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
from docx import Document

from tests.conftest import SMALL_CAMPAIGN

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "templates" / "default" / "campaign.yaml"


def reportbot(cwd: Path, *args: str, stdin: str = "",
              **settings: str) -> subprocess.CompletedProcess[str]:
    """Run the installed `reportbot` command (falling back to the module) in `cwd`."""
    script = Path(sys.executable).parent / "reportbot"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("REPORTBOT_", "TELEGRAM_", "ZALO_"))}
    env["REPORTBOT_DB"] = str(cwd / "rb.sqlite3")
    env.update(settings)
    result = subprocess.run([*command, *args], cwd=cwd, input=stdin, capture_output=True,
                            text=True, timeout=120, env=env)
    assert "Traceback" not in result.stderr, result.stderr
    return result


@pytest.fixture
def small(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL_CAMPAIGN, encoding="utf-8")
    return path


def create(tmp_path: Path, file: Path) -> dict[str, object]:
    result = reportbot(tmp_path, "campaign", "create", str(file), "--json")
    assert result.returncode == 0, result.stderr
    created: dict[str, object] = json.loads(result.stdout)
    return created


def test_check_accepts_the_default_campaign(tmp_path: Path) -> None:
    result = reportbot(tmp_path, "check", str(DEFAULT))
    assert result.returncode == 0
    assert "hợp lệ" in result.stdout and "8 đơn vị" in result.stdout


def test_check_names_file_line_and_field_of_a_broken_questionnaire(tmp_path: Path) -> None:
    (tmp_path / "units.csv").write_text("code,name\nSXD,Sở Xây dựng\n", encoding="utf-8")
    (tmp_path / "questionnaire.yaml").write_text(
        "sections:\n  - title: I. Chung\n    questions:\n      - id: tien\n        type: moneyy\n"
        "        ask: Số tiền?\n", encoding="utf-8")
    campaign = SMALL_CAMPAIGN.split("questionnaire:")[0]
    (tmp_path / "c.yaml").write_text(
        campaign + "questionnaire: questionnaire.yaml\nunits: units.csv\n", encoding="utf-8")
    result = reportbot(tmp_path, "check", "c.yaml")
    assert result.returncode == 1
    assert "questionnaire.yaml:5:" in result.stderr and "moneyy" in result.stderr
    assert "money" in result.stderr  # the suggestion


def test_create_json_lists_one_invite_per_unit(tmp_path: Path) -> None:
    created = create(tmp_path, DEFAULT)
    units = created["units"]
    assert isinstance(units, list) and len(units) == 8
    assert {"code", "name", "invite_url", "token"} <= set(units[0])
    assert units[0]["code"] == "SXD" and units[0]["invite_url"] is None
    listed = reportbot(tmp_path, "campaign", "list")
    assert f"{created['campaign']}  [đang mở]  0/8" in listed.stdout


def test_invites_show_each_configured_channel(tmp_path: Path) -> None:
    both = {"TELEGRAM_BOT_USERNAME": "rb_test_bot", "ZALO_BOT_TOKEN": "123:secret"}
    result = reportbot(tmp_path, "campaign", "create", str(DEFAULT), "--json", **both)
    unit = json.loads(result.stdout)["units"][0]
    assert unit["invite_url"] == f"https://t.me/rb_test_bot?start={unit['token']}"
    assert unit["zalo"] == f"/start {unit['token']}"
    text = reportbot(tmp_path, "campaign", "create", str(DEFAULT), **both).stdout
    assert "Telegram: https://t.me/rb_test_bot?start=" in text
    assert "Zalo (gửi cho bot): /start " in text
    zalo_only = reportbot(tmp_path, "campaign", "create", str(DEFAULT), "--json",
                          ZALO_BOT_TOKEN="123:secret")
    unit = json.loads(zalo_only.stdout)["units"][0]
    assert unit["invite_url"] is None and unit["zalo"] == f"/start {unit['token']}"


def test_scripted_chat_with_mistakes_then_resume_in_a_new_process(tmp_path: Path,
                                                                 small: Path) -> None:
    campaign = str(create(tmp_path, small)["campaign"])
    first = reportbot(tmp_path, "chat", campaign, "--unit", "SXD",
                      stdin="khoảng một nghìn\n1.250 người\nquay lại\n1.300\nkhông\nbỏ qua\n")
    assert first.returncode == 0, first.stderr
    out = first.stdout
    assert "Chưa đọc được" in out or "không phải" in out.lower() or "Hãy nhập" in out
    assert "Trả lời hiện tại: 1.250 người" in out
    assert "Câu 3/7 · I. Thông tin chung" in out  # "không" hid the documents question
    assert "Câu 4/7 · II. Kết quả" in out
    second = reportbot(tmp_path, "chat", campaign, "--unit", "SXD", stdin="99,5%\n")
    assert "trở lại" in second.stdout and "Câu 4/7" in second.stdout
    assert "Câu 5/7" in second.stdout
    status = json.loads(reportbot(tmp_path, "status", campaign, "--json").stdout)
    sxd = next(u for u in status["units"] if u["code"] == "SXD")
    assert sxd == {"code": "SXD", "name": "Sở Xây dựng", "status": "in_progress",
                   "answered": 4, "total": 7, "contacts": 1}


def test_submit_and_export(tmp_path: Path, small: Path) -> None:
    campaign = str(create(tmp_path, small)["campaign"])
    script = ("12\ncó\nQĐ 15/QĐ-SXD ngày 05/01/2022 về việc <khen> & {{ thưởng }} {% x %}\n"
              "xong\n=1+2\n"
              "100%\n1 tỷ 200 triệu\n1, Tọa đàm\n1\n/submit\n")
    chat = reportbot(tmp_path, "chat", campaign, "--unit", "SXD", stdin=script)
    assert "Đã gửi báo cáo" in chat.stdout, chat.stdout
    result = reportbot(tmp_path, "export", campaign, "--out", "out")
    assert result.returncode == 0, result.stderr
    with (tmp_path / "out" / "du-lieu.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    sxd = rows[0]
    assert sxd["unit_code"] == "SXD" and sxd["status"] == "submitted"
    assert sxd["so_nguoi"] == "12" and sxd["tien"] == "1200000000" and sxd["ty_le"] == "100"
    assert sxd["co_vb"] == "có" and sxd["hinh_thuc"] == "Hội nghị | Tọa đàm"
    assert sxd["van_ban"] == ("Quyết định số 15/QĐ-SXD ngày 05/01/2022 về việc <khen> & "
                              "{{ thưởng }} {% x %}")
    assert sxd["ghi_chu"] == "'=1+2"
    assert rows[1]["status"] == "not_started" and rows[1]["tien"] == ""
    book = openpyxl.load_workbook(tmp_path / "out" / "du-lieu.xlsx")
    data = book.worksheets[0]
    ids = [c.value for c in data[2]]  # row 1: the headings, row 2: the question ids
    values = dict(zip(ids, [c.value for c in data[3]], strict=True))
    assert values["tien"] == 1_200_000_000 and values["so_nguoi"] == 12
    assert values["ghi_chu"] == "=1+2"
    assert data.cell(3, ids.index("ghi_chu") + 1).data_type == "s"
    assert data.freeze_panes == "D3"
    assert "van_ban" in book.sheetnames
    assert book["van_ban"]["F2"].value == "về việc <khen> & {{ thưởng }} {% x %}"


def test_compile_writes_every_output(tmp_path: Path, small: Path) -> None:
    campaign = str(create(tmp_path, small)["campaign"])
    result = reportbot(tmp_path, "compile", campaign, "--out", "out")
    assert result.returncode == 0, result.stderr
    assert "DỰ THẢO: mới có 0/2 đơn vị" in result.stdout and "Sở Y tế" in result.stdout
    for name in ("bao-cao-tong-hop.docx", "tom-tat.html", "du-lieu.xlsx", "du-lieu.csv"):
        assert (tmp_path / "out" / name).is_file(), name


def test_unknown_campaign_is_a_clear_error(tmp_path: Path) -> None:
    result = reportbot(tmp_path, "status", "42")
    assert result.returncode == 1 and "Không có đợt báo cáo số 42" in result.stderr


def test_demo_runs_offline_and_prints_where_outputs_are(tmp_path: Path) -> None:
    result = reportbot(tmp_path, "demo", "--out", "demo")
    assert result.returncode == 0, result.stderr
    assert "SXD | Sở Xây dựng | đã gửi" in result.stdout
    assert "UBNDHBS | Ủy ban nhân dân huyện Bình Sơn | đang trả lời" in result.stdout
    assert "Đã gửi 3/8 đơn vị" in result.stdout
    assert (tmp_path / "demo" / "du-lieu.xlsx").is_file()
    assert "DỰ THẢO: mới có 3/8 đơn vị" in result.stdout
    for name in ("bao-cao-tong-hop.docx", "tom-tat.html", "don-vi/SXD.docx"):
        assert (tmp_path / "demo" / name).is_file(), name
    summary = (tmp_path / "demo" / "tom-tat.html").read_text(encoding="utf-8")
    assert "10.000.000" in summary or "Sở Xây dựng" in summary
    transcript = (tmp_path / "demo" / "hoi-thoai" / "SXD.txt").read_text(encoding="utf-8")
    assert "692/KH-SXD" in transcript and "Đã gửi báo cáo" in transcript
    with (tmp_path / "demo" / "du-lieu.csv").open(encoding="utf-8-sig") as handle:
        sxd = next(csv.DictReader(handle))
    assert sxd["ty_le_tiem"] == "100" and sxd["ung_ho_tien"] == "10000000"
    assert "1795/SXD-CCGD" in sxd["van_ban_chuyen_nganh"]
    assert "2440/SXD-CCGD" in sxd["van_ban_chuyen_nganh"]
    # The scripted contacts send sample files: kept, listed, zipped.
    with zipfile.ZipFile(tmp_path / "demo" / "minh-chung.zip") as bundle:
        names = sorted(bundle.namelist())
    assert names == ["minh-chung/SXD/Kế hoạch số 692-KH-SXD.pdf",
                     "minh-chung/SXD/Ảnh hội nghị triển khai phong trào.jpg",
                     "minh-chung/SYT/Ảnh tiêm vắc xin tại Bệnh viện Đa khoa tỉnh.jpg"]
    kept = list((tmp_path / "demo" / "du-lieu-bot" / "files").iterdir())
    assert len(kept) == 3 and all(len(p.stem) == 64 for p in kept)
    report = Document(str(tmp_path / "demo" / "bao-cao-tong-hop.docx"))
    text = "\n".join(p.text for p in report.paragraphs)
    assert "DANH MỤC TÀI LIỆU MINH CHỨNG" in text
    assert "- Kế hoạch số 692-KH-SXD.pdf (" in text


def test_run_without_any_channel_names_the_settings_in_one_line(tmp_path: Path) -> None:
    result = reportbot(tmp_path, "run")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "TELEGRAM_BOT_TOKEN" in result.stderr and "ZALO_BOT_TOKEN" in result.stderr
