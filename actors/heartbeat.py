"""The worker's liveness signal: a file touched only while the worker can still do work.

Workers have no HTTP port, so Kubernetes' liveness probe runs
``python -m actors.heartbeat check --file PATH --max-age SECONDS``, which fails once the
file is older than ``max-age``. The file is touched

* after every message a worker thread finishes or skips (it is clearly working), and
* every ``interval`` seconds by a watchdog thread, but only while every consumer and worker
  thread of the worker is alive and no message has outlived its actor's time limit by more
  than ``stall_grace`` seconds (Dramatiq's TimeLimit should have interrupted it; a thread
  stuck past that, e.g. in C code, is as useless as a dead one).

The scheduler process runs no worker; there every enqueue touches the file (periodiq enqueues
the periodic actors every minute), so the same probe, with a longer max-age, watches it.

A broker outage does not stop the heartbeat: Dramatiq's consumer threads stay alive and
reconnect by themselves, and restarting the pod would not bring RabbitMQ back.
"""
import argparse
import logging
import os
import sys
import threading
import time

from dramatiq.middleware import Middleware, TimeLimit

log = logging.getLogger(__name__)


def touch(path: str) -> None:
    with open(path, "a"):
        pass
    os.utime(path, None)


class Heartbeat(Middleware):
    """Touch ``path`` while the worker's threads are alive and not stuck."""

    def __init__(self, path: str, *, interval: float = 10.0, stall_grace: float = 60.0):
        self.path = path
        self.interval = interval
        self.stall_grace = stall_grace
        self._lock = threading.Lock()
        self._running: dict[str, float] = {}  # message id -> monotonic time it counts as stuck
        self._stopped = threading.Event()
        self._watchdog: threading.Thread | None = None
        self._worker = None

    # --- Dramatiq hooks ---
    def after_worker_boot(self, broker, worker):
        self._worker = worker
        self._stopped.clear()
        directory = os.path.dirname(self.path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        self._touch()
        self._watchdog = threading.Thread(target=self._watch, name="heartbeat", daemon=True)
        self._watchdog.start()

    def before_worker_shutdown(self, broker, worker):
        self._stopped.set()
        if self._watchdog is not None:
            self._watchdog.join(timeout=self.interval + 1)
            self._watchdog = None

    def before_process_message(self, broker, message):
        stuck_at = time.monotonic() + _time_limit_ms(broker, message) / 1000 + self.stall_grace
        with self._lock:
            self._running[message.message_id] = stuck_at

    def after_process_message(self, broker, message, *, result=None, exception=None):
        with self._lock:
            self._running.pop(message.message_id, None)
        if not self._stopped.is_set():
            self._touch()

    after_skip_message = after_process_message

    def after_enqueue(self, broker, message, delay):
        # Only in a process without a worker (the scheduler): a worker's liveness must come
        # from its own threads, not from messages it happens to send.
        if self._worker is None:
            self._touch()

    # --- the watchdog ---
    def healthy(self) -> bool:
        """Every consumer and worker thread alive, and none stuck on one message."""
        worker = self._worker
        if worker is None:
            return False
        threads = list(worker.consumers.values()) + list(worker.workers)
        if not threads or not all(thread.is_alive() for thread in threads):
            return False
        with self._lock:
            first_stuck_at = min(self._running.values(), default=float("inf"))
        return time.monotonic() < first_stuck_at

    def _watch(self):
        while not self._stopped.wait(self.interval):
            if self.healthy():
                self._touch()

    def _touch(self):
        try:
            touch(self.path)
        except OSError as error:  # never let the probe's file break the work itself
            log.warning("heartbeat file %s not touched: %s", self.path, error.strerror)


def _time_limit_ms(broker, message) -> float:
    """The limit Dramatiq's TimeLimit middleware applies to this message."""
    limit = message.options.get("time_limit")
    if limit is None:
        try:
            limit = broker.get_actor(message.actor_name).options.get("time_limit")
        except Exception:  # noqa: BLE001  (an unknown actor is skipped by Dramatiq anyway)
            limit = None
    if limit is None:
        limit = next((m.time_limit for m in broker.middleware if isinstance(m, TimeLimit)),
                     600_000)
    return float(limit)


def check(path: str, max_age: float) -> tuple[bool, str]:
    """Whether the heartbeat at ``path`` is younger than ``max_age`` seconds."""
    try:
        age = time.time() - os.stat(path).st_mtime
    except FileNotFoundError:
        return False, f"no heartbeat file at {path}"
    if age > max_age:
        return False, f"heartbeat is {age:.0f}s old (limit {max_age:.0f}s)"
    return True, f"heartbeat is {age:.0f}s old"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m actors.heartbeat",
                                     description="Liveness probe of a Dramatiq worker.")
    commands = parser.add_subparsers(dest="command", required=True)
    probe = commands.add_parser("check", help="exit 0 if the heartbeat file is fresh, else 1")
    probe.add_argument("--file", required=True, help="the worker's WORKER_HEARTBEAT_FILE")
    probe.add_argument("--max-age", type=float, default=60.0,
                       help="seconds after which the worker counts as dead (default 60)")
    args = parser.parse_args(argv)
    ok, reason = check(args.file, args.max_age)
    print(reason, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
