"""The settings of a plan's transactions: each group's, on whichever connection plans it."""
from sqlalchemy import text

from db import db

#: ``SET LOCAL`` each, sent as one round trip: why, below. ``SET`` takes no snapshot, which
#: a ``SELECT set_config(…)`` would: a count sets its isolation level after these.
SETTINGS = (("work_mem", "64MB"), ("jit", "off"), ("enable_seqscan", "off"),
            ("enable_hashjoin", "off"), ("enable_mergejoin", "off"),
            ("max_parallel_workers_per_gather", "0"))


def tune_transaction() -> None:
    """A zone's day is one statement of up to a few hundred thousand rows: its sort (the send
    slots) and the rows it returns fit in memory instead of spilling to temporary files,
    and it is not JIT-compiled (its cost estimate asks for it; compiling took ~10% of a
    200,000-row statement and bought nothing: the time is in writing rows, not in
    expressions). For this transaction only; other queries keep the server's defaults.

    No sequential scans either: the check for an existing reminder must be a lookup in the
    unique key's index per candidate. Planned while ``notifications`` looks empty to the
    statistics (a new deployment's first day, or a group beside one another connection is
    writing), the planner may choose to scan the table per candidate instead: one such
    group of 200,000 ran for minutes instead of seconds.

    Nor hash or merge joins: a candidate's patient is one lookup by primary key. Left to
    choose, the planner read the whole patient table to join a day's appointments (all
    1,000,000 for a zone's 200,000 appointments: a third of a count, a tenth of a group's
    statement, and it grows with the patient list, not the day). Nor parallel workers: a
    plan already keeps the machine's cores busy with its groups' connections."""
    db.session.execute(text("; ".join(f"SET LOCAL {name} = '{value}'"
                                      for name, value in SETTINGS)))
