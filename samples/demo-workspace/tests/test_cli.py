import json
from pathlib import Path

from tally.cli import main

SAMPLE = Path(__file__).parent.parent / "expenses.csv"


def test_report_prints_each_category(capsys):
    assert main(["report", str(SAMPLE), "--month", "2026-10"]) == 0
    out = capsys.readouterr().out
    assert "groceries" in out and "rent" in out


def test_report_for_an_empty_month(capsys):
    assert main(["report", str(SAMPLE), "--month", "2026-01"]) == 0
    assert capsys.readouterr().out.strip() == "No expenses in 2026-01."


def test_export_json(capsys):
    assert main(["export", str(SAMPLE), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["category"] == "rent"
