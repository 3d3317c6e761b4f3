"""The in-process dev mode: SQLite, StubBroker, worker threads and console channels."""
import secrets
import threading

import click
import dramatiq
from flask_migrate import upgrade
from werkzeug.serving import run_simple

from web.admin.cli import seed_demo_account

BANNER = """
patient-notifier dev mode: web app on http://127.0.0.1:{port}, workers in this process,
SMS and e-mail printed here.

In another terminal, send a signed sample event:
    .venv/bin/flask --app web events send-sample
The change notice appears below as '--- SMS to ...' and '--- E-mail to ...'.
OpenAPI: http://127.0.0.1:{port}/api/v1/openapi.json
{upstream}
Admin: http://127.0.0.1:{port}/admin/  demo account {demo_email} / {demo_password} (admin role;
a new password on every start)
"""
DEMO_EMAIL = "demo@clinic.example"


def start_workers(app) -> dramatiq.Worker:
    broker = app.extensions["dramatiq"]
    worker = dramatiq.Worker(broker, worker_threads=app.config["WORKER_THREADS"],
                             worker_timeout=100)
    worker.start()
    return worker


def start_ticks(app, *, every: float = 60.0) -> threading.Event:
    """What the scheduler process does in production: every periodic actor once a minute."""
    broker = app.extensions["dramatiq"]
    periodic = [actor for actor in broker.actors.values() if "periodic" in actor.options]
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            for actor in periodic:
                actor.send()
            stop.wait(every)

    threading.Thread(target=loop, name="dev-ticks", daemon=True).start()
    return stop


def start_demo_upstream(app) -> str:
    """Without UPSTREAM_API_URL, pull demo appointments from a local upstream simulator;
    either way, one pull runs at start-up (the ETL tick then repeats it every interval)."""
    from actors.etl import etl_pull
    from db import utcnow
    from fakes.upstream import demo_simulator
    line = f"Upstream: {app.config['UPSTREAM_API_URL']} (pulled at start-up)"
    if not app.config["UPSTREAM_API_URL"]:
        simulator = demo_simulator(today=utcnow().date())
        app.config.update(UPSTREAM_API_URL=simulator.url, UPSTREAM_API_TOKEN=simulator.token)
        line = (f"Upstream: a simulator at {simulator.url} with {len(simulator.ids())} demo "
                "appointments and 10% failures, pulled now and every ETL_INTERVAL_MINUTES\n"
                "(see the pulls: .venv/bin/flask --app web etl status)")
    etl_pull.send(trigger="dev")
    return line


def run_dev(app, *, port: int) -> None:
    if app.config["BROKER_URL"]:
        raise click.UsageError("dev mode runs without RabbitMQ: unset BROKER_URL")
    with app.app_context():
        upgrade(revision="heads")
        demo_password = secrets.token_urlsafe(12)
        seed_demo_account(DEMO_EMAIL, demo_password)
    upstream = start_demo_upstream(app)
    worker = start_workers(app)
    ticks = start_ticks(app)
    click.echo(BANNER.format(port=port, demo_email=DEMO_EMAIL, demo_password=demo_password,
                             upstream=upstream))
    try:
        run_simple("127.0.0.1", port, app, use_reloader=False, threaded=True)
    finally:
        ticks.set()
        worker.stop()
