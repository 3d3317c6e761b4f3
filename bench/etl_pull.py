"""ETL benchmark: one pull of N appointments through the upstream simulator's failures.

    .venv/bin/python bench/etl_pull.py --appointments 2000 --failure-rate 0.1

Creates a throw-away database on the local PostgreSQL, migrates it, serves N generated
appointments (100 a page) from fakes.upstream with every failure kind at the given rate,
then times a first pull (all created) and a second one (nothing changes). Backoffs are the
test suite's (milliseconds), so the figure is the pull's own cost plus the failures' round
trips, not production's waiting. Drops the database afterwards.
"""
import argparse
import logging
import resource
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask_migrate import upgrade

from fakes.upstream import UpstreamSimulator
from tests import services
from web import create_app

TOKEN = "bench-token"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appointments", type=int, default=2000)
    parser.add_argument("--failure-rate", type=float, default=0.1)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    name = services.unique_name("pn_bench_etl")
    url = services.create_database(name)
    simulator = UpstreamSimulator(token=TOKEN, page_size=args.page_size, timeout_seconds=0.5,
                                  failure_rate=args.failure_rate, seed=args.seed).start()
    app = create_app({
        "DATABASE_URL": url, "BROKER_URL": None, "LOG_LEVEL": "WARNING",
        "UPSTREAM_API_URL": simulator.url, "UPSTREAM_API_TOKEN": TOKEN,
        "UPSTREAM_TIMEOUT_SECONDS": 0.25, "UPSTREAM_PAGE_RETRIES": 12,
        "UPSTREAM_BACKOFF_BASE_SECONDS": 0.002, "UPSTREAM_BACKOFF_MAX_SECONDS": 0.02,
        "UPSTREAM_RETRY_AFTER_MAX_SECONDS": 0.02})
    logging.getLogger().setLevel(logging.WARNING)
    try:
        with app.app_context():
            upgrade(revision="heads")
            from actors.etl import pull_now
            from db import db, utcnow
            simulator.seed(args.appointments, start=utcnow().date() + timedelta(days=1), days=4)
            for label in ("first pull", "second pull"):
                started = time.perf_counter()
                run = pull_now(trigger="cli")
                seconds = time.perf_counter() - started
                print(f"{label}: {seconds:.2f} s, {run.records / seconds:.0f} records/s, "
                      f"complete={run.complete} {run.summary()}")
            # The simulator serves from this process: its records are in this figure.
            print(f"upstream requests {simulator.requests}, injected failures "
                  f"{dict(simulator.failures)}; peak RSS (simulator included) "
                  f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MiB")
            db.session.remove()
            db.engine.dispose()
    finally:
        simulator.stop()
        services.drop_database(name)


if __name__ == "__main__":
    main()
