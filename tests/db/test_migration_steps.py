"""Every migration upgrades, downgrades one step and upgrades again, on PostgreSQL.

A release is rolled back with ``flask --app web db downgrade <revision>`` (docs/operations.md
"Roll back a release"), so each step down must leave exactly the schema of the revision
below it: not an error halfway, not a table, trigger or constraint left behind that the next
upgrade trips over. The schema is compared as PostgreSQL describes it, not as the models do,
because older revisions have no models any more.
"""
import os
import re
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from db import db
from tests.db.seed import CONFIG, seed
from tests.services import create_database, drop_database, unique_name
from web import create_app

MIGRATIONS = os.path.join(os.path.dirname(__file__), "..", "..", "db", "migrations")

SCHEMA_QUERIES = {
    "columns": "SELECT table_name, column_name, data_type, is_nullable, column_default "
               "FROM information_schema.columns WHERE table_schema = 'public'",
    "constraints": "SELECT conrelid::regclass::text, conname, contype, "
                   "pg_get_constraintdef(oid) FROM pg_constraint "
                   "WHERE connamespace = 'public'::regnamespace",
    "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes "
               "WHERE schemaname = 'public'",
    "triggers": "SELECT event_object_table, trigger_name, event_manipulation, action_statement "
                "FROM information_schema.triggers WHERE trigger_schema = 'public'",
    "functions": "SELECT proname, pg_get_functiondef(oid) FROM pg_proc "
                 "WHERE pronamespace = 'public'::regnamespace",
    "sequences": "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'",
}


def revisions() -> list[str]:
    """Every revision from the first to the head, in order."""
    script = ScriptDirectory(MIGRATIONS)
    return [r.revision for r in reversed(list(script.walk_revisions("base", "heads")))]


def schema() -> dict[str, frozenset]:
    """Everything about the public schema but alembic's own bookkeeping."""
    found = {}
    for name, query in SCHEMA_QUERIES.items():
        rows = db.session.execute(text(query)).all()
        found[name] = frozenset(tuple(row) for row in rows if "alembic_version" not in row)
    db.session.rollback()
    return found


def current() -> str | None:
    exists = db.session.execute(text("SELECT to_regclass('alembic_version')")).scalar()
    version = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar() \
        if exists else None
    db.session.rollback()
    return version


def differences(expected: dict, actual: dict) -> dict:
    return {name: {"missing": sorted(expected[name] - actual[name], key=repr),
                   "extra": sorted(actual[name] - expected[name], key=repr)}
            for name in expected if expected[name] != actual[name]}


@pytest.fixture
def empty_app():
    name = unique_name("pn_steps")
    app = create_app({**CONFIG, "DATABASE_URL": create_database(name)})
    try:
        with app.app_context():
            yield app
            db.session.remove()
            db.engine.dispose()
    finally:
        drop_database(name)


def test_the_chain_is_linear_and_starts_at_0001():
    chain = revisions()
    assert chain[0] == "0001" and len(chain) == len(set(chain))
    assert len(ScriptDirectory(MIGRATIONS).get_heads()) == 1


def test_every_revision_downgrades_one_step_and_upgrades_again(empty_app):
    below = schema()  # the empty database, "base"
    for revision in revisions():
        upgrade(revision=revision)
        assert current() == revision
        at = schema()
        downgrade(revision="-1")
        assert differences(below, schema()) == {}, f"{revision} downgrade left the schema changed"
        upgrade(revision=revision)
        assert differences(at, schema()) == {}, f"{revision} upgrades differently the 2nd time"
        below = at


def test_the_head_downgrades_to_base_one_step_at_a_time_with_rows_in_it(empty_app):
    """As a rollback meets it: tables with rows, the append-only history among them."""
    upgrade(revision="heads")
    seed(empty_app)
    db.session.remove()
    for revision in reversed(revisions()):
        assert current() == revision
        downgrade(revision="-1")
    assert current() is None
    assert all(not rows for name, rows in schema().items()), schema()


def test_the_rollback_guide_lists_every_revision_in_chain_order():
    """docs/operations.md "Roll back a release" names the revision to go to from its table."""
    guide = (Path(MIGRATIONS).parents[1] / "docs" / "operations.md").read_text()
    section = guide.split("## Roll back a release", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\| (\d{4}) \|", section, flags=re.MULTILINE)
    assert listed == revisions()
    assert "flask --app web db downgrade" in section
