"""Fixtures shared by the whole suite: real PostgreSQL, real RabbitMQ, fake providers."""
from contextlib import contextmanager

import dramatiq
import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from actors.clinic_settings import forget_clinic_settings
from actors.rendering import forget_stored_templates
from db import db
from fakes.smtp import SmtpSink
from fakes.twilio import FakeTwilio
from tests import services
from tests.services import wait_until
from web import create_app

TWILIO_SID = "AC" + "1" * 32
TWILIO_TOKEN = "twilio-test-token"
TEST_SECRET = "whsec_dGVzdC1zZWNyZXQtZm9yLXRoZS1zdWl0ZQ=="


@pytest.fixture(scope="session")
def database_admin_app():
    """An app on the run's own database, migrated to the newest schema, used to clean up."""
    name = services.unique_name("pn_test")
    url = services.create_database(name)
    app = create_app({"DATABASE_URL": url, "BROKER_URL": None})
    with app.app_context():
        upgrade(revision="heads")
    yield app
    with app.app_context():
        db.engine.dispose()
    services.drop_database(name)


@pytest.fixture(scope="session")
def database_url(database_admin_app):
    return database_admin_app.config["DATABASE_URL"]


@pytest.fixture(scope="session")
def rabbitmq_url():
    name = services.unique_name("pn_test")
    url = services.create_vhost(name)
    yield url
    services.delete_vhost(name)


@pytest.fixture(scope="session")
def twilio_server():
    server = FakeTwilio(account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def smtp_server():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def fake_providers(twilio_server, smtp_server):
    twilio_server.reset()
    smtp_server.reset()
    return twilio_server, smtp_server


def base_config(database_url, twilio_server, smtp_server, **overrides) -> dict:
    config = {
        "DATABASE_URL": database_url, "BROKER_URL": None, "WEBHOOK_SECRET": TEST_SECRET,
        "SMS_CHANNEL": "twilio", "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN, "TWILIO_FROM_NUMBER": "+13125550199",
        "TWILIO_API_BASE_URL": twilio_server.url,
        "EMAIL_CHANNEL": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp_server.port,
        "PUBLIC_BASE_URL": "https://notify.clinic.example",
        "PRIORITY_MIN_BACKOFF_MS": 100, "PRIORITY_MAX_BACKOFF_MS": 400,
        "REMINDER_MIN_BACKOFF_MS": 100, "REMINDER_MAX_BACKOFF_MS": 400,
        "SEND_MAX_RETRIES": 3, "PROVIDER_TIMEOUT_SECONDS": 5.0,
        # Not the dev defaults: with BROKER_URL set the app refuses those (web/config.py).
        "SECRET_KEY": "test-secret-key-not-the-dev-default",
        "SECURITY_PASSWORD_SALT": "test-password-salt-not-the-dev-default",
    }
    config.update(overrides)
    return config


def _dirty() -> list[tuple[str, str]]:
    """("table", name) of each table holding rows, ("sequence", name) of each sequence used."""
    probes = [f"SELECT 'table', '{t.name}' WHERE EXISTS (SELECT FROM \"{t.name}\")"
              for t in db.metadata.sorted_tables]
    probes.append("SELECT 'sequence', sequencename FROM pg_sequences"
                  " WHERE schemaname = 'public' AND last_value IS NOT NULL")
    return db.session.execute(text(" UNION ALL ".join(probes))).all()


def _empty_the_database():
    """Empty what the test wrote, in one round trip, as TRUNCATE ... RESTART IDENTITY would.

    TRUNCATE of every table cost ~190 ms per test (each table gets new files); most tests
    write a few rows to a few tables, and DELETE of those takes microseconds. In replica mode
    neither the foreign keys nor the history tables' append-only triggers fire: every row of
    each table goes, so nothing is left dangling. Not savepoints: many tests run workers on
    other connections, which a test's open transaction would hide rows from.
    """
    dirty = _dirty()
    db.session.rollback()
    if not dirty:
        return
    statements = ["SET LOCAL session_replication_role = replica"]
    statements += [f'DELETE FROM "{name}"' for kind, name in dirty if kind == "table"]
    statements += [f"SELECT setval('\"{name}\"', 1, false)"  # what RESTART IDENTITY does
                   for kind, name in dirty if kind == "sequence"]
    db.session.execute(text(";\n".join(statements)))
    db.session.commit()


@contextmanager
def app_factory(database_admin_app, database_url, twilio, smtp):
    """Yield ``factory(**overrides)`` building test apps; afterwards their connections are
    closed and the database emptied (shared by the per-test and per-module fixtures)."""
    apps = []

    def factory(**overrides):
        app = create_app(base_config(database_url, twilio, smtp, **overrides))
        app.config["TESTING"] = True
        apps.append(app)
        return app

    try:
        yield factory
    finally:
        for app in apps:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
        with database_admin_app.app_context():
            _empty_the_database()


@pytest.fixture
def make_app(database_admin_app, database_url, fake_providers):
    """Build an app (StubBroker unless BROKER_URL is given) with a clean database."""
    twilio, smtp = fake_providers
    with app_factory(database_admin_app, database_url, twilio, smtp) as factory:
        yield factory
    forget_stored_templates()  # a template edited in one test must not serve the next
    forget_clinic_settings()  # nor a clinic's help contact (location ids start again)


@pytest.fixture
def app(make_app):
    app = make_app()
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def stub_broker(app):
    broker = app.extensions["dramatiq"]
    broker.flush_all()
    return broker


@contextmanager
def on_rabbitmq(make_app, rabbitmq_url, **settings):
    """An app whose broker is the test RabbitMQ vhost, its queues empty before and after."""
    app = make_app(BROKER_URL=rabbitmq_url, **settings)
    broker = app.extensions["dramatiq"]
    broker.flush_all()
    try:
        yield app
    finally:
        broker.flush_all()
        broker.close()


@contextmanager
def running_worker(app, *, queues=None, threads=2):
    """A real Dramatiq worker on the app's broker, in threads of this process."""
    worker = dramatiq.Worker(app.extensions["dramatiq"], queues=queues, worker_threads=threads,
                             worker_timeout=50)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()


def wait_for_commits(predicate, what: str, timeout: float = 90.0):
    """Wait for workers on other connections: each poll starts a new transaction (a rollback
    also expires loaded rows), so their commits are seen; returns the predicate's value."""
    return wait_until(predicate, timeout=timeout, what=what, before_each=db.session.rollback)


def drain(app, *, rounds: int = 3):
    """Run every message the StubBroker holds (and those they enqueue) to completion."""
    broker = app.extensions["dramatiq"]
    with running_worker(app, threads=2) as worker:
        for _ in range(rounds):  # a message may enqueue another on a queue already joined
            for queue in list(broker.queues):
                broker.join(queue, timeout=60_000, fail_fast=False)
            worker.join()
