"""Reads the expenses CSV into typed rows."""

import csv
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path


@dataclass(frozen=True)
class Expense:
    day: date
    category: str
    amount: Decimal
    currency: str
    note: str


def read_expenses(path: Path) -> list[Expense]:
    # utf-8-sig: spreadsheet exports often start with a byte-order mark.
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    expenses = []
    for line, row in enumerate(rows, start=2):
        try:
            expenses.append(
                Expense(
                    day=date.fromisoformat(row["date"]),
                    category=row["category"].strip(),
                    amount=Decimal(row["amount"]),
                    currency=(row.get("currency") or "EUR").strip(),
                    note=(row.get("note") or "").strip(),
                )
            )
        except (KeyError, ValueError, ArithmeticError) as error:
            raise ValueError(f"{path}:{line}: cannot read this row ({error})") from error
    return expenses
