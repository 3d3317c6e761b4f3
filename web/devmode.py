"""The in-process dev mode: SQLite, StubBroker, worker threads and console channels."""
import threading

import click
import dramatiq
from flask_migrate import upgrade
from werkzeug.serving import run_simple

BANNER = """
patient-notifier dev mode: web app on http://127.0.0.1:{port}, workers in this process,
SMS and e-mail printed here.

In another terminal, send a signed sample event:
    .venv/bin/flask --app web events send-sample
The change notice appears below as '--- SMS to ...' and '--- E-mail to ...'.
OpenAPI: http://127.0.0.1:{port}/api/v1/openapi.json
"""


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


def run_dev(app, *, port: int) -> None:
    if app.config["BROKER_URL"]:
        raise click.UsageError("dev mode runs without RabbitMQ: unset BROKER_URL")
    with app.app_context():
        upgrade(revision="heads")
    worker = start_workers(app)
    ticks = start_ticks(app)
    click.echo(BANNER.format(port=port))
    try:
        run_simple("127.0.0.1", port, app, use_reloader=False, threaded=True)
    finally:
        ticks.set()
        worker.stop()
