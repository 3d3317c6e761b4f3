"""The migrations build exactly the schema the models describe, and take it down again."""
import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from db import Patient, db, record_consent
from tests.factories import appointment, moved, post_event
from tests.services import create_database, drop_database, unique_name
from web import create_app

MIGRATIONS = os.path.join(os.path.dirname(__file__), "..", "..", "db", "migrations")


def _differences(app) -> list:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_there_is_one_head():
    heads = ScriptDirectory(MIGRATIONS).get_heads()
    assert len(heads) == 1, heads


def test_postgresql_schema_matches_the_models(app):
    assert _differences(app) == []


def test_a_fresh_database_upgrades_to_the_models_and_downgrades_to_nothing():
    name = unique_name("pn_migrations")
    app = create_app({"DATABASE_URL": create_database(name), "BROKER_URL": None})
    try:
        with app.app_context():
            upgrade()
            assert _differences(app) == []
            downgrade(revision="base")
            tables = db.session.execute(text(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"))
            assert {row[0] for row in tables} <= {"alembic_version"}
            db.session.remove()
            db.engine.dispose()
    finally:
        drop_database(name)


@pytest.mark.parametrize("table", ["notification_events", "consent_changes"])
@pytest.mark.parametrize("statement", ["DELETE FROM {table}", "UPDATE {table} SET id = id"])
def test_history_tables_refuse_updates_and_deletes(client, table, statement):
    first = appointment()
    post_event(client, "appointment.created", first)
    post_event(client, "appointment.updated", moved(first, hours=1))
    record_consent(db.session.execute(select(Patient)).scalar_one(), "sms", opted_out=True,
                   source="staff", reason="asked by phone")
    db.session.commit()
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(text(statement.format(table=table)))
    db.session.rollback()
