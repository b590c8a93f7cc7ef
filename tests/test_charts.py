"""Charts: the reporting progress and the questions marked ``chart:``, as PNG pictures in the
consolidated .docx, next to tom-tat.html and with /compile and /status (bot/documents/charts.py)."""

from __future__ import annotations

import asyncio
import io
import re
import struct
import zlib
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from docx import Document
from matplotlib import font_manager
from matplotlib.ft2font import FT2Font
from PIL import Image

from benchmarks.compile import campaign_text, make_sheets
from bot.campaigns.campaign import load_campaign_text
from bot.campaigns.spec import CampaignSpec
from bot.channels.base import CONSOLE, TELEGRAM
from bot.compile import Report, aggregate
from bot.deliveries import Deliveries
from bot.demo import demo_clock, run_demo
from bot.documents.charts import (
    FONTS,
    MAX_BARS,
    Charts,
    chart_font,
    progress_chart,
    report_charts,
)
from bot.documents.outputs import write_outputs
from bot.documents.reports import render_consolidated
from bot.model import Campaign, Sheet, UnitProgress
from bot.questionnaire import Questionnaire, Section
from bot.store import Store

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
PNG = b"\x89PNG\r\n\x1a\n"
TEXT_WIDTH_MM = 165  # A4 210 mm less the margins of 30 + 15 mm (FORMAT-ND30.md)
CHARTED = ["hinh_thuc_tt", "ty_le_tiem", "ung_ho_tien", "tu_danh_gia"]  # questionnaire order


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[CampaignSpec, list[Sheet]]:
    """The demo round (3 of 8 units reported, one in progress)."""
    folder = tmp_path_factory.mktemp("demo")

    async def build() -> tuple[CampaignSpec, list[Sheet]]:
        store = await Store.open(folder / "demo.sqlite3")
        try:
            campaign_id, _ = await run_demo(store, TZ, folder)
            campaign = await store.campaign(campaign_id)
            assert campaign is not None
            return campaign.spec, await store.sheets(campaign_id)
        finally:
            await store.close()

    return asyncio.run(build())


@pytest.fixture(scope="module")
def report(demo: tuple[CampaignSpec, list[Sheet]]) -> Report:
    return aggregate(*demo, demo_clock())


@pytest.fixture(scope="module")
def charts(report: Report) -> Charts:
    return report_charts(report)


def chunks(png: bytes) -> list[bytes]:
    """Return the chunk types of a PNG, checking each chunk's CRC."""
    types, at = [], len(PNG)
    while at < len(png):
        (length,) = struct.unpack(">I", png[at:at + 4])
        kind, data = png[at + 4:at + 8], png[at + 8:at + 8 + length]
        (crc,) = struct.unpack(">I", png[at + 8 + length:at + 12 + length])
        assert zlib.crc32(kind + data) == crc
        types.append(kind)
        at += 12 + length
    return types


def test_the_demo_has_the_progress_and_each_charted_question(charts: Charts) -> None:
    assert charts.progress.name == "tien-do"
    assert list(charts.questions) == CHARTED


def test_each_chart_is_a_png_sized_for_print_within_the_text_width(charts: Charts) -> None:
    for chart in charts.all():
        assert chart.png.startswith(PNG), chart.name
        assert 10_000 < len(chart.png) < 500_000, chart.name
        assert chunks(chart.png)[-1] == b"IEND"
        image = Image.open(io.BytesIO(chart.png))
        assert image.format == "PNG"
        dpi = image.info["dpi"][0]
        assert dpi >= 150
        # drawn at its printed size: the pixels are the millimetres at that resolution
        assert abs(image.width - chart.width_mm / 25.4 * dpi) <= 2, chart.name
        assert abs(image.height - chart.height_mm / 25.4 * dpi) <= 2, chart.name
        assert chart.width_mm <= TEXT_WIDTH_MM and chart.height_mm <= 240


def test_a_chart_carries_no_software_name_or_time_and_is_the_same_each_time(
        report: Report, charts: Charts) -> None:
    again = report_charts(report)
    for chart in charts.all():
        kinds = chunks(chart.png)
        assert b"tIME" not in kinds and b"tEXt" not in kinds and b"iTXt" not in kinds, kinds
        assert again.questions.get(chart.name, again.progress).png == chart.png


def test_the_font_has_the_vietnamese_letters() -> None:
    family = chart_font()
    assert family in FONTS
    path = font_manager.findfont(font_manager.FontProperties(family=family),
                                 fallback_to_default=False)
    charmap = FT2Font(path).get_charmap()
    assert all(ord(ch) in charmap for ch in "ữặốĐđơưẫỹ"), path


def test_the_progress_labels_are_vietnamese_and_count_every_unit(
        report: Report, charts: Charts) -> None:
    labels = charts.progress.labels
    assert "Tình hình báo cáo của các đơn vị" in labels
    assert {"Đã gửi", "Đang trả lời", "Chưa bắt đầu", "Số đơn vị"} <= set(labels)
    groups = {u.group for u in report.units}
    assert len(groups) == 2
    assert {g.replace("\n", " ") for g in labels} >= groups
    assert "3/8 đơn vị đã gửi báo cáo" in charts.progress.note


def test_a_progress_without_groups_is_one_bar_and_returned_units_are_in_progress() -> None:
    chart = progress_chart([(None, "submitted"), (None, "edited"), (None, "returned"),
                            (None, "not_started")])
    assert "Tất cả đơn vị" in chart.labels
    # bar labels: 2 submitted (submitted + edited), 1 in progress (returned), 1 not started
    assert chart.labels[-3:] == ("2", "1", "1")


def test_question_charts_speak_vietnamese_numbers(charts: Charts) -> None:
    money = charts.questions["ung_ho_tien"]
    assert "Triệu đồng" in money.labels
    assert "1.200" in money.labels and "1.000" in money.labels  # 1,2 tỷ; an axis tick
    percent = charts.questions["ty_le_tiem"]
    assert {"99,5 %", "98,7 %", "100 %", "Tỷ lệ (%)"} <= set(percent.labels)
    forms = charts.questions["hinh_thuc_tt"]
    assert {"Hội nghị", "Trang thông tin điện tử", "Khác", "Số đơn vị chọn"} <= set(
        forms.labels)
    assert forms.title == "Hình thức tuyên truyền phong trào"  # `chart:` names it
    for chart in charts.all():
        for label in chart.labels:
            assert not re.search(r"\d\.\d{1,2}$|\d,\d{3}\b", label), (chart.name, label)


def test_many_units_show_the_lowest_percentages_and_say_so() -> None:
    spec = load_campaign_text("bench.yaml", campaign_text(80), TZ)
    report = aggregate(spec, make_sheets(spec, 2023), datetime(2023, 10, 30, tzinfo=UTC))
    charts = report_charts(report)
    percent = charts.questions["ty_le_tiem"]
    values = sorted(float(r.answers["ty_le_tiem"]) for r in report.reported
                    if r.answers.get("ty_le_tiem") is not None)
    shown = [float(t.removesuffix(" %").replace(",", ".")) for t in percent.labels
             if t.endswith(" %") and t != "Tỷ lệ (%)"]
    assert len(shown) == MAX_BARS
    assert sorted(shown) == values[:MAX_BARS]
    assert f"{MAX_BARS} đơn vị có số liệu thấp nhất" in percent.note
    assert f"{MAX_BARS} đơn vị có số liệu cao nhất" in charts.questions["ung_ho_tien"].note
    assert charts.progress.height_mm < 240  # seven groups ("Khối 1" …), not 80 bars


def test_the_consolidated_report_holds_the_pictures_within_the_text_area(
        report: Report, tmp_path: Path) -> None:
    document = Document(str(render_consolidated(report, tmp_path / "tong-hop.docx")))
    shapes = document.inline_shapes
    assert len(shapes) == 1 + len(CHARTED)
    assert all(0 < s.width.mm <= TEXT_WIDTH_MM for s in shapes)
    captions = [p.text for p in document.paragraphs if p.text.startswith("Biểu đồ ")]
    assert [c.split(".")[0] for c in captions] == [f"Biểu đồ {n}" for n in range(1, 6)]
    texts = [p.text for p in document.paragraphs]
    # the progress after the opening; a question's chart after its own khoản
    first = texts.index(captions[0])
    assert first < next(i for i, t in enumerate(texts) if t.startswith("I. "))
    vaccination = next(i for i, t in enumerate(texts) if "tiêm vắc xin" in t and t[0].isdigit())
    assert vaccination < texts.index(captions[2]) < next(
        i for i, t in enumerate(texts) if i > vaccination and re.match(r"\d+\. ", t))


def test_compile_works_without_any_charted_question(
        demo: tuple[CampaignSpec, list[Sheet]], tmp_path: Path) -> None:
    spec, sheets = demo
    plain = Questionnaire(tuple(
        Section(s.title, tuple(replace(q, chart=False, chart_title=None) for q in s.questions))
        for s in spec.questionnaire.sections))
    spec = replace(spec, questionnaire=plain)
    report, paths = write_outputs(spec, sheets, demo_clock(), tmp_path, unit_reports=False)
    assert report_charts(report).questions == {}
    document = Document(str(tmp_path / "bao-cao-tong-hop.docx"))
    assert len(document.inline_shapes) == 1  # the progress only
    assert sorted(p.name for p in paths if p.suffix == ".png") == ["tien-do.png"]


def test_the_summary_page_shows_the_pictures_kept_next_to_it(
        demo: tuple[CampaignSpec, list[Sheet]], tmp_path: Path) -> None:
    _, paths = write_outputs(*demo, demo_clock(), tmp_path, unit_reports=False)
    html = (tmp_path / "tom-tat.html").read_text(encoding="utf-8")
    sources = re.findall(r'<img src="([^"]+)"', html)
    assert sources == ["bieu-do/tien-do.png", *(f"bieu-do/{q}.png" for q in CHARTED)]
    for source in sources:
        assert (tmp_path / source).read_bytes().startswith(PNG)
        assert tmp_path / source in paths
    assert "http" not in html  # nothing fetched from another site
    assert "<figcaption><i>Tình hình báo cáo đến ngày" in html


async def test_compile_sends_one_picture_before_the_files(
        demo: tuple[CampaignSpec, list[Sheet]], tmp_path: Path) -> None:
    spec, sheets = demo
    deliveries = Deliveries(_Sheets(sheets), demo_clock, TZ, tmp_path)  # type: ignore[arg-type]
    campaign = Campaign(1, spec, "open", demo_clock())
    replies = await deliveries.compile(campaign, ["boss"], "telegram", TELEGRAM)
    names = [r.document.name for r in replies if r.document is not None]
    assert names == ["tien-do.png", "bao-cao-tong-hop.docx", "du-lieu.xlsx"]


async def test_status_adds_the_progress_picture_only_where_files_go(
        demo: tuple[CampaignSpec, list[Sheet]], tmp_path: Path) -> None:
    spec, sheets = demo
    deliveries = Deliveries(_Sheets(sheets), demo_clock, TZ, tmp_path)  # type: ignore[arg-type]
    campaign = Campaign(1, spec, "open", demo_clock())
    rows = [UnitProgress(s.code, s.name, s.status, 0, 20, 1, s.submitted_at) for s in sheets]
    sent = await deliveries.progress(campaign, rows, "boss", "telegram", TELEGRAM)
    assert len(sent) == 1 and sent[0].document is not None
    assert sent[0].document.read_bytes().startswith(PNG)
    assert await deliveries.progress(campaign, rows, "me", "console", CONSOLE) == []


class _Sheets:
    """The one Store call a compile makes."""

    def __init__(self, sheets: list[Sheet]) -> None:
        self._sheets = sheets

    async def sheets(self, campaign_id: int) -> list[Sheet]:
        return self._sheets

