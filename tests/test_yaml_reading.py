"""Reading the YAML people write, when it is hostile or simply wrong: aliases, tags, syntax
errors, flow mappings (bot/campaigns/yaml_tree.py through bot/campaigns/campaign.py)."""

from __future__ import annotations

import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.campaigns.campaign import check_file, load_campaign_text
from bot.campaigns.checks import PARAMS, CampaignFileError, Problem
from tests.conftest import SMALL_CAMPAIGN
from tests.test_cli import reportbot

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
ENGLISH = re.compile(r"\b(found|expected|while|allowed|character|stream|mapping|token)\b")


def refused(text: str, name: str = "x.yaml") -> list[str]:
    """Return the lines a chat attachment's problems are told in."""
    with pytest.raises(CampaignFileError) as info:
        load_campaign_text(name, text, TZ)
    for problem in info.value.problems:
        assert set(problem.params) == set(PARAMS[problem.code]), problem
    return str(info.value).splitlines()


def only(text: str) -> str:
    """Return the single problem line of a text."""
    lines = refused(text)
    assert len(lines) == 1, lines
    return lines[0]


def questions(lines: list[str]) -> str:
    """Return SMALL_CAMPAIGN with its questionnaire replaced by these question lines."""
    head, _, rest = SMALL_CAMPAIGN.partition("questionnaire:\n")
    units = rest[rest.index("units:"):]
    body = "".join(f"        {line}\n" for line in lines)
    return f"{head}questionnaire:\n  sections:\n    - title: I\n      questions:\n{body}{units}"


# --- a. problems are capped; aliases cannot blow up ------------------------------------------


def test_many_problems_stop_at_fifty_and_say_how_many_more(tmp_path: Path) -> None:
    path = tmp_path / "dot.yaml"
    path.write_text(questions([f"- {{id: Sai-{i}, type: text, ask: A}}" for i in range(120)]),
                    encoding="utf-8")
    result = reportbot(tmp_path, "check", str(path))
    lines = result.stderr.splitlines()
    assert result.returncode == 1
    assert len(lines) == 51
    assert lines[0].startswith(
        'dot.yaml:9: questionnaire.sections[1].questions[1].id: mã câu hỏi "Sai-0"')
    assert lines[-1] == "… và 70 lỗi khác"


def test_alias_bomb_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text("q: &q {id: Bad, type: text, ask: A}\n"
                    f"s: &s {{title: T, questions: [{', '.join(['*q'] * 400)}]}}\n"
                    f"sections: [{', '.join(['*s'] * 400)}]\n", encoding="utf-8")
    assert path.stat().st_size < 5000
    result = reportbot(tmp_path, "check", str(path))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "bomb.yaml:3: tệp có hơn 100.000 giá trị khi mở rộng các bí danh YAML (*tên); "
        "hãy viết ít bí danh hơn"]


def test_aliases_under_the_limit_give_fifty_problems_and_a_count(tmp_path: Path) -> None:
    path = tmp_path / "q.yaml"
    path.write_text("q: &q {id: Bad, type: text, ask: A}\n"
                    f"s: &s {{title: T, questions: [{', '.join(['*q'] * 30)}]}}\n"
                    f"sections: [{', '.join(['*s'] * 30)}]\n", encoding="utf-8")
    with pytest.raises(CampaignFileError) as info:
        check_file(path, TZ)
    lines = str(info.value).splitlines()
    assert len(lines) == 51
    assert lines[-1] == "… và 852 lỗi khác"


def test_merge_key_bomb_is_refused() -> None:
    text = "a0: &a0 {k: 1}\n" + "".join(
        f"a{i}: &a{i} {{<<: [*a{i - 1}, *a{i - 1}]}}\n" for i in range(1, 17))
    assert re.match(r"x\.yaml:\d+: tệp có hơn 100\.000 giá trị", only(text))


def test_alias_inside_itself() -> None:
    assert only("title: &t [x, *t]\n") == 'x.yaml:1: bí danh "*t" trỏ vào chính giá trị chứa nó'


def test_deep_nesting() -> None:
    text = "title: " + "[" * 3000 + "]" * 3000 + "\n"
    assert only(text) == "x.yaml:1: các giá trị lồng nhau quá sâu (tối đa 30 cấp)"


def test_merge_keys_let_explicit_keys_win() -> None:
    spec = load_campaign_text("x.yaml", questions([
        "- &base {id: a, type: integer, ask: Số A, min: 0, unit: người}",
        "- {<<: *base, id: b, ask: Số B}",
    ]), TZ)
    b = spec.questionnaire.get("b")
    assert (b.ask, b.min, b.unit) == ("Số B", 0, "người")


# --- d. explicit tags are refused, the loader stays safe --------------------------------------


@pytest.mark.parametrize(("written", "shown"), [
    ("!!python/object/apply:os.system [echo]", "!!python/object/apply:os.system"),
    ("!!str Báo cáo", "!!str"),
    ("!foo Báo cáo", "!foo"),
    ("!!binary aGVsbG8=", "!!binary"),
    ("! Báo cáo", "!"),
])
def test_explicit_tags_are_refused_with_their_line(written: str, shown: str) -> None:
    text = SMALL_CAMPAIGN.replace("title: Đợt thử nghiệm", f"title: {written}")
    assert only(text) == (
        f'x.yaml:1: không dùng được thẻ YAML "{shown}"; hãy bỏ thẻ (phần bắt đầu bằng "!"), '
        "hoặc nếu đây là chữ, hãy đặt giá trị trong dấu ngoặc kép")


def test_every_tag_is_reported_and_nothing_is_constructed(tmp_path: Path) -> None:
    target = tmp_path / "created"
    text = SMALL_CAMPAIGN.replace(
        "title: Đợt thử nghiệm",
        f'title: !!python/object/apply:builtins.open ["{target}", "w"]').replace(
        "code: SXD", "code: !!str SXD")
    lines = refused(text)
    assert [line.split(": ")[0] for line in lines] == ["x.yaml:1", "x.yaml:27"]
    assert not target.exists()
    from bot.campaigns import yaml_tree  # here, so the other tests run on code without the module

    assert issubclass(yaml_tree.Loader, yaml.SafeLoader)


# --- e. syntax errors and bad bytes in Vietnamese, with line and column ----------------------


def test_nul_byte() -> None:
    text = SMALL_CAMPAIGN.replace("title: Đợt thử nghiệm", "title: Đợt thử\x00 nghiệm")
    assert only(text) == ("x.yaml:1: có ký tự điều khiển không in được (U+0000) ở cột 15; "
                          "hãy xoá ký tự này (thường do sao chép từ phần mềm khác)")


def test_tab_indentation() -> None:
    text = SMALL_CAMPAIGN.replace("  - {code: SYT", "\t- {code: SYT")
    assert only(text) == ("x.yaml:28: có ký tự Tab ở cột 1; hãy thụt lề bằng dấu cách, "
                          "không dùng phím Tab")


def test_colon_inside_a_value() -> None:
    text = SMALL_CAMPAIGN.replace("title: Đợt thử nghiệm", "title: Đợt 1: thử nghiệm")
    assert only(text) == (
        'x.yaml:1: dấu hai chấm ":" ở cột 13 không đúng chỗ: nếu giá trị có dấu hai chấm, '
        "hãy đặt giá trị trong dấu ngoặc kép; nếu không, hãy kiểm tra thụt lề của dòng này")


@pytest.mark.parametrize(("text", "line", "start"), [
    ("title: x\nrequest\nagency: y\n", 2, 'thiếu dấu hai chấm ":"'),
    ("a:\n  b: 1\n c: 2\n", 3, "thụt lề không đúng"),
    ("a: b\n- c\n", 2, "thụt lề không đúng"),
    ('title: "abc\nrequest: y\n', 1, 'dấu " mở ở cột 8 chưa được đóng'),
    ("title: 'abc\nrequest: y\n", 1, "dấu ' mở ở cột 8 chưa được đóng"),
    ("a: [x, y\nb: 1\n", 1, 'dấu "[" mở ở cột 4 chưa được đóng, hoặc thiếu dấu phẩy'),
    ("a: {x: 1, y: 2\nb: 1\n", 1, 'dấu "{" mở ở cột 4 chưa được đóng, hoặc thiếu dấu phẩy'),
    ('p: "C:\\Users\\x"\n', 1, 'trong dấu ngoặc kép, dấu "\\" ở cột 7'),
    ('p: "a\\qb"\n', 1, 'trong dấu ngoặc kép, dấu "\\" ở cột 6'),
    ("a: *x\n", 1, 'giá trị bắt đầu bằng "*" hoặc "&" là bí danh YAML ("*x" chưa được khai báo)'),
    ("ask: *Lưu ý*\n", 1, 'giá trị bắt đầu bằng "*" hoặc "&" là bí danh YAML'),
    ("a: &x 1\nb: &x 2\n", 2, 'tên bí danh "&x" được khai báo hai lần'),
    ("a: 1\n---\nb: 2\n", 2, 'tệp chỉ được có một nội dung YAML; hãy bỏ dòng "---"'),
    ("a: |x\n  b\n", 1, 'sau dấu "|" hoặc ">" chỉ được viết'),
    ("a: @b\n", 1, 'giá trị không được bắt đầu bằng ký tự "@" (cột 4)'),
    ("a: `b`\n", 1, 'giá trị không được bắt đầu bằng ký tự "`" (cột 4)'),
    ("a: !<x\n", 1, 'thẻ YAML (bắt đầu bằng "!") viết sai'),
    ("a: [- x]\n", 1, 'thiếu giá trị trước ký tự "-" ở cột 5; nếu ký tự này là một phần'),
    ("a: [x, ]]\n", 1, 'dấu "]" ở cột 9 không đúng chỗ: thừa dấu ngoặc'),
    ("a: b]\nc: ]\n", 2, 'thiếu giá trị trước ký tự "]" ở cột 4'),
    ("%abc\na: 1\n", 2, 'dòng bắt đầu bằng "%" là chỉ thị YAML'),
    ("% 5\na: 1\n", 1, 'dòng bắt đầu bằng "%" là chỉ thị YAML'),
    ("%YAML 2.0\n---\na: 1\n", 1, "lỗi cú pháp YAML ở cột 1; hãy kiểm tra dấu hai chấm, dấu"),
    ("a: 1\x07\n", 1, "có ký tự điều khiển không in được (U+0007) ở cột 5"),
])
def test_yaml_errors_are_told_in_vietnamese(text: str, line: int, start: str) -> None:
    message = only(text)
    prefix = f"x.yaml:{line}: "
    assert message.startswith(prefix + start), message
    vietnamese = message.split(" (chi tiết: ")[0]  # the library's words only as a detail
    assert not ENGLISH.search(vietnamese), message


def test_every_syntax_kind_renders() -> None:
    from bot.campaigns import yaml_tree

    for kind in yaml_tree.SYNTAX_KINDS:
        problem = Problem("x.yaml", 1, "", "yaml_syntax",
                          {"kind": kind, "column": 3, "char": "[", "detail": "d"})
        assert not ENGLISH.search(problem.message().replace("(chi tiết: d)", ""))


# --- f. a comma splitting a value in a flow mapping -------------------------------------------


def test_comma_in_flow_mapping_value_gets_a_quoting_hint() -> None:
    text = SMALL_CAMPAIGN.replace("name: SỞ NỘI VỤ,", "name: SỞ NỘI VỤ, TỈNH QUẢNG NGÃI,")
    assert only(text) == (
        'x.yaml:3: agency.TỈNH QUẢNG NGÃI: khóa "TỈNH QUẢNG NGÃI" không có giá trị: dấu phẩy '
        'trong dấu ngoặc nhọn đã tách giá trị của "name"; nếu dấu phẩy thuộc về giá trị, '
        'hãy đặt giá trị trong dấu ngoặc kép: name: "SỞ NỘI VỤ, TỈNH QUẢNG NGÃI"')


def test_comma_in_inline_unit_name() -> None:
    text = SMALL_CAMPAIGN.replace("name: Sở Xây dựng}", "name: Sở Xây dựng, Giao thông}")
    message = only(text)
    assert message.startswith('x.yaml:27: units[1].Giao thông: khóa "Giao thông" không có giá trị')
    assert message.endswith('name: "Sở Xây dựng, Giao thông"')


def test_a_key_written_with_colon_and_no_value_is_only_unknown() -> None:
    text = SMALL_CAMPAIGN.replace("name: SỞ NỘI VỤ,", "name: SỞ NỘI VỤ, phone: ,")
    assert 'khóa "phone" không dùng được ở đây' in only(text)
