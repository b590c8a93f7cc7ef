"""The pictures of a round: pure functions from the Report (or the units' progress) to PNG bytes.

- the reporting progress: units submitted / in progress / not started, one stacked bar per
  group of units (``group`` in units.csv; a single bar when no unit has one). A unit sent back
  for correction (``returned``) is counted as in progress: it is answering again;
- one bar chart per question marked ``chart:`` in the questionnaire: each unit's value for a
  number, percent or money question (at most `MAX_BARS` units: the highest, or for a percent
  the lowest, with a note saying so), the count per option for a yes/no, choice or multichoice
  question.

Drawn with matplotlib's Agg canvas (no display, no pyplot state), 160 mm wide — within the
165 mm text width of an A4 page with Decree 30's margins — at `DPI` dots per inch, so that the
sizes in points are the printed sizes. Texts come from templates/messages/charts.yaml; numbers
in Vietnamese notation (1.525,5). The font is the first of `FONTS` that matplotlib finds and
that has every Vietnamese letter (`chart_font`); matplotlib ships DejaVu Serif, so one always
is. The PNG carries no software name or time: the same Report gives the same bytes.
"""

from __future__ import annotations

import io
import textwrap
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

from bot import texts
from bot.compile import QuestionSummary, Report
from bot.documents.layout import text_width
from bot.documents.wording import question_heading
from bot.model import REPORTED
from bot.questionnaire import CHART_TYPES, Question, is_empty

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "DPI", "FONTS", "Chart", "Charts", "chart_font", "progress_chart", "question_chart",
    "report_charts",
]

DPI = 150  # print quality for 10 pt text; 200 costs ~15 % more per chart
WIDTH_MM = 160.0
FONTS = ("Times New Roman", "Liberation Serif", "DejaVu Serif")
VIETNAMESE = "ĂÂĐÊÔƠƯăâđêôơư ạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ"
MAX_BARS = 25
FONT_PT = 10
TITLE_PT = 11
BAR_MM = 8.0  # height per bar: room for a name on two lines
TITLE_MM = 5.5  # per line of the title
LEGEND_MM = 8.0
RIGHT_MM = 7.0  # the last tick label of the axis
COLOURS = {"submitted": "#1f4e79", "in_progress": "#8fb4d9", "not_started": "#e4e4e4"}
BAR_COLOUR = "#2e5e8c"
PROGRESS = ("submitted", "in_progress", "not_started")
_LOCK = threading.Lock()  # rcParams are global: one figure at a time
_MM = 1 / 25.4


@dataclass(frozen=True)
class Chart:
    """One picture: its file name stem, title, PNG, size and every text drawn on it."""

    name: str  # "tien-do", or the question's id
    title: str
    note: str  # the caption's sentence: whose figures, how many shown
    png: bytes
    width_mm: float
    height_mm: float
    labels: tuple[str, ...]  # title, axis, tick, bar and legend texts, as drawn

    @property
    def filename(self) -> str:
        return f"{self.name}.png"


@dataclass(frozen=True)
class Charts:
    """The pictures of one Report: the progress and one per charted question."""

    progress: Chart
    questions: dict[str, Chart] = field(default_factory=dict)

    def all(self) -> list[Chart]:
        return [self.progress, *self.questions.values()]


def say(key: str, **context: Any) -> str:
    return texts.render(f"chart.{key}", "plain", **context)


def report_charts(report: Report) -> Charts:
    """Return the progress chart and the chart of every question marked ``chart:``."""
    reported, total = len(report.reported), len(report.units)
    tz = report.spec.deadline.tzinfo
    when = report.generated_at.astimezone(tz) if tz else report.generated_at
    note = say("progress_note", date=texts.vn_date(when.date()), reported=reported, total=total)
    progress = progress_chart(((r.group, r.status) for r in report.units), note)
    questions = {}
    for section in report.sections:
        for summary in section.questions:
            if summary.question.chart:
                chart = question_chart(summary, report)
                if chart is not None:
                    questions[summary.question.id] = chart
    return Charts(progress, questions)


def progress_chart(units: Iterable[tuple[str | None, str]], note: str = "") -> Chart:
    """Return the progress chart of units given as (group or None, status)."""
    groups: dict[str, dict[str, int]] = {}
    units = list(units)
    grouped = any(group for group, _ in units)
    for group, status in units:
        name = (group or say("no_group")) if grouped else say("all_units")
        kind = ("submitted" if status in REPORTED else
                "not_started" if status == "not_started" else "in_progress")
        counts = groups.setdefault(name, dict.fromkeys(PROGRESS, 0))
        counts[kind] += 1
    names = list(groups)
    legend = [say(kind) for kind in PROGRESS]
    title = say("progress_title")

    def draw(ax: Axes) -> list[str]:
        left = [0] * len(names)
        drawn = []
        rows = list(range(len(names)))[::-1]
        for kind, label in zip(PROGRESS, legend, strict=True):
            widths = [groups[n][kind] for n in names]
            bars = ax.barh(rows, widths, left=left, color=COLOURS[kind], edgecolor="black",
                           linewidth=0.5, label=label, height=0.6)
            words = [texts.vn_int(w) if w else "" for w in widths]
            ax.bar_label(bars, labels=words, label_type="center", fontsize=FONT_PT,
                         color="white" if kind == "submitted" else "black")
            drawn += [w for w in words if w]
            left = [a + b for a, b in zip(left, widths, strict=True)]
        ax.set_yticks(rows, [_wrap(n, 24) for n in names])
        ax.set_xlim(0, max(left) * 1.02 or 1)
        ax.xaxis.set_major_locator(_integer_locator())
        ax.xaxis.set_major_formatter(_formatter(texts.vn_int))
        ax.set_xlabel(say("units_axis"))
        ax.figure.legend(loc="lower center", ncols=3, frameon=False)
        return drawn

    return _chart("tien-do", title, note, len(names), draw)


def question_chart(summary: QuestionSummary, report: Report) -> Chart | None:
    """Return the chart of one question, None when no unit answered it or its type has none."""
    q = summary.question
    if q.type not in CHART_TYPES or not summary.answered:
        return None
    title = q.chart_title or question_heading(q)
    reported = len(report.reported)
    if q.type in ("yesno", "choice", "multichoice"):
        counts = list(summary.counts)
        if summary.others:
            counts.append((say("other"), len(summary.others)))
        if q.type == "yesno" and not counts:
            return None
        key = "note_counts" if q.type == "multichoice" else "note_count"
        note = say(key, answered=summary.answered, reported=reported)
        return _bars(q.id, title, note, counts, texts.vn_int, say("option_axis"), integer=True)
    given = [(r.name, _number(r.answers[q.id])) for r in report.reported
             if not is_empty(r.answers.get(q.id))]
    lowest = q.type == "percent"
    shown = 0
    if len(given) > MAX_BARS:
        ranked = sorted(range(len(given)), key=lambda i: given[i][1], reverse=not lowest)
        keep = set(ranked[:MAX_BARS])
        given = [g for i, g in enumerate(given) if i in keep]
        shown = MAX_BARS
    note = say("note", answered=summary.answered, reported=reported, shown=shown, lowest=lowest)
    return _values(q, title, note, given)


def _number(value: Any) -> Decimal:
    return Decimal(str(value))


def _values(q: Question, title: str, note: str, given: list[tuple[str, Decimal]]) -> Chart:
    """Return the bars of each unit's value of a number, percent or money question."""
    if q.type == "percent":
        return _bars(q.id, title, note, given, lambda v: say("percent_value", value=_dec(v)),
                     say("percent_axis"), limit=Decimal(100))
    if q.type == "money":
        top = max((abs(v) for _, v in given), default=Decimal(0))
        scale, key = ((Decimal(10) ** 9, "scale_billion") if top >= 10 ** 10 else
                      (Decimal(10) ** 6, "scale_million") if top >= 10 ** 6 else
                      (Decimal(1), "scale_dong"))
        scaled = [(name, v / scale) for name, v in given]
        return _bars(q.id, title, note, scaled, _dec, say("money_axis", scale=say(key)))
    return _bars(q.id, title, note, given, _dec, say("number_axis", unit=q.unit or ""),
                 integer=q.type == "integer")


def _dec(value: Any) -> str:
    """Return a figure in Vietnamese notation with at most two decimals: 1.525,5."""
    number = Decimal(str(value)).quantize(Decimal("0.01"))
    return texts.vn_dec(number.normalize() if number != number.to_integral() else int(number))


def _bars(name: str, title: str, note: str, items: Sequence[tuple[str, Any]],
          label: Any, axis: str, integer: bool = False, limit: Decimal | None = None) -> Chart:
    """Return a horizontal bar chart, the first item at the top, each bar labelled."""

    def draw(ax: Axes) -> list[str]:
        rows = list(range(len(items)))[::-1]
        values = [float(v) for _, v in items]
        bars = ax.barh(rows, values, color=BAR_COLOUR, edgecolor="black", linewidth=0.5,
                       height=0.6)
        words = [label(v) for _, v in items]
        ax.bar_label(bars, labels=words, padding=3, fontsize=FONT_PT)
        ax.set_yticks(rows, [_wrap(n, 30) for n, _ in items])
        high = float(limit) if limit is not None else max([*values, 0.0])
        low = min([*values, 0.0])
        ax.set_xlim(low * 1.18, (high * 1.18) or 1)  # room for the labels after the bars
        if limit is not None:
            ax.set_xticks([float(limit) * i / 5 for i in range(6)])
        elif integer:
            ax.xaxis.set_major_locator(_integer_locator())
        ax.xaxis.set_major_formatter(_formatter(_dec))
        ax.set_xlabel(axis)
        return words

    return _chart(name, title, note, len(items), draw)


def _wrap(text: str, width: int) -> str:
    lines = textwrap.wrap(text, width) or [text]
    if len(lines) > 2:
        lines = [lines[0], textwrap.shorten(" ".join(lines[1:]), width, placeholder="…")]
    return "\n".join(lines)


def _integer_locator() -> Any:
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def _formatter(label: Any) -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda value, _position: label(Decimal(str(round(float(value), 6)))))


@cache
def chart_font() -> str:
    """Return the first font of FONTS that matplotlib finds with every Vietnamese letter."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    for family in FONTS:
        try:
            path = font_manager.findfont(font_manager.FontProperties(family=family),
                                         fallback_to_default=False)
        except ValueError:
            continue
        charmap = FT2Font(path).get_charmap()
        if all(ord(ch) in charmap for ch in VIETNAMESE if not ch.isspace()):
            return family
    raise RuntimeError(f"no font with Vietnamese letters among {', '.join(FONTS)}")


def _chart(name: str, title: str, note: str, rows: int, draw: Any) -> Chart:
    """Draw a figure of `rows` bars with `draw(ax)` and return it as a PNG Chart.

    The margins are measured from the texts (Times New Roman metrics, with room to spare for
    a wider fallback font) rather than by matplotlib's constrained layout, which draws every
    text once more: a third of a chart's time.
    """
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    settings: dict[Any, Any] = {
        "font.family": chart_font(), "font.size": FONT_PT, "axes.spines.top": False,
        "axes.spines.right": False, "axes.titlesize": TITLE_PT, "axes.titleweight": "bold",
        "axes.unicode_minus": False}
    wrapped = _wrap_title(title)
    with _LOCK, rc_context(settings):
        figure = Figure(figsize=(WIDTH_MM * _MM, 100 * _MM), dpi=DPI)
        FigureCanvasAgg(figure)
        ax = figure.add_subplot()
        drawn = draw(ax)
        ax.set_title(wrapped, loc="center")
        ax.grid(axis="x", color="#bbbbbb", linewidth=0.5)
        ax.set_axisbelow(True)
        names = [t.get_text() for t in ax.get_yticklabels()]
        legends = [t.get_text() for legend in figure.legends for t in legend.get_texts()]
        top = TITLE_MM * (wrapped.count("\n") + 1) + 4
        bottom = 14 + (LEGEND_MM if legends else 0)
        height = top + bottom + BAR_MM * max(rows, 1)
        left = max((_width_mm(line) for n in names for line in n.split("\n")), default=0) + 5
        figure.set_size_inches(WIDTH_MM * _MM, height * _MM)
        figure.subplots_adjust(left=left / WIDTH_MM, right=1 - RIGHT_MM / WIDTH_MM,
                               top=1 - top / height, bottom=bottom / height)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
        shown = [t.get_text() for t in ax.get_xticklabels()] + names + legends
        labels = (wrapped, ax.get_xlabel(), *shown, *drawn)
    return Chart(name, title, note, buffer.getvalue(), WIDTH_MM, height,
                 tuple(t for t in labels if t))


def _width_mm(text: str) -> float:
    """Return the printed width of a tick label, with 15 % to spare for a wider font."""
    return text_width(text, FONT_PT * 2) / 56.7 * 1.15  # twips per mm


def _wrap_title(title: str) -> str:
    return "\n".join(textwrap.wrap(title, 66)[:3]) or title
