"""``python -m scheduler``: take the scheduler lock, then run periodiq for every periodic actor.

It rides out outages in-process (docs/architecture.md, "Crashes and outages"): a lost lock
connection is retaken once the database is back (or the process waits as the standby), a
tick that cannot be published while RabbitMQ is away is skipped (the next minute's tick
does the same work); only SIGTERM or SIGINT ends it.
"""
import logging
import signal
import sys

import dramatiq
import pendulum
from periodiq import Scheduler, print_periodic_actors

from scheduler.lock import SchedulerLock

log = logging.getLogger("scheduler")


class GuardedScheduler(Scheduler):
    """periodiq's scheduler that enqueues only while it holds the lock."""

    def __init__(self, actors, lock: SchedulerLock):
        super().__init__(actors=actors)
        self.lock = lock

    def schedule(self):
        self.lock.ensure()
        return super().schedule()

    def send_actors(self, actors, now):
        for actor in actors:
            try:
                super().send_actors([actor], now)
            except dramatiq.errors.BrokerError as error:
                # A missed minute is harmless: a tick works from the clock and the rows.
                log.warning("could not enqueue a periodic message; skipped this time",
                            extra={"actor": actor.actor_name, "error": type(error).__name__})


def _stop(signum, frame):
    raise SystemExit(0)


def periodic_actors(broker) -> list:
    return [actor for actor in broker.actors.values() if "periodic" in actor.options]


def main() -> int:
    # periodiq reads the local time through pendulum; cron specs are meant in UTC (TZ=UTC),
    # whatever the container's TZ says.
    pendulum.set_local_timezone(pendulum.timezone("UTC"))
    from web import create_app
    app = create_app()
    broker = app.extensions["dramatiq"]
    actors = periodic_actors(broker)
    if not actors:
        log.error("no periodic actor to schedule")
        return 1
    with app.app_context():
        from db import db
        lock = SchedulerLock(db.engine, retry_seconds=app.config["SCHEDULER_LOCK_RETRY_SECONDS"])
        lock.acquire()
    lock.watch(app.config["SCHEDULER_LOCK_CHECK_SECONDS"])
    print_periodic_actors(actors)
    scheduler = GuardedScheduler(actors, lock)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _stop)
    try:
        scheduler.schedule()
        scheduler.loop()
    finally:
        lock.release()
        log.info("scheduler stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
