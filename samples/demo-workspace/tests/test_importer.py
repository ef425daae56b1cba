from pathlib import Path

import pytest

from tally.importer import read_expenses


def test_reads_a_file_with_a_byte_order_mark(tmp_path: Path):
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffdate,category,amount\n2026-10-01,rent,950.00\n".encode())
    [row] = read_expenses(path)
    assert row.category == "rent"


def test_a_bad_row_names_its_line(tmp_path: Path):
    path = tmp_path / "bad.csv"
    path.write_text("date,category,amount\n2026-10-01,rent,lots\n")
    with pytest.raises(ValueError, match=r"bad.csv:2"):
        read_expenses(path)
