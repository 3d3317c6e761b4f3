"""The benchmark harness at a tiny size, so that `make bench` cannot silently rot.

Runs every benchmark (planning, sending through the real actors and three peers, priority
under load, ETL, intake) once against real PostgreSQL and RabbitMQ. Checks that each
produced its figures and the JSON file; never how fast (docs/architecture.md, rule 10).
"""
import json
import math

from bench import run


def test_every_benchmark_runs_at_smoke_size(tmp_path):
    output = tmp_path / "bench.json"
    results = run.main(["--scale", "smoke", "--output", str(output)])

    names = set(results.figures)
    for expected in ("plan 200 appts seconds", "plan 200 appts sized server seconds",
                     "send 0ms notifier msg/s",
                     "send 0ms bare msg/s", "send 0ms bare-urllib3 msg/s",
                     "send 0ms pika msg/s", "send 0ms notifier / bare",
                     "send 0ms notifier / bare-urllib3", "priority 0ms p99 2xx->provider",
                     "etl 200 peak RSS", "etl 200 upstream requests",
                     "intake webhooks/s", "intake p99 latency"):
        assert expected in names
    assert all(f.samples and not any(math.isnan(v) for v in f.samples) for f in results.figures.values())
    saved = json.loads(output.read_text())
    assert saved["machine"]["cores"] >= 1
    assert {f["name"] for f in saved["figures"]} == names
