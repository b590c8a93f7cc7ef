"""Render the flood fixture's outputs (tests/fixtures/campaigns/flood) from sample answers, to read
a round on another topic than the seed's as a clerk would: the consolidated report, tom-tat.html,
the data files and each commune's own report.

Run from the checkout: ``.venv/bin/python scripts/render_flood.py [OUT]`` (default
``flood-report/``), then e.g. ``soffice --headless --convert-to pdf OUT/bao-cao-tong-hop.docx``.
The answers are those of tests/test_flood_report.py: two communes submitted, one is answering,
one has not started.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.campaigns.campaign import load_campaign
from bot.documents.outputs import write_outputs
from bot.model import Sheet

FLOOD = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "campaigns" / "flood"
AT = datetime(2023, 11, 22, 3, 0, tzinfo=UTC)
JOINT = {"kind": "Công văn", "number": "12/UBND-NN", "date": "2023-11-18",
         "summary": "về việc phối hợp khắc phục hậu quả mưa lũ"}
SIGNER = {"nguoi_ky": "Nguyễn Văn Hùng", "tham_quyen_ky": "TM. ỦY BAN NHÂN DÂN",
          "chuc_vu_ky": "Chủ tịch"}


def sample_sheets() -> list[Sheet]:
    """Two communes submitted, one answering, one not started (no sheet)."""
    tinh_ha: dict[str, Any] = {
        "dien_tich_lua": "120.5", "nha_hu_hong": 35, "so_ho_anh_huong": 400,
        "uoc_thiet_hai": 2_500_000_000, "ty_le_ho_tro": "90",
        "van_ban": [{"kind": "Kế hoạch", "number": "45/KH-UBND", "date": "2023-11-19",
                     "summary": "khắc phục hậu quả mưa lũ"}, JOINT],
        "kho_khan": "Kinh phí hỗ trợ chưa kịp thời.\nNhiều tuyến kênh mương bị bồi lấp.",
        "kien_nghi": "Đề nghị huyện hỗ trợ giống lúa vụ Đông Xuân.", **SIGNER}
    tinh_son: dict[str, Any] = {
        "dien_tich_lua": "350", "nha_hu_hong": 0, "so_ho_anh_huong": 100,
        "uoc_thiet_hai": 850_000_000, "ty_le_ho_tro": "50", "van_ban": [JOINT],
        "kho_khan": "Không.", "kien_nghi": None, "nguoi_ky": "Trần Thị Lan",
        "tham_quyen_ky": "KT. CHỦ TỊCH", "chuc_vu_ky": "Phó Chủ tịch"}
    return [
        Sheet("XTH", "UBND xã Tịnh Hà", "UBND cấp xã", "submitted", tinh_ha, AT),
        Sheet("XTS", "UBND xã Tịnh Sơn", "UBND cấp xã", "submitted", tinh_son, AT),
        Sheet("XTB", "UBND xã Tịnh Bình", "UBND cấp xã", "in_progress",
              {"dien_tich_lua": "80", "nha_hu_hong": 12}, None),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=Path("flood-report"))
    args = parser.parse_args(argv)
    spec = load_campaign(FLOOD / "campaign.yaml", ZoneInfo("Asia/Ho_Chi_Minh"))
    _, paths = write_outputs(spec, sample_sheets(), AT, args.out)
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
