"""Every output of a compile, written to a folder (`reportbot compile`, `reportbot demo`).

The charts are drawn once and go into the .docx and, as bieu-do/<name>.png next to it, into
tom-tat.html; bieu-do/tien-do.png is the picture a chat gets (`PROGRESS_PICTURE`). The evidence
files the reported units sent lie in minh-chung/<CODE>/ and, all of them, in minh-chung.zip.
"""

from __future__ import annotations

import logging
import shutil
import zipfile
from datetime import datetime
from pathlib import Path

from bot import texts
from bot.campaigns.spec import CampaignSpec
from bot.compile import Report, aggregate, summary_message
from bot.documents.charts import Charts, report_charts
from bot.documents.export import export
from bot.documents.reports import render_consolidated, render_unit
from bot.evidence import EVIDENCE_DIR, EvidenceStore, report_evidence
from bot.model import Sheet

log = logging.getLogger(__name__)
CHARTS_DIR = "bieu-do"
EVIDENCE_ZIP = f"{EVIDENCE_DIR}.zip"
# Formats compressed already: stored as they are in the .zip.
_PACKED = frozenset({".jpg", ".jpeg", ".png", ".webp", ".heic", ".docx", ".xlsx", ".pptx",
                     ".odt", ".ods"})
PROGRESS_PICTURE = f"{CHARTS_DIR}/tien-do.png"


def write_outputs(spec: CampaignSpec, sheets: list[Sheet], now: datetime, out: Path,
                  unit_reports: bool = True, evidence: EvidenceStore | None = None,
                  ) -> tuple[Report, list[Path]]:
    """Write bao-cao-tong-hop.docx, tom-tat.html and its pictures (bieu-do/*.png), the data
    files, don-vi/<CODE>.docx and, from `evidence`, minh-chung/<CODE>/… and minh-chung.zip."""
    out.mkdir(parents=True, exist_ok=True)
    report = aggregate(spec, sheets, now)
    kept = write_evidence(report, evidence, out) if evidence is not None else []
    charts = report_charts(report)
    paths = [render_consolidated(report, out / "bao-cao-tong-hop.docx", charts=charts)]
    pictures = write_charts(charts, out / CHARTS_DIR)
    summary = out / "tom-tat.html"
    figures = [{"src": f"{CHARTS_DIR}/{chart.filename}", "title": chart.title,
                "caption": chart.note} for chart in charts.all()]
    summary.write_text(texts.render("outputs.summary_page", "html", title=spec.title,
                                    parts=summary_message(report, "html"), figures=figures),
                       encoding="utf-8")
    paths += [summary, *pictures, *export(spec, sheets, out), *kept]
    if not unit_reports:
        return report, paths
    units = out / "don-vi"
    units.mkdir(exist_ok=True)
    for row in report.units:
        if row.answers:
            paths.append(render_unit(report, row.code, units / f"{row.code}.docx"))
    return report, paths


def write_evidence(report: Report, store: EvidenceStore, out: Path) -> list[Path]:
    """Copy the reported units' evidence files to minh-chung/<CODE>/<name> and put them in
    minh-chung.zip; return [the .zip], or [] when there is none.

    A file the answers name but the store no longer has (deleted by hand, or answered before
    the files were kept) is left out and logged; the report still lists it.
    """
    written = []
    for evidence in report_evidence(report):
        source = store.path_of(evidence.item)
        if source is None:
            log.warning("evidence of %s not found in the store: %s", evidence.code,
                        evidence.path.name)
            continue
        target = out / evidence.path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        written.append((target, evidence.path.as_posix()))
    if not written:
        return []
    archive = out / EVIDENCE_ZIP
    with zipfile.ZipFile(archive, "w") as bundle:
        for target, name in written:
            packed = target.suffix.lower() in _PACKED
            bundle.write(target, name, zipfile.ZIP_STORED if packed else zipfile.ZIP_DEFLATED)
    return [archive]


def write_charts(charts: Charts, folder: Path) -> list[Path]:
    """Write every chart as <name>.png in `folder`; return the paths, the progress first."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for chart in charts.all():
        path = folder / chart.filename
        path.write_bytes(chart.png)
        paths.append(path)
    return paths


def write_unit_report(spec: CampaignSpec, sheets: list[Sheet], now: datetime, code: str,
                      out: Path) -> Path:
    """Write one unit's own BÁO CÁO."""
    out.parent.mkdir(parents=True, exist_ok=True)
    return render_unit(aggregate(spec, sheets, now), code, out)
