"""Benchmark 4: one ETL pull of N appointments through the upstream simulator's failures.

The simulator (fakes.upstream) serves from this process; the pull runs in a child process
so that its peak memory is the pull's alone: the child's own high-water mark (VmHWM), not
``ru_maxrss``, which Linux carries over from the parent at fork and would report the
simulator holding every record. Measured at N/10 and N: a flat peak means memory does not
grow with the number of pages. The simulator's CPU (this process, idle otherwise, while
the child pulls) is reported beside it, to show whether the fake set the pace. Backoffs
are milliseconds (as in bench/etl_pull.py), so the wall time is the pull's own cost plus
the failures' round trips.
"""
import json
import resource
import sys
import time
from datetime import timedelta

from bench import harness

TOKEN = "bench-token"


def peak_rss_mib() -> float:
    """This process's own peak resident memory since it started (exec), in MiB."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child(database_url: str, upstream_url: str) -> None:
    import logging

    from web import create_app
    app = create_app({
        "DATABASE_URL": database_url, "BROKER_URL": None, "LOG_LEVEL": "WARNING",
        "UPSTREAM_API_URL": upstream_url, "UPSTREAM_API_TOKEN": TOKEN,
        "UPSTREAM_TIMEOUT_SECONDS": 0.25, "UPSTREAM_PAGE_RETRIES": 12,
        "UPSTREAM_BACKOFF_BASE_SECONDS": 0.002, "UPSTREAM_BACKOFF_MAX_SECONDS": 0.02,
        "UPSTREAM_RETRY_AFTER_MAX_SECONDS": 0.02})
    logging.getLogger().setLevel(logging.WARNING)
    with app.app_context():
        from actors.etl import pull_now
        before = peak_rss_mib()
        started, cpu = time.perf_counter(), _cpu_seconds()
        run = pull_now(trigger="cli")
        seconds = time.perf_counter() - started
        print(json.dumps({"seconds": seconds, "records": run.records,
                          "complete": run.complete, "rss_before_mib": before,
                          "peak_mib": peak_rss_mib(), "cpu_seconds": _cpu_seconds() - cpu}),
              flush=True)


def run_once(count: int, failure_rate: float) -> dict:
    from db.base import utcnow
    from fakes.upstream import UpstreamSimulator
    with harness.database() as database_url:
        simulator = UpstreamSimulator(token=TOKEN, page_size=100, timeout_seconds=0.5,
                                      failure_rate=failure_rate, seed=7).start()
        try:
            simulator.seed(count, start=utcnow().date() + timedelta(days=1), days=4)
            cpu = _cpu_seconds()
            figures = harness.run_child([harness.PYTHON, "-m", "bench.etl", database_url,
                                         simulator.url])
            figures["upstream_cpu_seconds"] = _cpu_seconds() - cpu
            figures["requests"] = simulator.requests
        finally:
            simulator.stop()
    return figures


def bench(results: harness.Results, *, count: int, repetitions: int,
          failure_rate: float = 0.1) -> None:
    small = max(100, count // 10)
    for _ in range(repetitions):
        for n in (small, count):  # alternate the sizes within each repetition
            run = run_once(n, failure_rate)
            if not run["complete"]:
                results.notes.append(f"ETL pull of {n} did not complete")
            label = f"etl {n:,}"
            results.add(f"{label} wall", "s", run["seconds"])
            results.add(f"{label} records/s", "rec/s", run["records"] / run["seconds"])
            results.add(f"{label} upstream requests", "req", run["requests"])
            results.add(f"{label} pull CPU", "s", run["cpu_seconds"])
            results.add(f"{label} upstream fake CPU", "s", run["upstream_cpu_seconds"])
            results.add(f"{label} peak RSS", "MiB", run["peak_mib"],
                        "flat" if n == count else "")
            results.add(f"{label} peak RSS growth in pull", "MiB",
                        run["peak_mib"] - run["rss_before_mib"])


if __name__ == "__main__":
    child(sys.argv[1], sys.argv[2])
