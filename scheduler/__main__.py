"""``python -m scheduler``: take the scheduler lock, then run periodiq for every periodic actor."""
import logging
import sys

import pendulum
from periodiq import Scheduler, print_periodic_actors

from scheduler.lock import LockLost, SchedulerLock

log = logging.getLogger("scheduler")


class GuardedScheduler(Scheduler):
    """periodiq's scheduler that stops enqueueing the moment its lock is gone."""

    def __init__(self, actors, lock: SchedulerLock):
        super().__init__(actors=actors)
        self.lock = lock

    def schedule(self):
        self.lock.check()
        return super().schedule()


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
    print_periodic_actors(actors)
    scheduler = GuardedScheduler(actors, lock)
    try:
        scheduler.schedule()
        scheduler.loop()
    except LockLost:
        log.error("scheduler lock lost; exiting so that a standby takes over")
        return 1
    finally:
        lock.release()
    return 0


if __name__ == "__main__":
    sys.exit(main())
