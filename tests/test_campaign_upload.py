"""A campaign sent in chat with /new: a .yaml or a .zip of a campaign folder
(bot/campaigns/upload.py through bot/coordinator.py)."""

from __future__ import annotations

import io
import os
import struct
import tempfile
import zipfile
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.campaigns.campaign import load_campaign
from bot.campaigns.checks import CampaignFileError
from bot.campaigns.upload import Upload, load_upload
from bot.channels.base import CONSOLE, Incoming
from bot.coordinator import Coordinator
from bot.engine import Engine
from bot.store import Store
from tests.conftest import SMALL_CAMPAIGN

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
SECRET_UNITS = "code,name\nBIMAT,Đơn vị bí mật\n"
UNUSED = Path("/nonexistent/templates")  # where no test without a template may write


def zipped(files: dict[str, bytes | str]) -> bytes:
    """Return a deflated zip of these files."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def folder_files(campaign: str = CAMPAIGN) -> dict[str, bytes | str]:
    """Return the good fixture's questionnaire and units with this campaign file."""
    return {"campaign.yaml": campaign,
            "questionnaire.yaml": (GOOD / "questionnaire.yaml").read_bytes(),
            "units.csv": (GOOD / "units.csv").read_bytes()}


def refused(upload: Upload) -> list[str]:
    """Return the lines the problems of an upload are told in."""
    with pytest.raises(CampaignFileError) as info:
        load_upload(upload, TZ, UNUSED)
    return str(info.value).splitlines()


@pytest.fixture
def coordinator(store: Store, tmp_path: Path) -> Coordinator:
    return Coordinator(store, Engine(store), TZ, lambda _token: [], tmp_path / "data")


async def send(coordinator: Coordinator, upload: Upload) -> str:
    """Send /new with a file; return the single reply."""
    replies = await coordinator.handle(Incoming("test", "admin", text="/new"), CONSOLE, upload)
    assert len(replies) == 1
    return replies[0].text


# --- b. a zip is bounded in size and file count ---------------------------------------------


async def test_zip_expanding_past_the_limit_is_refused_and_nothing_created(
        coordinator: Coordinator, store: Store) -> None:
    data = zipped({**folder_files(), "junk.bin": bytes(100_000_000)})
    assert len(data) < 200_000
    text = await send(coordinator, Upload("dot.zip", data))
    assert "• dot.zip: tệp .zip khi giải nén lớn quá 20.000.000 byte" in text
    assert await store.campaigns() == []


def test_zip_with_too_many_files_is_refused() -> None:
    files = {**folder_files(), **{f"anh/{i}.txt": "x" for i in range(200)}}
    assert refused(Upload("dot.zip", zipped(files))) == [
        "dot.zip: tệp .zip có quá nhiều tệp (tối đa 200 tệp)"]


def test_zip_whose_headers_lie_is_refused() -> None:
    data = bytearray(zipped({**folder_files(), "junk.bin": bytes(30_000_000)}))
    local = data.rfind(b"PK\x03\x04")  # junk.bin, written last
    central = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, local + 22, 10)  # uncompressed size: 10 bytes, it says
    struct.pack_into("<I", data, central + 24, 10)
    lines = refused(Upload("dot.zip", bytes(data)))
    assert len(lines) == 1 and lines[0].startswith("dot.zip: ")


def test_encrypted_zip_is_a_problem_not_a_crash() -> None:
    data = bytearray(zipped(folder_files()))
    for start in (data.find(b"PK\x03\x04"), data.find(b"PK\x01\x02")):
        flags = start + (6 if data[start + 2] == 3 else 8)
        data[flags] |= 1  # "encrypted"
    lines = refused(Upload("dot.zip", bytes(data)))
    assert len(lines) == 1 and lines[0].startswith("dot.zip: không mở được tệp .zip")


# --- c. a zip's paths name only files inside it -----------------------------------------------


def test_zip_campaign_cannot_name_an_absolute_path(tmp_path: Path) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text(SECRET_UNITS, encoding="utf-8")
    upload = Upload("dot.zip", zipped(folder_files(CAMPAIGN.replace("units.csv", str(secret)))))
    assert refused(upload) == [
        f'campaign.yaml:6: units: tệp "{secret}" nằm ngoài tệp .zip đã gửi; chỉ được trỏ tới tệp '
        "có trong tệp .zip, bằng đường dẫn tương đối (không dùng đường dẫn tuyệt đối, \"..\" "
        "hay liên kết tượng trưng)"]


def test_zip_campaign_cannot_climb_out_with_dot_dot(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    (tmp_path / "secret.csv").write_text(SECRET_UNITS, encoding="utf-8")
    (tmp_path / "secret.yaml").write_bytes((GOOD / "questionnaire.yaml").read_bytes())
    campaign = CAMPAIGN.replace("questionnaire.yaml", "../secret.yaml").replace(
        "units.csv", "dot/../../secret.csv")
    lines = refused(Upload("dot.zip", zipped(folder_files(campaign))))
    assert [line.split(" nằm ngoài")[0] for line in lines] == [
        'campaign.yaml:5: questionnaire: tệp "../secret.yaml"',
        'campaign.yaml:6: units: tệp "dot/../../secret.csv"',
    ]


def test_zip_campaign_cannot_name_a_server_template(tmp_path: Path) -> None:
    template = tmp_path / "mau.docx"
    template.write_bytes((GOOD / "report.docx").read_bytes())
    upload = Upload("dot.zip", zipped(folder_files(CAMPAIGN + f"template: {template}\n")))
    assert refused(upload)[0].startswith(f'campaign.yaml:7: template: tệp "{template}" nằm ngoài')


def test_zip_campaign_in_a_subfolder_may_name_files_beside_it() -> None:
    files = {f"dot-1/{name}": data for name, data in folder_files().items()}
    assert len(load_upload(Upload("dot.zip", zipped(files)), TZ, UNUSED).units) == 3


def test_symlink_out_of_an_uploaded_folder_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "secret.csv"
    outside.write_text(SECRET_UNITS, encoding="utf-8")
    folder = tmp_path / "upload"
    folder.mkdir()
    for name, data in folder_files().items():
        (folder / name).write_bytes(data.encode() if isinstance(data, str) else data)
    (folder / "units.csv").unlink()
    os.symlink(outside, folder / "units.csv")
    with pytest.raises(CampaignFileError) as info:
        load_campaign(folder / "campaign.yaml", TZ, within=folder)
    assert str(info.value).startswith('campaign.yaml:6: units: tệp "units.csv" nằm ngoài')
    assert load_campaign(folder / "campaign.yaml", TZ).units[0].code == "BIMAT"  # own disk


def test_self_contained_yaml_in_chat_reads_no_server_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text(SECRET_UNITS, encoding="utf-8")
    text = CAMPAIGN.replace("questionnaire.yaml", str(GOOD / "questionnaire.yaml")).replace(
        "units.csv", str(secret)) + f"template: {GOOD / 'report.docx'}\n"
    lines = refused(Upload("dot.yaml", text.encode()))
    assert [line.split(": tệp gửi")[0] for line in lines] == [
        "dot.yaml:5: questionnaire", "dot.yaml:6: units", "dot.yaml:7: template"]


def test_campaign_on_own_disk_may_name_absolute_paths(tmp_path: Path) -> None:
    (tmp_path / "elsewhere.csv").write_text(SECRET_UNITS, encoding="utf-8")
    folder = tmp_path / "dot"
    folder.mkdir()
    path = folder / "campaign.yaml"
    path.write_text(CAMPAIGN.replace("questionnaire.yaml", str(GOOD / "questionnaire.yaml"))
                    .replace("units.csv", "../elsewhere.csv"), encoding="utf-8")
    assert load_campaign(path, TZ).units[0].code == "BIMAT"


# --- e. a .yaml sent in chat that is not UTF-8 ------------------------------------------------


def test_yaml_in_chat_that_is_not_utf8_is_refused_with_its_line() -> None:
    data = SMALL_CAMPAIGN.encode().replace("Công văn".encode(), b"C\xf4ng v\xe3n")
    assert refused(Upload("dot.yaml", data)) == [
        "dot.yaml:2: tệp không dùng bảng mã UTF-8; hãy lưu lại tệp với bảng mã UTF-8 "
        "(trong Excel: CSV UTF-8)"]


# --- nearby: a template sent in a zip outlives the upload -------------------------------------


async def test_template_from_a_zip_is_kept(coordinator: Coordinator, store: Store) -> None:
    files = folder_files(CAMPAIGN + "template: report.docx\n")
    files["report.docx"] = (GOOD / "report.docx").read_bytes()
    assert "Đã tạo" in await send(coordinator, Upload("dot.zip", zipped(files)))
    campaign = await store.campaign(1)
    assert campaign is not None and campaign.spec.template is not None
    assert campaign.spec.template.read_bytes() == files["report.docx"]
