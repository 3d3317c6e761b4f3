"""INSERT ... ON CONFLICT DO NOTHING for the upserts of upstream records."""
from sqlalchemy.dialects import postgresql

from db import db


def insert_ignoring_conflict(model, values: dict, *unique_columns: str) -> bool:
    """Insert a row unless one with the same unique columns exists; True if inserted.

    Two deliveries of the same new record racing each other both succeed this way, and
    the loser then reads the winner's row under its lock.
    """
    statement = postgresql.insert(model).values(**values).on_conflict_do_nothing(
        index_elements=list(unique_columns))
    return db.session.execute(statement).rowcount == 1
