"""Benchmark 1: planning one clinic day of reminders for N appointments over 50 locations.

Reuses bench/plan_reminders.py's seeding (INSERT ... SELECT, five US time zones, a mix of
channels, some cancelled and opted-out) and times ``actors.reminders.plan.plan`` as the
tick calls it, in a child process so that its peak memory is the planner's alone; on the
machine's PostgreSQL and on one sized as a production server is (bench.sized_postgres).
"""
import json
import resource
import sys
import time
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta

from bench import harness, sized_postgres
from tests import services


def child(database_url: str, appointments: int, locations: int) -> None:
    sys.path.insert(0, str(harness.ROOT / "bench"))
    from plan_reminders import seed

    from actors.reminders.plan import plan
    from db import db
    from web import create_app
    app = create_app({"DATABASE_URL": database_url, "BROKER_URL": None,
                      "LOG_LEVEL": "WARNING"})
    now = datetime.now(UTC).replace(hour=6, minute=0, second=0, microsecond=0)
    with app.app_context():
        seed(database_url, appointments, locations,
             now.date() + timedelta(days=app.config["REMINDER_DAYS_BEFORE"]))
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        result = plan(now, day=now.date())
        db.session.commit()
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({"seconds": seconds, "rows": sum(result.counts.values()),
                          "peak_mib": peak / 1024, "rss_before_mib": before / 1024}))


def bench(results: harness.Results, *, appointments: int, repetitions: int,
          locations: int = 50, sized: bool = False) -> None:
    """``sized``: on a throw-away server sized as a production one (bench.sized_postgres)
    instead of the machine's."""
    server = sized_postgres.server() if sized else nullcontext(services.PG_ADMIN_URL)
    label = f"plan {appointments:,} appts" + (" sized server" if sized else "")
    with server as admin_url:
        for _ in range(repetitions):
            with harness.database(admin_url) as database_url:
                run = harness.run_child([harness.PYTHON, "-m", "bench.planning", database_url,
                                         str(appointments), str(locations)])
            results.add(f"{label} seconds", "s", run["seconds"],
                        "<= 10 (1M)" if appointments >= 1_000_000 else "<= 1 (100k)"
                        if appointments >= 100_000 else "")
            results.add(f"{label} rows/s", "rows/s", run["rows"] / run["seconds"])
            results.add(f"{label} peak RSS", "MiB", run["peak_mib"])


if __name__ == "__main__":
    child(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
