"""Delivery accounting: one definition of "reached", one delivery rate, used everywhere.

The alert, the Today page, /metrics, ``flask --app web report delivery`` and the daily
ledger all count through ``tally.classify`` and ``Tally.rate``; nothing else computes a rate.
"""
from actors.accounting.tally import Tally, classify

__all__ = ["Tally", "classify"]
