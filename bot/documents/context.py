"""The template context of the Word reports: what the consolidated report of a round and one
unit's own report say, as plain values for docxtpl (the variables are listed in
bot/documents/reports.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot import texts
from bot.campaigns.spec import CampaignSpec, SummarySection
from bot.compile import Report, amount_in_words
from bot.display import format_choice, format_document, format_value
from bot.documents import parts
from bot.documents.charts import Charts
from bot.documents.issuers import (
    agency_header,
    signer_lines,
    unit_header,
    unit_signer_lines,
)
from bot.documents.wording import (
    display_name,
    end,
    inline_subject,
    question_heading,
    say,
    signer_title,
    strip_end,
    typographic_quotes,
    upper,
    upper_first,
)
from bot.evidence import Evidence, report_evidence, unit_evidence
from bot.model import REPORTED
from bot.parsing.text import clean_text
from bot.questionnaire import Question, is_empty

__all__ = ["consolidated_context", "unit_context"]

SIGNER_IDS = {"name": "nguoi_ky", "authority": "tham_quyen_ky", "title": "chuc_vu_ky"}


def consolidated_context(report: Report, charts: Charts | None = None) -> dict[str, Any]:
    """Return the template context of the consolidated report (see bot/documents/reports.py).

    With `charts`, ``progress_chart`` and each charted clause's ``chart`` are Chart values,
    numbered in reading order; the renderer turns them into pictures.
    """
    spec = report.spec
    figures = parts.Numbering(charts)
    hints = _hints(report)
    reported = len(report.reported)
    header = agency_header(spec.agency)
    if spec.signer is None:
        signer = _signer([signer_title(spec.agency.name)], "")
    else:
        signer = _signer(signer_lines(spec.signer), spec.signer.name)
    names = [display_name(t, hints) for t in spec.to]
    to = say("to_joined", names=names) if names else ""
    context = _common(report, report.generated_at, hints)
    bases = list(spec.bases)
    if spec.request and _fold(spec.request) not in {_fold(b) for b in bases}:
        bases.append(spec.request)
    context.update(
        draft=not report.final,
        final=report.final,
        issuer={"parent": header.parent, "name": header.name, "code": header.symbol,
                "display": display_name(spec.agency.name, hints)},
        recipient=to,
        to=names,
        to_lines=[] if len(names) < 2 else [
            say("to_item", text=strip_end(n), last=i == len(names) - 1)
            for i, n in enumerate(names)],
        recipients=_recipients(to, spec.recipients, spec.drafter),
        bases=bases,
        basis=_basis(bases),
        reported_count=reported,
        missing=[{"name": r.name, "status": _status(r.status)} for r in report.missing],
        missing_count=len(report.missing),
        missing_names=", ".join(r.name for r in report.missing),
        progress_chart=figures.progress(),
        progress_caption=figures.caption,
        sections=_with_summaries(parts.sections(report, figures),
                                 [s.title for s in report.sections], spec.summary_sections),
        appendix=parts.appendix(report),
        evidence=_evidence(report, report_evidence(report)),
        signer=signer,
    )
    cleaned: dict[str, Any] = _clean(context)
    return cleaned


def unit_context(report: Report, unit_code: str) -> dict[str, Any]:
    """Return the template context of one unit's report (KeyError for an unknown code)."""
    row = next((r for r in report.units if r.code == unit_code), None)
    if row is None:
        raise KeyError(unit_code)
    spec = report.spec
    hints = _hints(report)
    context = _common(report, row.submitted_at or report.generated_at, hints)
    answered = {key: _plain(row.answers.get(qid)) for key, qid in SIGNER_IDS.items()}
    signer = _signer(unit_signer_lines(answered["authority"], answered["title"]),
                     answered["name"])
    unit = next((u for u in spec.units if u.code == unit_code), None)
    header = unit_header(unit, spec.agency) if unit is not None else agency_header(
        replace(spec.agency, name=row.name, code=row.code))
    recipient = display_name(spec.agency.name, hints)
    sections: list[dict[str, Any]] = []
    for section in spec.questionnaire.sections:
        shown = [q for q in section.questions
                 if q.id not in SIGNER_IDS.values() and not is_empty(row.answers.get(q.id))]
        items = [parts.item(n, q, _unit_lines(q, row.answers[q.id]))
                 for n, q in enumerate(shown, 1)]
        if items:
            sections.append(parts.section(len(sections), section.title, items))
    context.update(
        draft=row.status not in REPORTED,
        final=row.status in REPORTED,
        issuer={"parent": header.parent, "name": header.name, "code": header.symbol,
                "display": row.name},
        place=header.place,
        recipient=recipient,
        to=[recipient],
        to_lines=[],
        recipients=_recipients(recipient, (), None),
        bases=_unit_bases(spec),
        basis=_basis(_unit_bases(spec)),
        reported_count=len(report.reported),
        sections=sections,
        signer=signer,
        unit={"code": row.code, "name": row.name, "status": _status(row.status)},
        evidence=_evidence(report, unit_evidence(row.code, spec.questionnaire.questions,
                                                  row.answers)),
    )
    cleaned: dict[str, Any] = _clean(context)
    return cleaned


def _signer(lines: list[str], name: str) -> dict[str, Any]:
    """Return the signature block: ``lines`` above the signature, the older ``authority``
    (the lines but the last, one per line) and ``title`` (the last), and the name."""
    return {"lines": lines, "authority": "\n".join(lines[:-1]),
            "title": lines[-1] if lines else "", "name": name}


def _recipients(to: str, others: Sequence[str], drafter: str | None) -> list[str]:
    """Return the Nơi nhận lines: "- Như trên;" when there is a Kính gửi, the campaign's, then
    "- Lưu: VT, <drafter>." (Decree 30, Phụ lục I, II.9)."""
    lines = [say("recipients_same")] if to else []
    lines += [say("recipients_item", text=r) for r in others]
    lines.append(say("recipients_archive", drafter=drafter or ""))
    return lines


def _basis(bases: Sequence[str]) -> str:
    """Return the documents cited after "Thực hiện": "Kế hoạch số …; Công văn số …"."""
    return "; ".join(typographic_quotes(strip_end(b)) for b in bases)


def _unit_bases(spec: CampaignSpec) -> list[str]:
    """Return what a unit's report answers: the campaign's request, else its bases."""
    return [spec.request] if spec.request else list(spec.bases)


def _fold(text: str) -> str:
    return " ".join(strip_end(text).split()).casefold()


def _with_summaries(sections: list[dict[str, Any]], titles: Sequence[str],
                    summaries: Sequence[SummarySection]) -> list[dict[str, Any]]:
    """Return the parts with the coordinator's own placed after the part each names (at the
    end when it names none), numbered again in order; every part gets ``lines``, the
    paragraphs of a written part."""
    for section in sections:
        section.setdefault("lines", [])
    if not summaries:
        return sections
    placed: list[tuple[dict[str, Any], list[dict[str, Any]]]] = [(s, []) for s in sections]
    tail: list[dict[str, Any]] = []
    for summary in summaries:
        part = parts.section(0, summary.title, [])
        part["lines"] = [parts.line(p.strip()) for p in summary.text.split("\n") if p.strip()]
        at = next((i for i, t in enumerate(titles) if t == summary.after), None)
        (tail if at is None or at >= len(placed) else placed[at][1]).append(part)
    ordered = [part for section, after in placed for part in (section, *after)] + tail
    for index, part in enumerate(ordered):
        part["number"] = parts.roman(index + 1)
        part["heading"] = f"{part['number']}. {upper(part['title'])}"
    return ordered


def _common(report: Report, when: datetime, hints: Sequence[str]) -> dict[str, Any]:
    spec = report.spec
    tz = spec.deadline.tzinfo
    local = when.astimezone(tz) if tz is not None else when
    day, month, year = f"{local.day:02d}", _month(local.month), str(local.year)
    subject = typographic_quotes(spec.title)
    return {
        "place": spec.agency.place,
        "day": day,
        "month": month,
        "year": year,
        "date": say("date", day=day, month=month, year=year),
        "as_of": texts.vn_date(local.date()),
        "subject": subject,
        "subject_inline": inline_subject(subject),
        "request": spec.request,
        "period": None if spec.period is None else {
            "start": texts.vn_date(spec.period[0]), "end": texts.vn_date(spec.period[1])},
        "unit_count": len(report.units),
    }


def _month(month: int) -> str:
    """Decree 30: months 1 and 2 get a leading 0, the others do not ("tháng 02", "tháng 10")."""
    return f"{month:02d}" if month <= 2 else str(month)


def _status(status: str) -> str:
    return upper_first(texts.render(f"status.{status}"))


def _hints(report: Report) -> list[str]:
    spec = report.spec
    return [spec.request, spec.title, *(u.name for u in spec.units)]


def _unit_lines(q: Question, value: Any) -> list[dict[str, str]]:
    """Return the paragraphs of one unit's answer in its own report."""
    if q.type in ("text", "longtext"):
        return [parts.line(p.strip()) for p in str(value).split("\n") if p.strip()]
    if q.type == "documents":
        items = [format_document(d) for d in value]
    elif q.type == "list":
        items = [str(item) for item in value]
    elif q.type == "multichoice":
        items = list(value.get("selected") or [])
        if value.get("other"):
            items.append(say("other", text=value["other"]))
    elif q.type == "choice":
        return [parts.line(end(format_choice(value)))]
    elif q.type == "file":  # the files the unit sent, as the evidence list shows them
        last = len(value) - 1
        return [parts.line(say("evidence_file", name=f.get("name", ""),
                               size=texts.file_size(_bytes(f)), end="." if i == last else ";"))
                for i, f in enumerate(value)]
    elif q.type == "money" and int(value) >= 0:
        words = amount_in_words(int(value))
        return [parts.line(end(say("amount", figure=format_value(q, value), words=words)))]
    else:
        return [parts.line(end(format_value(q, value)))]
    return [parts.line(say("dash", text=strip_end(t), end="." if i == len(items) - 1 else ";"))
            for i, t in enumerate(items)]


def _evidence(report: Report, files: Sequence[Evidence]) -> list[dict[str, Any]]:
    """Return the evidence files per unit and question: ``[{code, name, questions: [{label,
    files: [{name, size, path, text}]}]}]``, units in roster order, questions in theirs; a
    file's name is the one it has in minh-chung.zip."""
    names = {r.code: r.name for r in report.units}
    units: dict[str, dict[str, Any]] = {}
    for e in files:
        unit = units.setdefault(e.code, {"code": e.code, "name": names.get(e.code, e.code),
                                         "questions": []})
        questions = unit["questions"]
        if not questions or questions[-1]["id"] != e.question.id:
            questions.append({"id": e.question.id, "label": question_heading(e.question),
                              "files": []})
        questions[-1]["files"].append({"name": e.path.name, "size": texts.file_size(e.size),
                                       "path": e.path.as_posix()})
    for unit in units.values():
        for question in unit["questions"]:
            last = len(question["files"]) - 1
            for i, file in enumerate(question["files"]):
                file["text"] = say("evidence_file", name=file["name"], size=file["size"],
                                   end="." if i == last else ";")
    return list(units.values())


def _bytes(item: Any) -> int:
    size = item.get("size") if isinstance(item, dict) else None
    return size if isinstance(size, int) else 0


def _plain(value: Any) -> str:
    return "" if is_empty(value) else str(value).strip()


def _clean(value: Any) -> Any:
    """Return the context with every string cleaned (`clean_text`) and tabs as spaces."""
    if isinstance(value, str):
        return clean_text(value).replace("\t", " ")
    if isinstance(value, Mapping):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value
