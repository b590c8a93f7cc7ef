"""Seconds to compile a round of 100, 300 and 1,000 units x 40 questions, and how they grow.

For each size, a synthetic round (a fixed random seed) is compiled stage by stage:
`aggregate` (the Report), `render_consolidated` (the consolidated .docx), `write_xlsx`
(du-lieu.xlsx) and `summary_message` (the HTML message, split under 4096 characters);
`reportbot compile` also writes the CSV and each unit's own report, not timed here. Each
stage's time is the median of --repeat runs; the total is the median of the runs' totals.
Then, per size step, the growth factor of each time next to the factor of the units
(300/100 = 3.0, 1000/300 = 3.33): at or below it, the stage grows no worse than linearly.
Beside it, the floor of the same run: a bare docxtpl render of the same template and context
(the charts already drawn, as pictures; no layout pass, docxtpl's own environment) plus an
openpyxl write-only workbook of the same cells (read back from the du-lieu.xlsx just written,
outside the timing). Issue #13 asks, at 1,000 units, total <= 2 s or <= 2x the floor.

The questionnaire has 40 questions in 5 sections and every answer type (money, integer,
percent, number, date, yesno, choice, multichoice with "other", documents of 1-3 items, list,
file, text, longtext of realistic Vietnamese sentences of varied length), some shown only on a
condition; four key figures are marked ``chart: true``, so the docx stage draws five charts (the
progress and those four, bot/documents/charts.py) and embeds them. Answers are built directly
as `Sheet` values (the JSON-able forms of bot/questionnaire.py): most units submitted, a few
edited, in progress or not started.

    python benchmarks/compile.py [--sizes 100,300,1000] [--repeat 3] [--seed 2023]
                                 [--keep DIR] [--profile 1000]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import json
import pstats
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from docx.shared import Mm
from docxtpl import DocxTemplate, InlineImage
from openpyxl import Workbook, load_workbook

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.campaigns.campaign import load_campaign_text  # noqa: E402
from bot.campaigns.spec import CampaignSpec  # noqa: E402
from bot.compile import aggregate, summary_message  # noqa: E402
from bot.documents.charts import Chart, report_charts  # noqa: E402
from bot.documents.context import consolidated_context  # noqa: E402
from bot.documents.export import write_xlsx  # noqa: E402
from bot.documents.reports import CONSOLIDATED_TEMPLATE, render_consolidated  # noqa: E402
from bot.model import Sheet, UnitStatus  # noqa: E402
from bot.paths import templates_dir  # noqa: E402
from bot.questionnaire import Question  # noqa: E402

STAGES = ("aggregate", "docx", "xlsx", "summary")
FLOOR = ("floor_docx", "floor_xlsx")
TARGET_SECONDS = 2.0
TARGET_FACTOR = 2.0
NOW = datetime(2023, 10, 30, 3, 0, tzinfo=UTC)

COVID = "phòng, chống dịch COVID-19"
TT_OPTIONS = ["Hội nghị", "Trang thông tin điện tử", "Mạng xã hội (Zalo/Facebook)",
              "Pa nô và áp phích", "Lồng ghép trong sinh hoạt chuyên môn"]
IT_OPTIONS = ["Bluezone/PC-Covid", "Mã QR Code", "Khai báo y tế điện tử", "Họp trực tuyến",
              "Dịch vụ công trực tuyến"]
# (id, type, question, other keys); a section starts at each "section" row. 40 questions.
QUESTIONS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("section", "", "I. Đặc điểm, tình hình", {}),
    ("thuan_loi", "longtext", "Xin anh/chị cho biết những thuận lợi của đơn vị khi triển khai "
     "phong trào.", {}),
    ("kho_khan", "longtext", "Đơn vị gặp những khó khăn, hạn chế gì trong quá trình thực hiện "
     "phong trào?", {}),
    ("so_can_bo", "integer", "Tổng số cán bộ, công chức, viên chức và người lao động của đơn vị "
     "là bao nhiêu người?", {"unit": "người", "min": 1}),
    ("dien_tich", "number", "Diện tích trụ sở làm việc của đơn vị là bao nhiêu mét vuông?",
     {"unit": "m2"}),
    ("ten_thu_truong", "text", "Họ tên thủ trưởng đơn vị?", {}),
    ("section", "", "II. Công tác triển khai thực hiện", {}),
    ("co_ke_hoach", "yesno", "Đơn vị có ban hành kế hoạch triển khai phong trào không?", {}),
    ("van_ban_chi_dao", "documents", "Xin liệt kê các kế hoạch, văn bản chỉ đạo đơn vị đã ban "
     "hành (mỗi văn bản gửi một tin nhắn).", {"when": {"id": "co_ke_hoach", "equals": True}}),
    ("ngay_phat_dong", "date", "Đơn vị phát động phong trào thi đua vào ngày nào?",
     {"required": False}),
    ("ngay_so_ket", "date", "Đơn vị tổ chức sơ kết phong trào vào ngày nào?",
     {"aggregate": "min"}),
    ("tuyen_truyen", "longtext", "Xin anh/chị tóm tắt công tác tuyên truyền, phổ biến phong "
     "trào tại đơn vị.", {}),
    ("hinh_thuc_tt", "multichoice", "Đơn vị đã tuyên truyền qua những hình thức nào? (có thể "
     "chọn nhiều)", {"options": TT_OPTIONS, "other": True, "chart": True}),
    ("kenh_chinh", "choice", "Kênh chỉ đạo chủ yếu của đơn vị là gì?",
     {"options": ["Văn bản giấy", "Hệ thống quản lý văn bản điều hành", "Thư điện tử công vụ",
                  "Nhóm Zalo"]}),
    ("so_hoi_nghi", "integer", "Đơn vị đã tổ chức bao nhiêu hội nghị quán triệt?",
     {"unit": "hội nghị", "min": 0}),
    ("ty_le_tham_gia", "percent", "Tỷ lệ cán bộ tham gia các hội nghị quán triệt là bao nhiêu "
     "phần trăm?", {"min": 0, "max": 100}),
    ("section", "", "III. Kết quả đạt được", {}),
    ("ty_le_tiem", "percent", "Tỷ lệ cán bộ, công chức của đơn vị đã tiêm vắc xin phòng "
     "COVID-19 là bao nhiêu phần trăm?", {"min": 0, "max": 100, "chart": True}),
    ("ty_le_hoan_thanh", "percent", "Tỷ lệ hoàn thành chỉ tiêu thi đua của đơn vị là bao nhiêu "
     "phần trăm?", {"aggregate": "min"}),
    ("ung_ho_tien", "money", f"Tổng số tiền đơn vị đã ủng hộ công tác {COVID} là bao nhiêu?",
     {"min": 0, "chart": True}),
    ("gia_tri_hien_vat", "money", "Tổng giá trị các hiện vật đã ủng hộ (quy ra tiền) khoảng bao "
     "nhiêu?", {"required": False, "min": 0}),
    ("kinh_phi", "money", "Kinh phí đơn vị đã chi cho phong trào là bao nhiêu?",
     {"aggregate": "max"}),
    ("ngay_cong", "integer", "Cán bộ của đơn vị đã đóng góp bao nhiêu ngày công?",
     {"unit": "ngày công", "required": False}),
    ("diem_tu_cham", "number", "Điểm tự chấm của đơn vị theo bảng tiêu chí là bao nhiêu?",
     {"unit": "điểm"}),
    ("van_ban_chuyen_nganh", "documents", f"Xin liệt kê từng văn bản chuyên ngành về {COVID} "
     "đơn vị đã ban hành.", {"required": False}),
    ("ung_ho_hien_vat", "list", "Đơn vị đã ủng hộ những hiện vật, hoạt động hỗ trợ nào? (mỗi "
     "nội dung gửi một tin nhắn)", {"required": False}),
    ("giai_phap_cong_nghe", "multichoice", "Đơn vị đã ứng dụng những giải pháp công nghệ nào "
     "trong phòng, chống dịch? (có thể chọn nhiều)", {"options": IT_OPTIONS, "other": True}),
    ("ket_qua_cong_nghe", "longtext", "Xin mô tả ngắn kết quả ứng dụng công nghệ thông tin "
     "trong phòng, chống dịch tại đơn vị.", {"required": False}),
    ("tu_danh_gia", "choice", "Đơn vị tự đánh giá mức độ hoàn thành phong trào thi đua như thế "
     "nào?", {"options": ["Hoàn thành xuất sắc", "Hoàn thành tốt", "Hoàn thành",
                          "Chưa hoàn thành"], "chart": True}),
    ("ngay_hoan_thanh", "date", "Đơn vị hoàn thành các chỉ tiêu vào ngày nào?", {}),
    ("mo_hinh", "list", "Xin nêu các mô hình, cách làm hay của đơn vị (mỗi mô hình gửi một tin "
     "nhắn).", {}),
    ("minh_chung", "file", "Xin gửi các tệp minh chứng (ảnh, bản scan).", {"required": False}),
    ("section", "", "IV. Tồn tại, hạn chế và nguyên nhân", {}),
    ("ton_tai", "longtext", "Xin nêu những tồn tại, hạn chế của đơn vị.", {}),
    ("nguyen_nhan", "longtext", "Nguyên nhân của những tồn tại, hạn chế đó là gì?",
     {"required": False}),
    ("bai_hoc", "text", "Bài học kinh nghiệm chủ yếu rút ra là gì?", {}),
    ("co_vuong_mac", "yesno", "Đơn vị còn vướng mắc cần tháo gỡ không?", {}),
    ("vuong_mac", "text", "Xin nêu vướng mắc chính của đơn vị.",
     {"when": {"id": "co_vuong_mac", "equals": True}}),
    ("section", "", "V. Đề xuất, kiến nghị", {}),
    ("de_xuat", "longtext", "Đơn vị có đề xuất, kiến nghị gì với UBND tỉnh và Sở Nội vụ không?",
     {"required": False}),
    ("de_nghi_khen", "yesno", "Đơn vị có đề nghị khen thưởng không?", {}),
    ("so_tap_the", "integer", "Đơn vị đề nghị khen thưởng bao nhiêu tập thể?",
     {"unit": "tập thể", "min": 0, "when": {"id": "de_nghi_khen", "equals": True}}),
    ("so_ca_nhan", "integer", "Đơn vị đề nghị khen thưởng bao nhiêu cá nhân?",
     {"unit": "cá nhân", "min": 0, "when": {"id": "de_nghi_khen", "equals": True}}),
    ("hinh_thuc_khen", "multichoice", "Hình thức khen thưởng đề nghị? (có thể chọn nhiều)",
     {"options": ["Bằng khen của Thủ tướng Chính phủ", "Bằng khen của Chủ tịch UBND tỉnh",
                  "Giấy khen của Giám đốc Sở"], "when": {"id": "de_nghi_khen", "equals": True}}),
    ("ghi_chu", "text", "Ghi chú thêm (nếu có).", {"required": False}),
]

SENTENCES = (
    "Được sự chỉ đạo, lãnh đạo kịp thời của Đảng ủy và lãnh đạo đơn vị, công chức, viên chức đã "
    "phát huy tinh thần trách nhiệm trong thực hiện nhiệm vụ.",
    "Công chức, viên chức và người lao động đoàn kết, giúp đỡ nhau cùng hoàn thành nhiệm vụ.",
    "Khối lượng công việc tăng nhiều trong thời gian dịch bệnh nên một số nhiệm vụ chưa bảo đảm "
    "tiến độ.",
    "Nhân lực còn mỏng, nhiều cán bộ phải kiêm nhiệm, làm việc liên tục, dài ngày tại khu cách ly.",
    "Kinh phí dành cho công tác phòng, chống dịch còn hạn chế, chưa đáp ứng kịp nhu cầu thực tế.",
    "Đơn vị phối hợp với Công đoàn cơ sở và Đoàn Thanh niên hưởng ứng Kế hoạch của UBND tỉnh.",
    "Các phòng, đơn vị trực thuộc căn cứ tình hình thực tế kịp thời phát động thi đua với nội "
    "dung, tiêu chí cụ thể, hình thức phù hợp, thiết thực.",
    "Tuyên truyền trên Trang thông tin điện tử, bản tin nội bộ và các nhóm Zalo của cơ quan.",
    "100% công chức, viên chức cài đặt PC-Covid và khai báo y tế điện tử theo quy định.",
    "Treo mã QR Code tại trụ sở, hội trường và phòng họp để người đến liên hệ công tác quét mã.",
    "Giải quyết thủ tục hành chính trên môi trường điện tử, hạn chế tập trung đông người.",
    "Một số cán bộ chưa chủ động cập nhật thông tin, báo cáo còn chậm so với thời hạn yêu cầu.",
    "Cơ sở vật chất, trang thiết bị phục vụ họp trực tuyến chưa đồng bộ, đường truyền có lúc "
    "không ổn định.",
    "Đề nghị UBND tỉnh quan tâm bố trí kinh phí hỗ trợ cho lực lượng trực tiếp tham gia phòng, "
    "chống dịch ở cơ sở.",
    "Cần tăng cường phối hợp giữa các sở, ngành và địa phương trong chia sẻ dữ liệu.",
    "Phong trào đã tạo sự chuyển biến mạnh mẽ về nhận thức, quyết tâm cao hơn trong hành động "
    "của cán bộ, đảng viên.",
    "Nhiều tập thể, cá nhân tiêu biểu được biểu dương, khen thưởng kịp thời, tạo khí thế thi đua "
    "sôi nổi.",
    "Việc sơ kết, đánh giá phong trào được thực hiện nghiêm túc, đúng quy định.",
    "Trong đợt dịch thứ 4, số ca mắc tăng nhanh gây áp lực rất lớn lên hệ thống khám, chữa bệnh.",
    "Đơn vị đã vận động cán bộ ủng hộ một ngày lương vào Quỹ phòng, chống dịch COVID-19 của tỉnh.",
    "Siết chặt kỷ luật, kỷ cương hành chính; thực hiện nghiêm thông điệp 5K của Bộ Y tế.",
    "Thường xuyên kiểm tra, đôn đốc việc thực hiện các biện pháp phòng, chống dịch tại các "
    "công trường xây dựng trên địa bàn tỉnh.",
)
PHRASES = ("Tăng cường kiểm tra, giám sát", "Phát huy vai trò người đứng đầu",
           "Chủ động, linh hoạt trong chỉ đạo", "Làm tốt công tác dân vận",
           "Kịp thời khen thưởng điển hình", "Ứng dụng công nghệ thông tin")
ITEMS = ("May quần áo ủng hộ các bác sĩ tuyến đầu chống dịch tại Thành phố Hồ Chí Minh",
         "Tặng 500 phần quà cho người dân tại các khu cách ly tập trung",
         "Hỗ trợ gạo, mì tôm cho công nhân lao động gặp khó khăn",
         "Ủng hộ máy tính bảng cho học sinh học trực tuyến",
         "Trực chốt kiểm soát dịch tại cửa ngõ ra vào tỉnh",
         "Mô hình “ATM gạo” hỗ trợ người dân khó khăn",
         "Tổ công tác hỗ trợ tiêm chủng lưu động cho người cao tuổi")
KINDS = ("Kế hoạch", "Công văn", "Quyết định", "Thông báo", "Chỉ thị")
SUMMARIES = ("tổ chức thực hiện Phong trào thi đua đặc biệt “Quảng Ngãi đoàn kết, chung sức, "
             "đồng lòng thi đua phòng, chống và chiến thắng đại dịch Covid-19”",
             "về việc tăng cường phòng, chống dịch Covid-19 tại các công trường xây dựng",
             "về việc thành lập Ban Chỉ đạo phòng, chống dịch COVID-19 của cơ quan",
             "triển khai các biện pháp thích ứng an toàn, linh hoạt, kiểm soát hiệu quả dịch",
             None)
FIRST = ("Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Võ", "Đặng", "Bùi")
MIDDLE = ("Văn", "Thị", "Hữu", "Minh", "Thanh", "Quốc")
LAST = ("Hồng", "Hùng", "Lan", "Tuấn", "Hạnh", "Dũng", "Phương", "Nam")
UNIT_KINDS = ("Sở", "UBND huyện", "Ban Quản lý", "Trung tâm", "Phòng")


def questionnaire_yaml() -> list[str]:
    """Return the questionnaire as YAML lines (values written as JSON, which YAML reads)."""
    lines = ["questionnaire:", "  sections:"]
    for qid, kind, ask, more in QUESTIONS:
        if qid == "section":
            lines += [f"    - title: {json.dumps(ask, ensure_ascii=False)}", "      questions:"]
            continue
        fields = {"id": qid, "type": kind, "ask": ask, **more}
        lines.append(f"        - {json.dumps(fields, ensure_ascii=False)}")
    return lines


def campaign_text(units: int) -> str:
    """Return the campaign YAML: the 40-question questionnaire and `units` units."""
    head = [
        'title: "Báo cáo tổng kết phong trào thi đua phòng, chống dịch COVID-19"',
        "request: Công văn số 1918/SNV-TĐKT ngày 17/10/2023 của Sở Nội vụ",
        "agency: {parent: UBND TỈNH QUẢNG NGÃI, name: SỞ NỘI VỤ, code: SNV, place: Quảng Ngãi}",
        "deadline: 2023-10-31 17:00",
        "period: {from: 2021-09-10, to: 2023-10-15}",
    ]
    rows = [f"  - {{code: U{u:04d}, name: {UNIT_KINDS[u % len(UNIT_KINDS)]} số {u + 1}, "
            f"group: Khối {u % 7 + 1}}}" for u in range(units)]
    return "\n".join([*head, *questionnaire_yaml(), "units:", *rows]) + "\n"


def _prose(rng: random.Random, low: int, high: int, paragraphs: bool) -> str:
    sentences = [rng.choice(SENTENCES) for _ in range(rng.randint(low, high))]
    if paragraphs and len(sentences) > 3 and rng.random() < 0.4:
        cut = rng.randint(1, len(sentences) - 1)
        return " ".join(sentences[:cut]) + "\n" + " ".join(sentences[cut:])
    return " ".join(sentences)


def _day(rng: random.Random, start: date, span: int) -> str:
    return (start + timedelta(days=rng.randrange(span))).isoformat()


def _documents(rng: random.Random, code: str) -> list[dict[str, Any]]:
    return [{"kind": rng.choice(KINDS), "number": f"{rng.randint(1, 2999)}/KH-{code}",
             "date": _day(rng, date(2021, 9, 1), 700) if rng.random() < 0.9 else None,
             "summary": rng.choice(SUMMARIES)} for _ in range(rng.randint(1, 3))]


def _choice(rng: random.Random, q: Question, many: bool) -> dict[str, Any]:
    if many:
        picked = [o for o in q.options if rng.random() < 0.5] or [q.options[0]]
    else:
        picked = [rng.choice(q.options)]
    other = rng.choice(PHRASES) if q.other and rng.random() < 0.3 else None
    return {"selected": picked, "other": other}


def answer(rng: random.Random, q: Question, code: str) -> Any:
    """Return a plausible stored value (the JSON-able form) for one question."""
    if not q.required and rng.random() < 0.15:
        return None  # skipped
    kind = q.type
    if kind == "longtext":
        return _prose(rng, 1, 8, True)
    if kind == "text":
        return rng.choice([*PHRASES, " ".join((rng.choice(FIRST), rng.choice(MIDDLE),
                                              rng.choice(LAST))), rng.choice(SENTENCES)])
    if kind == "integer":
        return rng.randint(0, 2500) if q.unit == "người" else rng.randint(0, 60)
    if kind == "money":
        return rng.choice((0, rng.randint(1, 900) * 100_000, rng.randint(1, 3000) * 1_000_000))
    if kind == "percent":
        return "100" if rng.random() < 0.3 else f"{rng.randint(600, 999) / 10:.1f}"
    if kind == "number":
        return f"{rng.randint(100, 90000) / 10:.1f}"
    if kind == "date":
        return _day(rng, date(2021, 9, 10), 760)
    if kind == "yesno":
        return rng.random() < 0.8
    if kind in ("choice", "multichoice"):
        return _choice(rng, q, kind == "multichoice")
    if kind == "documents":
        return _documents(rng, code)
    if kind == "list":
        return [rng.choice(ITEMS) for _ in range(rng.randint(1, 4))]
    if kind == "file":
        return [{"name": f"minh-chung-{i + 1}.jpg", "mime": "image/jpeg",
                 "size": rng.randint(50_000, 900_000), "file_id": f"F{code}{i}"}
                for i in range(rng.randint(1, 3))]
    raise ValueError(kind)


def make_sheets(spec: CampaignSpec, seed: int) -> list[Sheet]:
    """Return every unit's sheet: ~85% submitted, ~5% edited, ~6% in progress, ~4% not started."""
    rng = random.Random(seed)
    questions = spec.questionnaire.questions
    sheets = []
    for unit in spec.units:
        roll = rng.random()
        status: UnitStatus = ("submitted" if roll < 0.85 else "edited" if roll < 0.90
                              else "in_progress" if roll < 0.96 else "not_started")
        answers: dict[str, Any] = {}
        if status != "not_started":
            stop = len(questions) if status != "in_progress" else rng.randrange(1, len(questions))
            for q in questions[:stop]:
                if spec.questionnaire.is_visible(q, answers):
                    answers[q.id] = answer(rng, q, unit.code)
        submitted = (NOW - timedelta(minutes=rng.randrange(20_000))
                     if status in ("submitted", "edited") else None)
        sheets.append(Sheet(unit.code, unit.name, unit.group, status, answers, submitted))
    return sheets


def run_once(spec: CampaignSpec, sheets: list[Sheet], folder: Path) -> dict[str, float]:
    """Compile once, stage by stage; return each stage's seconds."""
    times: dict[str, float] = {}

    def timed(stage: str, work: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        result = work()
        times[stage] = time.perf_counter() - started
        return result

    report = timed("aggregate", lambda: aggregate(spec, sheets, NOW))
    timed("docx", lambda: render_consolidated(report, folder / "bao-cao-tong-hop.docx"))
    timed("xlsx", lambda: write_xlsx(spec, sheets, folder / "du-lieu.xlsx"))
    parts = timed("summary", lambda: summary_message(report, "html"))
    if not parts:
        raise SystemExit("empty summary message")
    return times


def floor_once(spec: CampaignSpec, sheets: list[Sheet], folder: Path) -> dict[str, float]:
    """Time the floor: bare docxtpl on the same context, openpyxl write-only of the same cells."""
    report = aggregate(spec, sheets, NOW)
    context = consolidated_context(report, report_charts(report))
    template = spec.template or templates_dir() / "word" / CONSOLIDATED_TEMPLATE
    written = folder / "du-lieu.xlsx"
    if not written.exists():
        write_xlsx(spec, sheets, written)
    cells = _cells(written)
    times: dict[str, float] = {}
    started = time.perf_counter()
    document = DocxTemplate(str(template))
    _bare_pictures(document, context)
    document.render(context, autoescape=True)
    document.save(str(folder / "floor.docx"))
    times["floor_docx"] = time.perf_counter() - started
    started = time.perf_counter()
    book = Workbook(write_only=True)
    for title, rows in cells:
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(folder / "floor.xlsx")
    times["floor_xlsx"] = time.perf_counter() - started
    return times


def _cells(path: Path) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """Return every sheet's title and rows of values of a workbook."""
    book = load_workbook(path, read_only=True)
    try:
        return [(ws.title, [tuple(r) for r in ws.iter_rows(values_only=True)])
                for ws in book.worksheets]
    finally:
        book.close()


def _bare_pictures(document: DocxTemplate, context: dict[str, Any]) -> None:
    """Turn the context's drawn charts into plain docxtpl InlineImages."""

    def picture(value: Any) -> Any:
        if not isinstance(value, Chart):
            return value
        return InlineImage(document, io.BytesIO(value.png), width=Mm(value.width_mm))

    context["progress_chart"] = picture(context.get("progress_chart"))
    for section in context.get("sections", ()):
        for clause in section.get("clauses", ()):
            if "chart" in clause:
                clause["chart"] = picture(clause["chart"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,300,1000", help="units per round, comma-separated")
    parser.add_argument("--repeat", type=int, default=3, help="runs per size; medians shown")
    parser.add_argument("--seed", type=int, default=2023)
    parser.add_argument("--keep", type=Path, help="write the outputs of the last run here")
    parser.add_argument("--profile", type=int, metavar="UNITS",
                        help="instead, cProfile one compile of this many units")
    args = parser.parse_args()
    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    if args.profile:
        spec = load_campaign_text("bench.yaml", campaign_text(args.profile), tz)
        sheets = make_sheets(spec, args.seed)
        with tempfile.TemporaryDirectory() as tmp:
            run_once(spec, sheets, Path(tmp))  # warm-up: templates compiled, caches filled
            profiler = cProfile.Profile()
            profiler.enable()
            run_once(spec, sheets, Path(tmp))
            profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
        return

    sizes = [int(s) for s in args.sizes.split(",")]
    medians: dict[int, dict[str, float]] = {}
    reported: dict[int, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        warm = load_campaign_text("bench.yaml", campaign_text(10), tz)
        run_once(warm, make_sheets(warm, args.seed), folder)  # templates compiled; not counted
        for size in sizes:  # one round alive at a time, as in `reportbot compile`
            spec = load_campaign_text("bench.yaml", campaign_text(size), tz)
            sheets = make_sheets(spec, args.seed)
            reported[size] = sum(1 for s in sheets if s.status in ("submitted", "edited"))
            runs, floors = [], []
            for _ in range(args.repeat):  # alternating, so both see the same machine
                runs.append(run_once(spec, sheets, folder))
                floors.append(floor_once(spec, sheets, folder))
            medians[size] = {s: statistics.median(r[s] for r in runs) for s in STAGES}
            medians[size]["total"] = statistics.median(sum(r.values()) for r in runs)
            medians[size].update({s: statistics.median(f[s] for f in floors) for s in FLOOR})
            medians[size]["floor"] = statistics.median(sum(f.values()) for f in floors)
            del spec, sheets, runs

    form = warm.questionnaire
    print(f"compile of a round ({len(form.questions)} questions in {len(form.sections)} sections, "
          f"synthetic answers, seed {args.seed}; units reported: "
          + ", ".join(f"{reported[n]}/{n}" for n in sizes)
          + f"): median seconds of {args.repeat} runs per stage, after a warm-up; aggregate = "
          "aggregate(), docx = render_consolidated(), xlsx = write_xlsx(), summary = "
          "summary_message(html)")
    shown = (*STAGES, "total", *FLOOR, "floor")
    header = "".join(f"{s:>11}" for s in shown)
    print(f"{'units':<10}{header}")
    for size in sizes:
        line = "".join(f"{medians[size][s]:11.3f}" for s in shown)
        print(f"{size:<10d}{line}")
    print("growth factor per size step (time of the larger / time of the smaller):")
    for small, big in itertools.pairwise(sizes):
        line = "".join(f"{medians[big][s] / medians[small][s]:11.2f}"
                       for s in (*STAGES, "total"))
        print(f"{f'{big}/{small}':<10}{line}   linear: {big / small:.2f}")
    total, floor = medians[sizes[-1]]["total"], medians[sizes[-1]]["floor"]
    factor = total / floor
    verdict = "ok" if total <= TARGET_SECONDS or factor <= TARGET_FACTOR else "OVER"
    print(f"floor = bare docxtpl render of the same context + openpyxl write-only of the same "
          f"cells; target at {sizes[-1]} units: total <= {TARGET_SECONDS:.0f} s or <= "
          f"{TARGET_FACTOR:.0f}x the floor: {total:.2f} s, floor {floor:.2f} s, "
          f"{factor:.2f}x {verdict}")


if __name__ == "__main__":
    main()
