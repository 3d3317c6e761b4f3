"""Where planning spends its time, statement by statement (its profile for the notes).

    python -m bench.plan_sql 100000    -> bench/profiles/planning-statements.txt
py-spy shows the planner's process waiting in psycopg2's execute; the time is in
PostgreSQL, so this times each statement the planner sends instead. The zones are planned
one after the other (``connections=1``): in parallel their statements overlap and their
times would not add up to the plan's.
"""
import sys
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import event

from bench import harness


def main() -> None:
    appointments = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    sys.path.insert(0, str(harness.ROOT / "bench"))
    from plan_reminders import seed

    from actors.reminders.plan import plan
    from db import db
    from web import create_app
    with harness.database() as url:
        app = create_app({"DATABASE_URL": url, "BROKER_URL": None, "LOG_LEVEL": "WARNING"})
        now = datetime.now(UTC).replace(hour=6, minute=0, second=0, microsecond=0)
        with app.app_context():
            seed(url, appointments, 50,
                 now.date() + timedelta(days=app.config["REMINDER_DAYS_BEFORE"]))
            timings = []

            @event.listens_for(db.engine, "before_cursor_execute")
            def before(conn, cursor, statement, params, context, executemany):
                conn.info["t"] = time.perf_counter()

            @event.listens_for(db.engine, "after_cursor_execute")
            def after(conn, cursor, statement, params, context, executemany):
                timings.append((time.perf_counter() - conn.info["t"],
                                " ".join(statement.split())[:150]))
            started = time.perf_counter()
            plan(now, day=now.date(), connections=1)
            t = time.perf_counter()
            db.session.commit()
            commit = time.perf_counter() - t
            total = time.perf_counter() - started
            db.session.remove()
            db.engine.dispose()
    grouped: dict[str, list[float]] = {}
    for seconds, statement in timings:
        grouped.setdefault(statement, []).append(seconds)
    lines = [(f"# plan() of {appointments:,} appointments over 50 locations: {total:.2f} s, "
              f"{len(timings)} statements, commit {commit:.2f} s"),
             "# seconds  count  share  statement (first 150 characters)"]
    for statement, values in sorted(grouped.items(), key=lambda kv: -sum(kv[1])):
        lines.append(f"{sum(values):9.2f}  {len(values):5d}  {100 * sum(values) / total:4.0f}%"
                     f"  {statement}")
    out = harness.ROOT / "bench" / "profiles" / "planning-statements.txt"
    out.write_text("\n".join(lines[:40]) + "\n")
    print(out.read_text())


if __name__ == "__main__":
    main()
