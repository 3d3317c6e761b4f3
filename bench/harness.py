"""What every benchmark shares: throw-away services, repetitions, the machine, the results.

Each benchmark gets its own PostgreSQL database (migrated to heads) and RabbitMQ vhost,
created and dropped like the test suite's (tests/services.py), so a run never touches
anyone's data. A figure is the median of its repetitions with their min and max.
"""
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from tests import services

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PYTHON = sys.executable


@dataclass
class Figure:
    """One measured quantity over its repetitions."""
    name: str
    unit: str
    samples: list[float] = field(default_factory=list)
    goal: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.samples) if self.samples else float("nan")

    def as_dict(self) -> dict:
        return {"name": self.name, "unit": self.unit, "median": self.median,
                "min": min(self.samples, default=None), "max": max(self.samples, default=None),
                "samples": self.samples, "goal": self.goal}


class Results:
    """Figures in the order they were measured, printed as one table, saved as JSON."""

    def __init__(self, scale: dict):
        self.scale = scale
        self.figures: dict[str, Figure] = {}
        self.notes: list[str] = []

    def add(self, name: str, unit: str, value: float, goal: str = "") -> None:
        figure = self.figures.setdefault(name, Figure(name, unit, goal=goal))
        figure.samples.append(value)

    def table(self) -> str:
        rows = [("figure", "median", "min-max", "unit", "goal")]
        for f in self.figures.values():
            lo, hi = min(f.samples, default=0), max(f.samples, default=0)
            rows.append((f.name, _fmt(f.median), f"{_fmt(lo)}-{_fmt(hi)}", f.unit, f.goal))
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines + [f"note: {n}" for n in self.notes])

    def save(self, path: Path | None = None) -> Path:
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = path or RESULTS / time.strftime("bench-%Y%m%d-%H%M%S.json")
        path.write_text(json.dumps({"machine": machine(), "scale": self.scale,
                                    "figures": [f.as_dict() for f in self.figures.values()],
                                    "notes": self.notes}, indent=2))
        return path


def _fmt(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"


def machine() -> dict:
    def version(command: list[str]) -> str:
        try:
            return subprocess.run(command, capture_output=True, text=True, check=False,
                                  timeout=30).stdout.strip().splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            return "unknown"
    cpu_model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu_model, "cores": psutil.cpu_count(), "memory_gib":
            round(psutil.virtual_memory().total / 2**30, 1), "os": platform.platform(),
            "python": platform.python_version(),
            "postgresql": version(["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc",
                                   "show server_version"]),
            "rabbitmq": version(["rabbitmqctl", "-q", "version"]),
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


@contextmanager
def database(admin_url: str = services.PG_ADMIN_URL):
    """A fresh PostgreSQL database migrated to heads (on the server of ``admin_url``, by
    default the tests' one); its URL."""
    from flask_migrate import upgrade

    from db import db
    from web import create_app
    name = services.unique_name("pn_bench")
    url = services.create_database(name, admin_url)
    try:
        app = create_app({"DATABASE_URL": url, "BROKER_URL": None})
        with app.app_context():
            upgrade(revision="heads")
            db.engine.dispose()
        yield url
    finally:
        services.drop_database(name, admin_url)


@contextmanager
def vhost():
    """A fresh RabbitMQ vhost; its amqp:// URL."""
    name = services.unique_name("pn_bench")
    url = services.create_vhost(name)
    try:
        yield url
    finally:
        services.delete_vhost(name)


@contextmanager
def processes(commands: list[list[str]], *, env: dict | None = None, log: Path | None = None):
    """Start ``commands`` (each its own process group), yield their psutil handles, end them."""
    full_env = {**os.environ, **(env or {})}
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 (closed below)
    started = [subprocess.Popen(c, cwd=ROOT, env=full_env, stdout=out, stderr=out,
                                start_new_session=True) for c in commands]
    try:
        yield [psutil.Process(p.pid) for p in started]
    finally:
        for p in started:
            stop(p)
        if log:
            out.close()


def stop(popen: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM the process group we started, then SIGKILL it if it lingers."""
    import signal
    if popen.poll() is None:
        try:
            os.killpg(popen.pid, signal.SIGTERM)
            popen.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(popen.pid, signal.SIGKILL)
            popen.wait(timeout)
        except ProcessLookupError:
            pass


def run_child(command: list[str], env: dict | None = None) -> dict:
    """Run a measuring child process; its last stdout line is a JSON object of figures."""
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False,
                         env={**os.environ, **(env or {})})
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:3])} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def tree_cpu_seconds(roots: list[psutil.Process]) -> float:
    """User + system CPU of ``roots`` and every live descendant."""
    total = 0.0
    for root in roots:
        try:
            family = [root] + root.children(recursive=True)
        except psutil.NoSuchProcess:
            continue
        for p in family:
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except psutil.NoSuchProcess:
                pass
    return total


def alive(roots: list[psutil.Process]) -> bool:
    """True while every process we started runs; raises when one has exited (see its log)."""
    for root in roots:
        if not root.is_running() or root.status() == psutil.STATUS_ZOMBIE:
            raise RuntimeError(f"process {root.pid} exited early; see bench/results/logs/")
    return True


def machine_cpu_seconds() -> float:
    t = psutil.cpu_times()
    return t.user + t.system + getattr(t, "softirq", 0) + getattr(t, "irq", 0)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]
