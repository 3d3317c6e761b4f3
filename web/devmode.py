"""The in-process dev mode: SQLite, StubBroker, worker threads and console channels."""
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


def run_dev(app, *, port: int) -> None:
    if app.config["BROKER_URL"]:
        raise click.UsageError("dev mode runs without RabbitMQ: unset BROKER_URL")
    with app.app_context():
        upgrade(revision="heads")
    worker = start_workers(app)
    click.echo(BANNER.format(port=port))
    try:
        run_simple("127.0.0.1", port, app, use_reloader=False, threaded=True)
    finally:
        worker.stop()
