"""`make bench`: every benchmark at one scale, one table, one JSON file in bench/results/.

    python -m bench.run [--scale quick|full|smoke] [--only sending,priority,...]

quick (the default, under 20 minutes on a 2-core machine) scales the issue's sizes down
where a full-size run would not fit; full runs the issue's sizes (about an hour and a half);
smoke is the test suite's tiny run (tests/bench/test_bench_smoke.py).
"""
import argparse
import logging
import signal
import sys
import time

from bench import etl, harness, intake, planning, priority, sending

#: (provider latency, concurrency per process, gevent): at 0 ms both models, every system in
#: each (gevent's cheaper switches and larger batches win there too); at 200 ms gevent, where
#: hundreds of requests must be in flight (dramatiq-gevent, Celery's gevent pool).
SEND_RUNS = ((0.0, 16, False), (0.0, 150, True), (0.2, 150, True))
SCALES = {
    # Reminders per run by provider latency. At 200 ms a message of 10 reminders keeps one
    # greenlet 2 s, so 3,000 (300 messages for 300 greenlets) would time one round of
    # batches and the dispatch, not a rate; 10,000 is several rounds.
    "quick": {"repetitions": 3, "plan": 100_000, "plan_once": 1_000_000,
              "send": {0.0: 3_000, 0.2: 10_000},
              "send_runs": SEND_RUNS, "priority_webhooks": 200,
              "priority_seconds": 90, "etl": 2_000, "intake": 1_000,
              "systems": sending.SYSTEMS},
    "full": {"repetitions": 3, "plan": 1_000_000, "plan_once": None,
             "send": {0.0: 100_000, 0.2: 100_000},
             "send_runs": SEND_RUNS, "priority_webhooks": 200,
             "priority_seconds": 90, "etl": 100_000, "intake": 5_000,
             "systems": sending.SYSTEMS},
    "smoke": {"repetitions": 1, "plan": 200, "plan_once": None, "send": {0.0: 30},
              "send_runs": ((0.0, 4, False),), "priority_webhooks": 3, "priority_seconds": 1,
              "etl": 200, "intake": 10,
              "systems": ("notifier", "bare", "bare-urllib3", "pika")},
}
BENCHMARKS = ("planning", "sending", "priority", "etl", "intake")


def main(argv=None) -> harness.Results:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=SCALES, default="quick")
    parser.add_argument("--only", default=",".join(BENCHMARKS))
    parser.add_argument("--output", default=None, help="JSON path (default bench/results/)")
    args = parser.parse_args(argv)
    # A stopped run (Ctrl-C, timeout's SIGTERM) still stops its workers and drops its
    # databases and vhosts: every one is started inside a context manager.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    logging.getLogger("pika").setLevel(logging.CRITICAL)
    scale = SCALES[args.scale]
    only = args.only.split(",")
    results = harness.Results({"name": args.scale, **{k: str(v) for k, v in scale.items()}})
    reps = scale["repetitions"]
    started = time.monotonic()

    def step(name, run):
        if name in only:
            t = time.monotonic()
            print(f"[bench] {name} ...", file=sys.stderr, flush=True)
            run()
            print(f"[bench] {name} done in {time.monotonic() - t:.0f} s", file=sys.stderr,
                  flush=True)

    for sized in (False, True):
        step("planning", lambda sized=sized: planning.bench(
            results, appointments=scale["plan"], repetitions=reps, sized=sized))
        if scale["plan_once"]:
            step("planning", lambda sized=sized: planning.bench(
                results, appointments=scale["plan_once"], repetitions=1, sized=sized))
    for latency, concurrency, gevent in scale["send_runs"]:
        both = sum(1 for run in scale["send_runs"] if run[0] == latency) > 1
        step("sending", lambda latency=latency, concurrency=concurrency, gevent=gevent,
             both=both: sending.bench(
                 results, count=scale["send"][latency], repetitions=reps,
                 latencies={latency: concurrency}, systems=scale["systems"], gevent=gevent,
                 label=("gevent" if gevent else "threads") if both else ""))

    def run_priority():
        # The slowest provider, in the model the last send run used for it.
        latency, concurrency, gevent = max(scale["send_runs"])
        rate = results.figures.get(f"send {int(latency * 1000)}ms notifier msg/s")
        per_second = rate.median if rate and rate.samples else 100.0
        backlog = max(50, int(per_second * scale["priority_seconds"]))
        results.notes.append(f"priority: backlog {backlog} reminders (~"
                             f"{scale['priority_seconds']} s of sending), "
                             f"{scale['priority_webhooks']} webhooks at 5/s")
        priority.bench(results, backlog=backlog, webhooks=scale["priority_webhooks"],
                       per_second=5, repetitions=reps, latency=latency,
                       sms_concurrency=concurrency, gevent=gevent)
    step("priority", run_priority)
    step("etl", lambda: etl.bench(results, count=scale["etl"], repetitions=reps))
    step("intake", lambda: intake.bench(results, count=scale["intake"], repetitions=reps))
    results.notes.append(f"whole run {time.monotonic() - started:.0f} s, scale {args.scale}")
    print(results.table())
    path = results.save(harness.Path(args.output) if args.output else None)
    print(f"figures and machine written to {path}")
    return results


if __name__ == "__main__":
    main()
