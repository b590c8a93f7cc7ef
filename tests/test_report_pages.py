"""The reports read page by page as a clerk reads them: the demo's (`reportbot demo`) and the
flood round's (scripts/render_flood.py), their unit reports too, converted by LibreOffice where
the layout matters. What is checked is what a clerk would otherwise fix by hand: a heading or a
lead sentence left alone at a page's foot while its list or chart starts the next page, the line
under the trích yếu touching the letters above it, a closing sentence that runs two clauses
together, a "%" starting a line, figures squeezed against their cell borders, "Ha" for
hectares; and the acceptance list of issue #13 on the demo's own .docx."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from docx.oxml.ns import qn
from PIL import Image

from bot.campaigns.campaign import load_campaign
from bot.compile import aggregate
from bot.demo import default_campaign
from bot.documents.charts import report_charts
from bot.documents.layout import text_width
from bot.documents.reports import render_consolidated
from bot.model import Sheet
from tests.conftest import TZ
from tests.test_flood_report import AT, FLOOD, SHEETS

ROOT = Path(__file__).resolve().parent.parent
DPI = 150


def _run(command: list[str], cwd: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("REPORTBOT_", "TELEGRAM_", "ZALO_"))}
    env["REPORTBOT_DB"] = str(cwd / "rb.sqlite3")
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=180,
                            env=env)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The demo's and the flood round's consolidated reports, and the demo's unit reports."""
    folder = tmp_path_factory.mktemp("pages")
    script = Path(sys.executable).parent / "reportbot"
    reportbot = [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]
    _run([*reportbot, "demo", "--out", "demo"], folder)
    _run([sys.executable, str(ROOT / "scripts" / "render_flood.py"), "flood"], folder)
    found = {"demo": folder / "demo" / "bao-cao-tong-hop.docx",
             "flood": folder / "flood" / "bao-cao-tong-hop.docx"}
    found |= {f"unit-{p.stem}": p for p in sorted((folder / "demo" / "don-vi").glob("*.docx"))}
    found |= {f"commune-{p.stem}": p for p in sorted((folder / "flood" / "don-vi").glob("*.docx"))}
    return found


@pytest.fixture(scope="module")
def pdfs(reports: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    missing = [t for t in ("soffice", "pdftotext", "pdftoppm") if shutil.which(t) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed: run .ci/install-office.sh (CI does)")
    out = tmp_path_factory.mktemp("pdf")
    result = {}
    for name in ("demo", "flood"):
        profile = out / "lo-profile"
        subprocess.run(["soffice", "--headless", "--norestore",
                        f"-env:UserInstallation={profile.as_uri()}", "--convert-to", "pdf",
                        "--outdir", str(out / name), str(reports[name])],
                       check=True, capture_output=True, timeout=180)
        result[name] = out / name / "bao-cao-tong-hop.pdf"
        assert result[name].exists()
    return result


def _pages(pdf: Path) -> list[list[str]]:
    """Each page's lines, whitespace collapsed, empty ones dropped."""
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True,
                          capture_output=True, text=True, timeout=60).stdout
    return [[" ".join(line.split()) for line in page.splitlines() if line.strip()]
            for page in text.split("\f") if page.strip()]


def _styled(path: Path, *styles: str) -> list[str]:
    return [" ".join(p.text.split()) for p in Document(str(path)).paragraphs
            if p.style is not None and p.style.name in styles and p.text.strip()]


@pytest.mark.parametrize("name", ["demo", "flood"])
def test_no_page_ends_with_a_heading_or_a_lead_whose_list_or_chart_is_overleaf(
        name: str, reports: dict[str, Path], pdfs: dict[str, Path]) -> None:
    headings = _styled(reports[name], "ND30 Section", "ND30 Item")
    body = [p for p in Document(str(reports[name])).paragraphs if p.text.strip()]
    names = [p.style.name if p.style is not None else "" for p in body]
    # a khoản's lead with its list or chart after it (not another heading)
    leads = [" ".join(body[i + 1].text.split()) for i in range(len(body) - 2)
             if names[i] == "ND30 Item" and names[i + 2] not in ("ND30 Item", "ND30 Section")]
    assert len(leads) >= 4
    pages = _pages(pdfs[name])
    assert len(pages) >= 3
    for number, page in enumerate(pages[:-1], start=1):
        last = page[-1]
        assert last not in headings, (number, last)
        assert not last.endswith(":"), (number, last)
        tail = " ".join(page[-3:])  # a line is longer than the 60 characters compared
        assert not any(tail.endswith(lead[-60:]) for lead in leads), (number, last)


def _words_of_line(pdf: Path, page: int, text: str) -> list[tuple[float, float, float]]:
    """Return (xMin, xMax, yMax) in points of the words of the line that ends with `text`."""
    html = subprocess.run(["pdftotext", "-bbox-layout", "-f", str(page), "-l", str(page),
                           str(pdf), "-"], check=True, capture_output=True, text=True,
                          timeout=60).stdout
    for line in re.findall(r"<line[^>]*>(.*?)</line>", html, re.S):
        words = re.findall(r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" '
                           r'yMax="([\d.]+)">([^<]*)</word>', line)
        if " ".join(w[3] for w in words).endswith(text):
            return [(float(a), float(b), float(c)) for a, b, c, _ in words]
    raise AssertionError(f"no line ending with {text!r} on page {page}")


@pytest.mark.parametrize("name, tail", [("demo", "COVID-19”"), ("flood", "huyện Sơn Tịnh")])
def test_the_line_under_the_subject_clears_the_letters_above_it(
        name: str, tail: str, pdfs: dict[str, Path], tmp_path: Path) -> None:
    words = _words_of_line(pdfs[name], 1, tail)
    left, right = min(w[0] for w in words), max(w[1] for w in words)
    bottom = max(w[2] for w in words)  # the font's descent: the foot of "g", "ị"
    subprocess.run(["pdftoppm", "-png", "-r", str(DPI), "-f", "1", "-l", "1", "-gray",
                    str(pdfs[name]), str(tmp_path / "p")], check=True, timeout=60)
    image = Image.open(next(tmp_path.glob("p*.png"))).convert("L")
    scale = DPI / 72
    x0, x1 = int(left * scale), int(right * scale)
    start = int((bottom - 14) * scale)  # from inside the last line of the trích yếu down
    rule = None
    for y in range(start, start + int(30 * scale)):
        row = "".join("1" if image.getpixel((x, y)) < 128 else "0" for x in range(x0, x1))
        if max(map(len, row.split("0"))) > 0.25 * (x1 - x0):  # a stroke, not a row of letters
            rule = y
            break
    assert rule is not None, "no line under the trích yếu"
    gap = rule / scale - bottom
    assert gap >= 2.5, f"the line is {gap:.1f} pt under the letters' foot"


@pytest.mark.parametrize("name, issuer, recipient", [
    ("demo", "Sở Nội vụ", "UBND tỉnh Quảng Ngãi"),
    ("flood", "UBND huyện Sơn Tịnh", "UBND tỉnh Quảng Ngãi")])
def test_the_closing_says_where_the_figures_come_from_then_who_reports_to_whom(
        name: str, issuer: str, recipient: str, reports: dict[str, Path]) -> None:
    closing = _styled(reports[name], "ND30 Closing")[0]
    first, second = closing.split(". ", 1)
    assert first.startswith("Trên đây là báo cáo ")
    assert first.endswith(", được tổng hợp từ báo cáo của các đơn vị")
    assert second == f"{issuer} kính báo cáo {recipient} xem xét, chỉ đạo./."


def test_no_heading_of_any_report_is_a_question(reports: dict[str, Path]) -> None:
    assert len(reports) >= 6
    for name, path in reports.items():
        headings = _styled(path, "ND30 Section", "ND30 Item")
        assert headings, name
        asked = [h for h in headings
                 if "?" in h or re.search(r"\b(gì|nào|bao nhiêu|không)$|đơn vị (có|gặp)\b",
                                          h, re.I)]
        assert not asked, (name, asked)


def test_a_chart_axis_keeps_the_unit_as_written(tmp_path: Path) -> None:
    """The flood round's area chart: hectares are "ha", a symbol, never "Ha"."""
    charts = report_charts(aggregate(load_campaign(FLOOD, TZ), SHEETS, AT))
    area = charts.questions["dien_tich_lua"]
    assert "Số liệu (ha)" in area.labels
    assert not [label for label in area.labels if label.startswith("Ha")]


def test_no_sentence_ends_twice_and_no_line_is_only_a_dash(reports: dict[str, Path]) -> None:
    for name, path in reports.items():
        lines = [" ".join(p.text.split()) for p in Document(str(path)).paragraphs]
        lines += [" ".join(c.text.split()) for t in Document(str(path)).tables
                  for row in t.rows for c in row.cells]
        assert not [t for t in lines if re.search(r"(?<!/)\.\s*\.$|[;,:]\.$", t)], name
        assert not [t for t in lines if t in ("-", "- .", "- ;", "–")], name


def _keeps_with_next(paragraph: Any) -> bool:
    style = paragraph.style
    while style is not None:
        if style.paragraph_format.keep_with_next is not None:
            return bool(style.paragraph_format.keep_with_next)
        style = style.base_style
    return False


def test_a_line_that_introduces_a_list_stays_with_it(tmp_path: Path) -> None:
    """Units of two groups reported: the lead, "a) Sở, ban, ngành:" and "b) UBND …:" are each
    kept with the next line, as "Nội dung khác do đơn vị nêu:" is; the last line of a khoản is
    not (a chain of kept paragraphs across khoản would move whole pages)."""
    spec = default_campaign(TZ)
    at = datetime(2023, 10, 25, 3, 0, tzinfo=UTC)
    said = {"SXD": "Khối lượng công việc tăng.", "UBNDHBS": "Thiếu kinh phí.",
            "SGDDT": "Nhân lực mỏng."}
    forms = {"values": ["Hội nghị"], "other": "Loa truyền thanh"}
    sheets = [Sheet(u.code, u.name, u.group, "submitted",
                    {"kho_khan": said[u.code], "hinh_thuc_tt": forms}, at)
              for u in spec.units if u.code in said]
    path = render_consolidated(aggregate(spec, sheets, at), tmp_path / "groups.docx")
    body = [p for p in Document(str(path)).paragraphs if p.text.strip()]
    names = [p.style.name if p.style is not None else "" for p in body]
    legend = next(p for p in body if p.text == "Các cột số liệu:")  # the appendix's
    assert legend.paragraph_format.keep_with_next or _keeps_with_next(legend)
    body = body[names.index("ND30 Section"):names.index("ND30 Closing")]  # the parts
    introducing = [p for p in body if p.text.endswith(":")]
    assert {"a) Sở, ban, ngành:", "b) UBND huyện, thị xã, thành phố:",
            "Nội dung khác do đơn vị nêu:"} <= {p.text for p in introducing}
    assert all(_keeps_with_next(p) for p in introducing), [
        p.text for p in introducing if not _keeps_with_next(p)]
    clause = next(i for i, p in enumerate(body) if p.text == "2. Khó khăn, hạn chế")
    last = body[clause + 6]
    assert last.text == "- Ủy ban nhân dân huyện Bình Sơn: Thiếu kinh phí."
    assert not _keeps_with_next(last)


def test_the_demos_report_has_what_issue_13_asks_for(reports: dict[str, Path]) -> None:
    """`reportbot demo`'s bao-cao-tong-hop.docx, as the acceptance of issue #13 lists it."""
    spec = default_campaign(TZ)
    document = Document(str(reports["demo"]))
    body = [p for p in document.paragraphs if p.text.strip()]
    names = [p.style.name if p.style is not None else "" for p in body]
    # a lead sentence with figures under every khoản of the parts the units answered
    leads = [body[i + 1].text for i, n in enumerate(names) if n == "ND30 Item"
             and i < names.index("ND30 Closing")]
    assert len(leads) >= 20 and all(re.search(r"\d", lead) for lead in leads), [
        lead for lead in leads if not re.search(r"\d", lead)]
    opening = next(p.text for p in body if p.text.startswith("Thực hiện "))
    cited = [opening.index(b[:40]) for b in spec.bases]
    assert len(spec.bases) >= 2 and cited == sorted(cited)
    signature, appendix = document.tables[-2], document.tables[-1]
    recipients, signer = (c.text.split("\n") for c in signature.rows[0].cells)
    assert recipients[1] == "- Như trên;" and recipients[-1] == f"- Lưu: VT, {spec.drafter}."
    assert len(recipients) == 2 + len(spec.recipients) + 1
    assert spec.signer is not None and signer[-1] == spec.signer.name
    total = [c.text for c in appendix.rows[-1].cells]
    assert total[1] == "Tổng cộng" and sum(bool(re.fullmatch(r"[\d.,]+", t)) for t in total) >= 3
    assert len(document.inline_shapes) >= 2
    listed = [p.text for p in body if re.match(r"- .+\.(pdf|jpg) \(\d+ KB\)[;.]$", p.text)]
    assert len(listed) == 3, listed  # the demo's three sample files, after the Phụ lục


def test_a_wide_appendix_gives_its_figures_room_too(reports: dict[str, Path]) -> None:
    """The flood round's landscape appendix: the width the columns do not need is shared by all
    of them, not given to the name and note columns alone (the figures stood against their
    borders beside a 90 mm "Đơn vị" column)."""
    document = Document(str(reports["flood"]))
    appendix = document.tables[-1]
    assert document.sections[-1].page_width > document.sections[-1].page_height
    rows = [[c.text for c in row.cells] for row in appendix.rows]
    grid = [int(c.get(qn("w:w"))) for c in appendix._tbl.iter(qn("w:gridCol"))]
    assert rows[0][2:7] == ["(1)", "(2)", "(3)", "(4)", "(5)"]
    for column in range(2, 7):
        needed = max(text_width(row[column], 24, bold=i in (0, len(rows) - 1))
                     for i, row in enumerate(rows)) + 2 * 57
        assert grid[column] >= 1.3 * needed, (rows[0][column], grid[column], needed)


@pytest.mark.parametrize("name", ["demo", "flood", "unit-SXD", "commune-XTH"])
def test_a_percent_sign_is_never_left_to_start_a_line(name: str,
                                                      reports: dict[str, Path]) -> None:
    """The figure and its "%" are joined by a no-break space ("98,96 %" could break before the
    sign, leaving "%;" at the start of the next line)."""
    document = Document(str(reports[name]))
    text = "\n".join(p.text for p in document.paragraphs)
    assert re.search(r"\d\u00a0%", text), name
    assert not re.search(r"\d %", text), re.findall(r".{20}\d %.{5}", text)
