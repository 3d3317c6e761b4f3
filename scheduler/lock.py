"""A PostgreSQL session advisory lock held for the life of the process.

The lock lives on a connection of its own, outside the pool: it is released when the
process ends or the connection drops, which is exactly when a standby should take over.
"""
import logging
import time

from sqlalchemy import func, select, text

log = logging.getLogger(__name__)

#: Arbitrary, fixed: the advisory lock id of the scheduler ("schedlr" in ASCII).
SCHEDULER_LOCK_ID = 0x7363686564_6C72


class LockLost(RuntimeError):
    """The connection holding the lock is gone; another scheduler may already run."""


class SchedulerLock:
    def __init__(self, engine, *, lock_id: int = SCHEDULER_LOCK_ID, retry_seconds: float = 5.0):
        self.engine, self.lock_id, self.retry_seconds = engine, lock_id, retry_seconds
        self.connection = None

    def acquire(self, *, sleep=time.sleep) -> None:
        """Block until this process holds the lock."""
        waiting = False
        while True:
            connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            if connection.execute(select(func.pg_try_advisory_lock(self.lock_id))).scalar():
                self.connection = connection
                log.info("scheduler lock acquired", extra={"lock_id": self.lock_id})
                return
            connection.close()
            if not waiting:
                log.info("another scheduler holds the lock; waiting",
                         extra={"lock_id": self.lock_id, "retry_seconds": self.retry_seconds})
                waiting = True
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
            self.connection.close()
            self.connection = None
