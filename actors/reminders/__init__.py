"""Scheduled reminders: plan a clinic day's reminders, hand due ones to the queues, sweep.

Modules: ``window`` (local windows in UTC), ``keys`` (dedupe keys), ``plan``, ``dispatch``,
``sweep``, ``tick`` (the per-minute periodic actor), ``status`` (counts for ops),
``fallback`` (e-mail instead of a failed SMS), ``bulk`` (set-based status changes).
Kept import-free so that ``actors.delivery`` can use ``fallback`` without a cycle.
"""
