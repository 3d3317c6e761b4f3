"""A PostgreSQL session advisory lock held for the life of the process.

The lock lives on a connection of its own, outside the pool: it is released when the
process ends or the connection drops, which is exactly when a standby should take over.
When this process's connection drops (a database restart, a network blip), it waits for
the database and takes the lock again, or waits as the standby behind whoever took it
first (docs/architecture.md, "Crashes and outages").
"""
import logging
import threading
import time

from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)

#: Arbitrary, fixed: the advisory lock id of the scheduler ("schedlr" in ASCII).
SCHEDULER_LOCK_ID = 0x7363686564_6C72


class LockLost(RuntimeError):
    """The connection holding the lock is gone; another scheduler may already run."""


class SchedulerLock:
    def __init__(self, engine, *, lock_id: int = SCHEDULER_LOCK_ID, retry_seconds: float = 5.0):
        self.engine, self.lock_id, self.retry_seconds = engine, lock_id, retry_seconds
        self.connection = None
        self._mutex = threading.Lock()  # the watchdog and the scheduler's minute

    def _try(self) -> bool:
        """One attempt; False when another process holds the lock. Raises SQLAlchemyError
        when the database cannot be reached."""
        connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = connection.execute(select(func.pg_try_advisory_lock(self.lock_id))).scalar()
        except SQLAlchemyError:
            connection.invalidate()
            raise
        if got:
            self.connection = connection
            return True
        connection.close()
        return False

    def acquire(self, *, sleep=time.sleep) -> None:
        """Block until this process holds the lock, through database outages."""
        waiting = unreachable = False
        while True:
            try:
                if self._try():
                    log.info("scheduler lock acquired", extra={"lock_id": self.lock_id})
                    return
                if not waiting:
                    log.info("another scheduler holds the lock; waiting",
                             extra={"lock_id": self.lock_id, "retry_seconds": self.retry_seconds})
                    waiting = True
            except SQLAlchemyError as error:
                if not unreachable:  # once per outage, not every few seconds
                    log.warning("database unreachable; waiting to take the scheduler lock",
                                extra={"error": type(error).__name__})
                    unreachable = True
            sleep(self.retry_seconds)

    def check(self) -> None:
        """Raise LockLost unless the lock's connection is still alive."""
        if self.connection is None:
            return
        try:
            self.connection.execute(text("SELECT 1"))
        except Exception as error:
            raise LockLost("the scheduler lock's database connection was lost") from error

    def release(self) -> None:
        if self.connection is not None:
            try:
                self.connection.close()
            except SQLAlchemyError:
                self.connection.invalidate()
            self.connection = None

    def ensure(self) -> None:
        """Return once the lock is (again) ours: what the scheduler asks before enqueueing."""
        with self._mutex:
            try:
                self.check()
            except LockLost:
                log.warning("scheduler lock lost; waiting for the database to take it again")
                self.retake()

    def watch(self, interval: float) -> threading.Thread:
        """Check the lock every ``interval`` seconds in a daemon thread, so that a blip is
        noticed (and the lock retaken) between two minutes, not at the next one."""
        def run():
            while True:
                time.sleep(interval)
                self.ensure()

        thread = threading.Thread(target=run, name="scheduler-lock-watch", daemon=True)
        thread.start()
        return thread

    def retake(self, *, sleep=time.sleep) -> None:
        """After LockLost: drop the dead connection and block until the lock is ours again."""
        connection, self.connection = self.connection, None
        if connection is not None:
            try:
                connection.invalidate()
            except SQLAlchemyError:
                pass  # already gone
        self.acquire(sleep=sleep)
