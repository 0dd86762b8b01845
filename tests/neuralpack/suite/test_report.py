import json
import math

from neuralpack.suite.report import Section, number, table, write


def test_number_formats_a_value_with_its_error_and_marks_what_is_missing():
    assert number(0.61234, 0.004) == "0.6123 ± 0.0040"
    assert number(0.61234) == number(0.61234, math.nan) == "0.6123"
    assert number(None) == number(math.inf, 0.1) == "-"
    assert number(2.0, digits=1) == "2.0"


def test_table_is_markdown():
    assert table(["a", "b"], [["1", "2"]]) == ["| a | b |", "|---|---|", "| 1 | 2 |"]


def test_write_puts_the_same_numbers_in_markdown_and_json(tmp_path):
    (tmp_path / "fig.png").write_bytes(b"png")
    study = {"study": "tiny", "profile": "quick", "title": "Tiny"}
    payload = write(tmp_path, study, Section(["| x |"], {"phi_c": {"3": {"value": math.nan, "error": 0.1}}}))
    assert payload == {"study": "tiny", "profile": "quick", "phi_c": {"3": {"value": None, "error": 0.1}}}
    assert json.loads((tmp_path / "report.json").read_text()) == payload
    text = (tmp_path / "report.md").read_text()
    assert text.startswith("# Tiny (quick profile)") and "| x |" in text and "![fig.png](fig.png)" in text
    assert "neuralpack experiment tiny profile=quick" in text
