"""du-lieu.xlsx and du-lieu.csv of a real small round, read as a person opening them would."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.campaigns.campaign import load_campaign_text
from bot.documents.export import export
from bot.engine import Engine
from bot.store import Store
from tests.conftest import SMALL_CAMPAIGN, TZ, Clock, open_chat

ROUND = SMALL_CAMPAIGN.replace(
    '        - {id: tien, type: money, ask: "Số tiền ủng hộ?"}\n',
    '        - {id: tien, type: money, ask: "Số tiền ủng hộ?"}\n'
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
