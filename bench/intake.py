"""Benchmark 5: signed webhooks per second through gunicorn, as the Procfile runs it.

The load generator (asyncio, this process) keeps CONCURRENCY requests in flight on
loopback; every request is a distinct, correctly signed ``appointment.created`` event, so
each one verifies its signature, validates, writes its rows and records its webhook-id.
"""
import asyncio
import time
from datetime import UTC, datetime

import aiohttp
import requests

from bench import harness
from bench.sending import LOGS, free_port, notifier_env
from bench.sending import WEBHOOK_SECRET as SECRET
from tests import services
from web.sample_event import sample_appointment, signed_request

CONCURRENCY = 32


def gunicorn_command(port: int) -> list[str]:
    """Procfile's ``web`` line (2 workers, 8 threads each), bound to loopback."""
    return [str(harness.Path(harness.PYTHON).parent / "gunicorn"), "--bind",
            f"127.0.0.1:{port}", "--workers", "2", "--threads", "8",
            "--access-logfile", "-", "web:create_app()"]


def events(count: int, prefix: str, kind: str = "appointment.created") -> list[tuple]:
    now = datetime.now(UTC)
    out = []
    for i in range(count):
        appointment = sample_appointment(days_ahead=10, hour=9 + i % 8, updated_at=now,
                                         appointment_id=f"A-{prefix}-{i}")
        appointment["patient"].update(id=f"P-{prefix}-{i}", phone=f"+1312{3000000 + i}",
                                      email=f"p{i}@example.org", preferred_channel="sms")
        out.append(signed_request(SECRET, {"type": kind, "appointment": appointment}))
    return out


async def fire(url: str, requests_: list[tuple], concurrency: int) -> tuple[float, list]:
    latencies, statuses = [], []
    queue = asyncio.Queue()
    for item in requests_:
        queue.put_nowait(item)

    async def client(session):
        while not queue.empty():
            body, headers = queue.get_nowait()
            started = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                statuses.append(response.status)
            latencies.append(time.perf_counter() - started)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(concurrency)))
        wall = time.perf_counter() - started
    bad = [s for s in statuses if s != 202]
    if bad:
        raise RuntimeError(f"{len(bad)} webhooks were not accepted (first status {bad[0]})")
    return wall, latencies


def bench(results: harness.Results, *, count: int, repetitions: int) -> None:
    from bench.sending import Provider
    with harness.database() as database_url, harness.vhost() as broker_url, \
            Provider(0.0) as provider:
        port = free_port()
        env = {**notifier_env(database_url, broker_url, provider), "WEBHOOK_SECRET": SECRET}
        LOGS.mkdir(parents=True, exist_ok=True)
        with harness.processes([gunicorn_command(port)], env=env, log=LOGS / "gunicorn.log") \
                as web:
            base = f"http://127.0.0.1:{port}"
            services.wait_until(lambda: harness.alive(web) and _up(base), timeout=60,
                               what="gunicorn")
            for rep in range(repetitions):
                batch = events(count, f"r{rep}")
                cpu0 = harness.tree_cpu_seconds(web)
                wall, latencies = asyncio.run(fire(f"{base}/api/v1/appointment-events",
                                                   batch, CONCURRENCY))
                cpu = harness.tree_cpu_seconds(web) - cpu0
                results.add("intake webhooks/s", "req/s", count / wall)
                results.add("intake p50 latency", "ms", 1000 * harness.percentile(latencies, 50))
                results.add("intake p99 latency", "ms", 1000 * harness.percentile(latencies, 99))
                results.add("intake web CPU/request", "ms", 1000 * cpu / count)


def _up(base: str) -> bool:
    try:
        return requests.get(f"{base}/healthz", timeout=1).ok
    except requests.RequestException:
        return False
