"""Planning benchmark: one clinic day of reminders for N appointments over 50 locations.

    .venv/bin/python bench/plan_reminders.py --appointments 100000

Creates a throw-away database on the local PostgreSQL, migrates it, seeds locations,
patients (60% SMS, 25% e-mail, 15% both) and booked appointments three days ahead with
``INSERT ... SELECT generate_series`` (and as many on each day until then, long known, as a
service's next days hold), then times ``actors.reminders.plan.plan`` exactly as
the tick calls it, and a second, doubled plan (which must write nothing). Prints seconds,
rows/s, the CPU the database's backends spent (the planner waits on them; on a machine
shared with other work the wall time says less than that), what the server wrote (WAL,
checkpoints, pages its backends evicted themselves) and the process's peak memory;
drops the database afterwards. ``--connections 1`` plans the zones one after the other;
``--sized`` plans on a throw-away server sized as a production one (bench/sized_postgres.py).
"""
import argparse
import os
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Run as a script: the repository goes on the path before its own modules are imported.
from tests import services

ZONES = ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
         "America/Phoenix"]


def seed(url: str, appointments: int, locations: int, day, zones: int = len(ZONES),
         days_before: int = 3) -> None:
    """``appointments`` booked on ``day`` (one per patient), and as many on each of the
    ``days_before`` days before it, first seen a month ago, as a service's next days hold:
    a plan looks through those for bookings too late for their own reminder day."""
    connection = services.pg_connect(url)
    with connection, connection.cursor() as cursor:
        cursor.execute("""
            INSERT INTO locations (external_id, name, address, phone, timezone, created_at,
                                   updated_at)
            SELECT 'L-' || i, 'Clinic ' || i, i || ' Main St', '+13125550123',
                   (%(zones)s::text[])[1 + i %% %(zone_count)s], now(), now()
            FROM generate_series(1, %(locations)s) AS i""",
                       {"zones": ZONES[:zones], "zone_count": zones, "locations": locations})
        cursor.execute("""
            INSERT INTO patients (external_id, given_name, family_name, phone, email,
                                  preferred_channel, language, sms_opted_out, email_opted_out,
                                  email_undeliverable, created_at, updated_at)
            SELECT 'P-' || i, 'Pat', 'Ient', '+1312' || (2000000 + i), 'p' || i || '@example.org',
                   CASE WHEN i %% 20 < 12 THEN 'sms' WHEN i %% 20 < 17 THEN 'email' ELSE 'both' END,
                   CASE WHEN i %% 5 = 0 THEN 'es' ELSE 'en' END,
                   i %% 97 = 0, false, false, now(), now()
            FROM generate_series(1, %(n)s) AS i""", {"n": appointments})
        cursor.execute("""
            INSERT INTO appointments (external_id, patient_id, location_id, status, starts_at,
                                      local_date, source_updated_at, revision, created_at,
                                      updated_at)
            SELECT 'A-' || p.id, p.id, 1 + p.id %% %(locations)s,
                   CASE WHEN p.id %% 50 = 0 THEN 'cancelled' ELSE 'booked' END,
                   (%(day)s::date + time '08:00' + (p.id %% 40) * interval '15 minutes')
                       AT TIME ZONE 'America/New_York',
                   %(day)s::date, now(), 0, now(), now()
            FROM patients p""", {"locations": locations, "day": day})
        cursor.execute("""
            INSERT INTO appointments (external_id, patient_id, location_id, status, starts_at,
                                      local_date, source_updated_at, revision, created_at,
                                      updated_at)
            SELECT 'A-' || d || '-' || p.id, p.id, 1 + p.id %% %(locations)s, 'booked',
                   (%(day)s::date - d + time '08:00' + (p.id %% 40) * interval '15 minutes')
                       AT TIME ZONE 'America/New_York',
                   %(day)s::date - d, %(seen)s, 0, %(seen)s, %(seen)s
            FROM patients p, generate_series(1, %(days)s) AS d""",
                       {"locations": locations, "day": day, "days": days_before,
                        "seen": day - timedelta(days=30)})
    # What a server does to freshly loaded tables, done before the timed plan instead of
    # during it: a vacuum (with autovacuum on, three million new rows call for one, which
    # could start in the middle of the plan) and the checkpoint that writes the seed's pages.
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
        cursor.execute("CHECKPOINT")
    connection.close()


def server_writes(url: str) -> dict:
    """The whole server's write counters so far (``pg_stat_bgwriter``, ``pg_stat_wal``)."""
    connection = services.pg_connect(url)
    with connection, connection.cursor() as cursor:
        cursor.execute("SELECT checkpoints_timed + checkpoints_req, buffers_backend, wal_bytes, "
                       "wal_buffers_full, current_setting('block_size')::int "
                       "FROM pg_stat_bgwriter, pg_stat_wal")
        checkpoints, evicted, wal, waits, block = cursor.fetchone()
    connection.close()
    return {"checkpoints": checkpoints, "evicted_bytes": evicted * block,
            "wal_bytes": int(wal), "wal_buffers_full": waits}


def backend_cpu(url: str) -> dict:
    """CPU seconds so far of each PostgreSQL backend connected to ``url``'s database (a local
    server: /proc is read)."""
    connection = services.pg_connect(url)
    with connection, connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                       "AND pid <> pg_backend_pid()")
        pids = [pid for pid, in cursor.fetchall()]
    connection.close()
    seconds = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--appointments", type=int, default=100_000)
    parser.add_argument("--locations", type=int, default=50)
    parser.add_argument("--zones", type=int, default=len(ZONES), choices=range(1, len(ZONES) + 1),
                        help="time zones the clinics are spread over (1: a single-zone service)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--connections", type=int, default=None,
                        help="connections planning uses at once (default: the planner's)")
    parser.add_argument("--sized", action="store_true",
                        help="on a throw-away server sized as a production one "
                             "(bench/sized_postgres.py) instead of the machine's")
    args = parser.parse_args()
    if args.sized and args.keep:
        parser.error("--keep keeps a database of the machine's server only")
    if not args.sized:
        return plan_once(args, services.PG_ADMIN_URL, "the machine's server")
    from bench import sized_postgres
    with sized_postgres.server() as admin_url:
        return plan_once(args, admin_url, "a sized server: " + ", ".join(
            f"{name} {value}" for name, value in sized_postgres.settings().items()))


def plan_once(args, admin_url: str, server_name: str) -> int:
    from flask_migrate import upgrade

    from actors.reminders.plan import plan
    from db import db
    from web import create_app

    name = services.unique_name("pn_bench_plan")
    url = services.create_database(name, admin_url)
    try:
        app = create_app({"DATABASE_URL": url, "BROKER_URL": None, "LOG_LEVEL": "WARNING"})
        # 06:00 UTC: before every US clinic's window; the day is planned by hand (--date).
        now = datetime.now(UTC).replace(hour=6, minute=0, second=0, microsecond=0)
        sending_day = now.date()
        with app.app_context():
            upgrade(revision="heads")
            started = time.perf_counter()
            seed(url, args.appointments, args.locations,
                 sending_day + timedelta(days=app.config["REMINDER_DAYS_BEFORE"]),
                 zones=args.zones)
            seeded = time.perf_counter() - started
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            options = {} if args.connections is None else {"connections": args.connections}
            db.session.execute(db.text("SELECT 1"))  # the session's backend exists before
            writes_before = server_writes(url)
            cpu_before = backend_cpu(url)
            started = time.perf_counter()
            result = plan(now, day=sending_day, **options)
            db.session.commit()
            elapsed = time.perf_counter() - started
            cpu_after = backend_cpu(url)
            cpu = sum(seconds - cpu_before.get(pid, 0.0) for pid, seconds in cpu_after.items())
            # A backend reports its writes when idle, at most once a second, or when it exits.
            db.session.remove()
            db.engine.dispose()
            services.wait_until(lambda: not set(backend_cpu(url)) & set(cpu_after),
                                what="the planner's connections to close")
            writes = {k: v - writes_before[k] for k, v in server_writes(url).items()}
            rows = sum(result.counts.values())
            started = time.perf_counter()
            again = plan(now + timedelta(minutes=1), day=sending_day, **options)
            db.session.commit()
            doubled = time.perf_counter() - started
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            by_status = {}
            for (_, _, status), count in result.counts.items():
                by_status[status] = by_status.get(status, 0) + count
            print(f"appointments: {args.appointments} over {args.locations} locations "
                  f"in {args.zones} time zones (seeded in {seeded:.1f} s)")
            print(f"plan: {elapsed:.2f} s for {rows} notification rows "
                  f"({rows / elapsed:,.0f} rows/s, {args.appointments / elapsed:,.0f} "
                  f"appointments/s); planned ones share one plan run per clinic-day, "
                  f"the others have a history row each")
            print(f"PostgreSQL CPU while planning: {cpu:.2f} s")
            print(f"PostgreSQL writes while planning ({server_name}): "
                  f"{writes['wal_bytes'] / 2**30:.2f} GiB of WAL, "
                  f"{writes['checkpoints']} checkpoints, "
                  f"{writes['evicted_bytes'] / 2**30:.2f} GiB of pages evicted by the "
                  f"backends themselves, {writes['wal_buffers_full']} waits for WAL buffers")
            print(f"rows by status: {dict(sorted(by_status.items()))}")
            print(f"doubled plan (nothing to write): {doubled:.2f} s, "
                  f"{sum(again.counts.values())} rows")
            print(f"overflow alerts raised: {len(result.overflows)} "
                  f"(SMS {app.config['SMS_RATE_PER_SECOND']:g}/s, "
                  f"e-mail {app.config['EMAIL_RATE_PER_SECOND']:g}/s)")
            print(f"peak memory (max RSS): {peak / 1024:.0f} MiB "
                  f"(before planning {rss_before / 1024:.0f} MiB)")
            db.session.remove()
            db.engine.dispose()
    finally:
        if not args.keep:
            services.drop_database(name, admin_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
