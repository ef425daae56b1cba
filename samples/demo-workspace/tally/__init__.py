"""tally: totals personal expenses from a CSV file by month and category."""

__version__ = "0.3.0"
