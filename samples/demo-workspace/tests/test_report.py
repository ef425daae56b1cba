from datetime import date
from decimal import Decimal

from tally.importer import Expense
from tally.report import monthly_totals, shares


def expense(day: str, category: str, amount: str, currency: str = "EUR") -> Expense:
    return Expense(date.fromisoformat(day), category, Decimal(amount), currency, "")


def test_totals_by_category():
    rows = [expense("2026-10-01", "rent", "950"), expense("2026-10-03", "groceries", "62.40"), expense("2026-10-12", "groceries", "48.15")]
    assert monthly_totals(rows, "2026-10") == {"groceries": Decimal("110.55"), "rent": Decimal("950.00")}


def test_other_months_are_left_out():
    rows = [expense("2026-10-01", "rent", "950"), expense("2026-11-01", "rent", "950")]
    assert monthly_totals(rows, "2026-11") == {"rent": Decimal("950.00")}


def test_empty_month_has_no_shares():
    assert shares(monthly_totals([], "2026-10")) == {}


def test_currency_rounding():
    # 12.34 USD is 11.43 EUR at the fixed rate: rounded once, at the end, to the cent.
    assert monthly_totals([expense("2026-10-05", "books", "12.34", "USD")], "2026-10") == {"books": Decimal("11.43")}
