"""Monthly totals by category."""

from collections import defaultdict
from decimal import Decimal

from tally.importer import Expense
from tally.rates import FIXED, convert


def monthly_totals(expenses: list[Expense], month: str, currency: str = "EUR") -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for expense in expenses:
        if expense.day.isoformat().startswith(month):
            totals[expense.category] += convert(expense.amount, expense.currency, currency, FIXED)
    return dict(sorted(totals.items()))


def shares(totals: dict[str, Decimal]) -> dict[str, float]:
    grand = sum(totals.values())
    if grand == 0:
        # A month without expenses has no shares, rather than a division by zero.
        return {}
    return {category: float(amount / grand) for category, amount in totals.items()}
