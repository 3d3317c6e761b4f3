"""INSERT ... ON CONFLICT DO NOTHING: upstream records, replies, a new alert key."""
from sqlalchemy.dialects import postgresql

from db.base import db


def insert_ignoring_conflict(model, values: dict, *unique_columns: str) -> bool:
    """Insert a row unless one with the same unique columns exists; True if inserted.

    Two deliveries of the same new record racing each other both succeed this way, and
    the loser then reads the winner's row under its lock.
    """
    statement = postgresql.insert(model).values(**values).on_conflict_do_nothing(
        index_elements=list(unique_columns))
    return db.session.execute(statement).rowcount == 1


def insert_many_ignoring_conflict(model, rows: list[dict], *unique_columns: str,
                                  returning: tuple[str, ...] = ()) -> list[tuple]:
    """The same for many rows; the ``returning`` columns (by default the unique ones) of
    the rows inserted.

    One statement on the table, not the ORM: compiled once and cached, SQLAlchemy's
    "insertmanyvalues" sends a page's rows as one multi-row INSERT. The caller passes each
    key once (PostgreSQL refuses one statement touching a row twice).
    """
    if not rows:
        return []
    table = model.__table__
    statement = (postgresql.insert(table)
                 .on_conflict_do_nothing(index_elements=list(unique_columns))
                 .returning(*(table.c[name] for name in returning or unique_columns)))
    return [tuple(row) for row in db.session.execute(statement, rows)]
