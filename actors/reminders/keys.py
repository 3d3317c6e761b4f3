"""Dedupe keys of reminders: one reminder per appointment, local day and channel.

``reminder:<appointment id>:<local date>:<channel>[:<variant>]``. The unique constraint on
the appointment and ``dedupe_key`` makes a doubled tick or two schedulers harmless. Variants keep
records that must not block a real reminder: ``cancelled`` (recorded for a cancelled
appointment, which may be booked again) and ``fallback`` (the e-mail sent instead of an SMS).
"""
from datetime import date


def reminder_key(appointment_id: int, local_date: date, channel: str, variant: str = "") -> str:
    key = f"reminder:{appointment_id}:{local_date.isoformat()}:{channel}"
    return f"{key}:{variant}" if variant else key


def reminder_day(dedupe_key: str) -> date | None:
    """The appointment's local date a reminder was planned for (None for other kinds)."""
    parts = dedupe_key.split(":")
    if len(parts) < 4 or parts[0] != "reminder":
        return None
    return date.fromisoformat(parts[2])
