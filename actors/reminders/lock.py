"""One planner per clinic at a time: a transaction-level advisory lock per location.

Only planning writes a clinic day's reminder keys (``reminder:…`` and their ``:cancelled``
record; the ``:fallback`` one is the fallback's). A planner takes its clinics' locks before
its first statement and keeps them until it commits or rolls back, so a second planner of
the same clinics (a manual plan beside the tick, two CLI runs) waits, and its statements
then see the first one's rows committed: they select only keys nobody holds, and write them
with a plain INSERT (``db.creation``: ``keys_held``) instead of ON CONFLICT DO NOTHING.

Locks are taken in location order within a group and groups in their fixed order, so two
planners cannot wait on each other in a circle (PostgreSQL would end one after
``deadlock_timeout``, and the next tick plans what it left).
"""
from sqlalchemy import text

from db import db

#: Arbitrary, fixed: the first key of the per-location planning lock ("plan" in ASCII).
PLANNING_LOCK = 0x706C616E

_LOCK = text("SELECT count(pg_advisory_xact_lock(:space, id)) "
             "FROM (SELECT unnest(CAST(:ids AS integer[])) AS id ORDER BY 1) AS ordered")


def lock_clinics(location_ids) -> None:
    """Wait until no other transaction plans any of ``location_ids``; held until the end of
    the current transaction."""
    db.session.execute(_LOCK, {"space": PLANNING_LOCK, "ids": sorted(location_ids)})
