"""One pull at a time, across every worker (a PostgreSQL advisory lock).

Two pulls racing over the same window would each see the other's ids as missing."""
from contextlib import contextmanager

from sqlalchemy import text

from db import db

#: Arbitrary but fixed: the advisory lock key of "the ETL pull".
PULL_LOCK_KEY = 0x45544C50  # "ETLP"


@contextmanager
def pull_lock():
    """Yield True when this process may pull now, False when another pull is running."""
    # A connection of its own: the pull commits page by page on the session's connection,
    # and a session-level advisory lock lives exactly as long as the connection holding it.
    with db.engine.connect() as connection:
        acquired = connection.execute(text("SELECT pg_try_advisory_lock(:key)"),
                                      {"key": PULL_LOCK_KEY}).scalar_one()
        connection.commit()
        try:
            yield acquired
        finally:
            if acquired:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"),
                                   {"key": PULL_LOCK_KEY})
                connection.commit()
