"""Every output of a compile, written to a folder (`reportbot compile`, `reportbot demo`)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from bot import texts
from bot.campaigns.spec import CampaignSpec
from bot.compile import Report, aggregate, summary_message
from bot.documents.export import export
from bot.documents.reports import render_consolidated, render_unit
from bot.model import Sheet


def write_outputs(spec: CampaignSpec, sheets: list[Sheet], now: datetime, out: Path,
                  unit_reports: bool = True) -> tuple[Report, list[Path]]:
    """Write bao-cao-tong-hop.docx, tom-tat.html, the data files and don-vi/<CODE>.docx."""
    out.mkdir(parents=True, exist_ok=True)
    report = aggregate(spec, sheets, now)
    paths = [render_consolidated(report, out / "bao-cao-tong-hop.docx")]
    summary = out / "tom-tat.html"
    summary.write_text(texts.render("outputs.summary_page", "html", title=spec.title,
                                    parts=summary_message(report, "html")), encoding="utf-8")
    paths += [summary, *export(spec, sheets, out)]
    if not unit_reports:
        return report, paths
    units = out / "don-vi"
    units.mkdir(exist_ok=True)
    for row in report.units:
        if row.answers:
            paths.append(render_unit(report, row.code, units / f"{row.code}.docx"))
    return report, paths


def write_unit_report(spec: CampaignSpec, sheets: list[Sheet], now: datetime, code: str,
                      out: Path) -> Path:
    """Write one unit's own BÁO CÁO."""
    out.parent.mkdir(parents=True, exist_ok=True)
    return render_unit(aggregate(spec, sheets, now), code, out)
