"""Ledger benchmark: ``report delivery`` over a year of closed days at 50 clinics.

    .venv/bin/python bench/ledger_report.py --days 365 --locations 50

Creates a throw-away database, seeds the stored ledger (sms and e-mail x reminder and
change per clinic day, every day closed) with ``INSERT ... SELECT generate_series``, then
times ``web.cli_report.delivery_rows`` for the whole range, as the CLI reads it, and the
CSV it prints. Drops the database afterwards.
"""
import argparse
import csv
import io
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Run as a script: the repository goes on the path before its own modules are imported.
from tests import services


def seed(url: str, days: int, locations: int, last) -> None:
    connection = services.pg_connect(url)
    with connection, connection.cursor() as cursor:
        cursor.execute("""
            INSERT INTO locations (external_id, name, address, phone, timezone, created_at,
                                   updated_at)
            SELECT 'L-' || i, 'Clinic ' || i, i || ' Main St', '+13125550123',
                   'America/New_York', now(), now()
            FROM generate_series(1, %(locations)s) AS i""", {"locations": locations})
        cursor.execute("""
            INSERT INTO delivery_ledger
            SELECT d::date, l.id, ch, k, 160, 150, 4, 1, 2, 1, 1, 1, 0
            FROM generate_series(%(first)s::date, %(last)s::date, interval '1 day') AS d,
                 locations l, unnest(array['sms', 'email']) AS ch,
                 unnest(array['reminder', 'change']) AS k""",
                       {"first": last - timedelta(days=days - 1), "last": last})
        cursor.execute("""
            INSERT INTO clinic_days (local_date, location_id, ledger_closed_at, updated_at)
            SELECT d::date, l.id, now(), now()
            FROM generate_series(%(first)s::date, %(last)s::date, interval '1 day') AS d,
                 locations l""", {"first": last - timedelta(days=days - 1), "last": last})
        cursor.execute("ANALYZE")
    connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--locations", type=int, default=50)
    args = parser.parse_args()

    from flask_migrate import upgrade

    from db import db
    from web import create_app
    from web.cli_report import delivery_rows

    name = services.unique_name("pn_bench_ledger")
    url = services.create_database(name)
    try:
        app = create_app({"DATABASE_URL": url, "BROKER_URL": None, "LOG_LEVEL": "WARNING"})
        last = datetime.now(UTC).date() - timedelta(days=2)
        first = last - timedelta(days=args.days - 1)
        with app.app_context():
            upgrade(revision="heads")
            seed(url, args.days, args.locations, last)
            timings, cpu = [], []
            for _ in range(3):
                started, started_cpu = time.perf_counter(), time.process_time()
                rows = delivery_rows(first, last)
                out = io.StringIO()
                csv.writer(out).writerows(rows)
                timings.append(time.perf_counter() - started)
                cpu.append(time.process_time() - started_cpu)
                db.session.rollback()
            # CPU time of this process beside wall time: on a shared machine the wall time
            # says more about the neighbours than about the report.
            print(f"report delivery: {args.days} days x {args.locations} locations = "
                  f"{len(rows)} rows; best of 3 {min(timings):.3f} s wall, "
                  f"{min(cpu):.3f} s CPU in this process "
                  f"(all wall: {', '.join(f'{t:.3f}' for t in timings)})")
            db.session.remove()
            db.engine.dispose()
    finally:
        services.drop_database(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
