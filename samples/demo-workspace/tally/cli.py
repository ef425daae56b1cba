"""Command line: `tally report` and `tally export`."""

import argparse
import json
from pathlib import Path

from tally.importer import read_expenses
from tally.report import monthly_totals, shares


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tally")
    commands = parser.add_subparsers(dest="command", required=True)
    report = commands.add_parser("report", help="totals for one month by category")
    report.add_argument("csv", type=Path)
    report.add_argument("--month", required=True, help="YYYY-MM")
    report.add_argument("--currency", default="EUR")
    export = commands.add_parser("export", help="every row, as JSON")
    export.add_argument("csv", type=Path)
    export.add_argument("--json", action="store_true", required=True)
    args = parser.parse_args(argv)

    expenses = read_expenses(args.csv)
    if args.command == "export":
        rows = [{"date": e.day.isoformat(), "category": e.category, "amount": str(e.amount), "currency": e.currency} for e in expenses]
        print(json.dumps(rows, indent=2))
        return 0
    totals = monthly_totals(expenses, args.month, args.currency)
    if not totals:
        print(f"No expenses in {args.month}.")
        return 0
    for category, share in shares(totals).items():
        print(f"{category:<12} {totals[category]:>10} {args.currency}  {share:6.1%}")
    return 0
