"""What writing a planned day costs PostgreSQL, index by index (the floor under planning).

    python -m bench.plan_write 1000000    -> bench/profiles/planning-writes.txt

Plans a seeded day once, keeps its rows in a scratch table, then times the same rows
written into ``notifications`` again by one ``INSERT … SELECT`` on one connection: as the
schema has it, with ON CONFLICT DO NOTHING, by COPY, and with each secondary index taken
away in turn (cumulatively; the scratch database is thrown away). What is left when every
index is gone is the heap and the primary key. A plan cannot cost less than the first line
plus selecting its rows.
"""
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import harness

INSERT = "INSERT INTO notifications SELECT * FROM planned"
#: (what changes, SQL run before the timed write, how the rows are written); the schema
#: changes are cumulative.
STEPS = [
    ("the schema as it is", None, INSERT),
    ("the same, ON CONFLICT (appointment_id, dedupe_key) DO NOTHING", None,
     INSERT + " ON CONFLICT (appointment_id, dedupe_key) DO NOTHING"),
    ("the same, COPY from a file instead", None, "COPY"),
    ("and without ix_notifications_status_due_at", "DROP INDEX ix_notifications_status_due_at",
     INSERT),
    ("and without the unique index (appointment, dedupe key)",
     "ALTER TABLE notifications DROP CONSTRAINT uq_notifications_appointment_dedupe_key",
     INSERT),
]


def _timed(cursor, write: str, rows_file: Path) -> float:
    """Seconds to write the planned rows into an emptied table, from a clean checkpoint."""
    cursor.execute("TRUNCATE notifications CASCADE")
    cursor.execute("CHECKPOINT")
    started = time.perf_counter()
    if write == "COPY":
        with rows_file.open() as source:
            cursor.copy_expert("COPY notifications FROM STDIN", source)
    else:
        cursor.execute(write)
    return time.perf_counter() - started


def main() -> None:
    appointments = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    sys.path.insert(0, str(harness.ROOT / "bench"))
    from plan_reminders import seed

    from actors.reminders.plan import plan
    from db import db
    from tests import services
    from web import create_app
    with harness.database() as url, tempfile.TemporaryDirectory() as scratch:
        app = create_app({"DATABASE_URL": url, "BROKER_URL": None, "LOG_LEVEL": "WARNING"})
        now = datetime.now(UTC).replace(hour=6, minute=0, second=0, microsecond=0)
        with app.app_context():
            seed(url, appointments, 50,
                 now.date() + timedelta(days=app.config["REMINDER_DAYS_BEFORE"]))
            plan(now, day=now.date())
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
        rows_file = Path(scratch) / "rows.copy"
        connection = services.pg_connect(url)
        connection.autocommit = True
        lines = []
        with connection.cursor() as cursor:
            cursor.execute("SET client_min_messages = warning")
            cursor.execute("SET jit = off")
            cursor.execute("CREATE TABLE planned AS SELECT * FROM notifications "
                           "ORDER BY appointment_id, channel")
            cursor.execute("SELECT count(*) FROM planned")
            rows = cursor.fetchone()[0]
            with rows_file.open("w") as out:
                cursor.copy_expert("COPY planned TO STDOUT", out)
            for what, change, write in STEPS:
                if change:
                    cursor.execute(change)
                seconds = _timed(cursor, write, rows_file)
                lines.append(f"{seconds:8.2f} s  {rows / seconds:>9,.0f} rows/s  {what}")
        connection.close()
    heading = (f"# {rows:,} planned rows ({appointments:,} appointments) written again, "
               "one INSERT … SELECT on one connection")
    report = [heading, *lines]
    target = harness.ROOT / "bench" / "profiles" / "planning-writes.txt"
    target.write_text("\n".join(report) + "\n")
    print("\n".join(report))


if __name__ == "__main__":
    main()
