"""The in-process dev mode: embedded PostgreSQL, StubBroker, worker threads, console channels."""
import errno
import secrets
import signal
import socket
import sys
import threading
import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import click
import dramatiq
from flask_migrate import upgrade
from werkzeug.serving import make_server

from web.admin.cli import seed_demo_account

BANNER = """
patient-notifier dev mode: web app on {url}, workers in this process,
the messages patients would get printed here as framed blocks ('--- SMS to ...').
{upstream}
In another terminal, in this folder:
    .venv/bin/flask --app web events send-sample --url {url}
        (books a demo appointment, then moves it: a change notice by SMS and e-mail)
    .venv/bin/flask --app web reminders status{date_option}
    .venv/bin/flask --app web etl status
OpenAPI: {url}/api/v1/openapi.json
Admin: {url}/admin/  demo account {demo_email} / {demo_password} (admin role;
a new password on every start)
"""
STORY = """
Within the first minute, "Open Now Clinic" ({zone}, where the reminder window is open now)
reminds three patients of their appointments on {appointment_day}:
  Ada by SMS and e-mail (sent), Alan by SMS to a landline the console refuses (failed),
  Grace by SMS to that landline too, so by e-mail instead (fallback).
"""
DEMO_EMAIL = "demo@clinic.example"
#: For the first minute dev ticks come every few seconds, so that the demo's reminders go
#: out at once; then once a minute, as in production. Every periodic actor depends on state
#: and the clock, not on how often it runs.
FIRST_MINUTE_TICK_SECONDS = 5.0


def start_workers(app) -> dramatiq.Worker:
    broker = app.extensions["dramatiq"]
    worker = dramatiq.Worker(broker, worker_threads=app.config["WORKER_THREADS"],
                             worker_timeout=100)
    worker.start()
    return worker


def start_ticks(app, *, every: float = 60.0, at_first: float = FIRST_MINUTE_TICK_SECONDS
                ) -> threading.Event:
    """What the scheduler process does in production: every periodic actor, repeatedly."""
    broker = app.extensions["dramatiq"]
    periodic = [actor for actor in broker.actors.values() if "periodic" in actor.options]
    stop = threading.Event()

    def loop():
        started = time.monotonic()
        while not stop.is_set():
            for actor in periodic:
                actor.send()
            stop.wait(at_first if time.monotonic() - started < 60 else every)

    threading.Thread(target=loop, name="dev-ticks", daemon=True).start()
    return stop


def start_demo_upstream(app) -> tuple[str, str | None]:
    """Without UPSTREAM_API_URL, serve the demo upstream (fakes.demo) and pull it before the
    first tick, so the tick plans the demo clinic's reminders at once; with a real one,
    start a pull in the background. Returns the banner's lines and the demo's sending day."""
    from actors.etl import etl_pull, pull_now
    from db import utcnow
    from fakes.demo import demo_simulator, open_zone
    config = app.config
    if config["UPSTREAM_API_URL"]:
        etl_pull.send(trigger="dev")
        return f"Upstream: {config['UPSTREAM_API_URL']} (pulled at start-up)\n", None
    now = utcnow()
    simulator = demo_simulator(now=now, window=config["REMINDER_WINDOW"],
                               days_before=config["REMINDER_DAYS_BEFORE"])
    config.update(UPSTREAM_API_URL=simulator.url, UPSTREAM_API_TOKEN=simulator.token)
    with app.app_context():
        run = pull_now(trigger="dev")
    zone = open_zone(now, config["REMINDER_WINDOW"])
    sending_day = now.astimezone(ZoneInfo(zone)).date()
    appointment_day = sending_day + timedelta(days=config["REMINDER_DAYS_BEFORE"])
    pulled = "complete" if run is not None and run.complete else "incomplete, retried later"
    lines = (f"Upstream: a simulator at {simulator.url} with {len(simulator.ids())} demo "
             f"appointments and 10% failures, pulled now ({pulled}) and every "
             "ETL_INTERVAL_MINUTES.\n"
             + STORY.format(zone=zone, appointment_day=appointment_day))
    return lines, sending_day.isoformat()


def _listen(port: int) -> socket.socket:
    """The web app's socket, bound before anything else starts: a taken port is one clear
    line and exit 1, not a traceback or a process stuck on its worker threads."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.bind(("127.0.0.1", port))
    except OSError as error:
        listener.close()
        if error.errno == errno.EADDRINUSE:
            raise click.ClickException(f"port {port} is taken by another program; choose "
                                       "another: make run PORT=5050") from None
        raise click.ClickException(f"cannot listen on 127.0.0.1:{port}: {error.strerror}"
                                   ) from None
    listener.listen(128)
    return listener


def _stop_on_sigterm() -> None:
    # SIGTERM (kill, a test's teardown) would end the process without atexit handlers, and
    # the embedded PostgreSQL stops in one: turn it into a normal exit instead.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


def run_dev(app, *, port: int) -> None:
    if app.config["BROKER_URL"]:
        raise click.UsageError("dev mode runs without RabbitMQ: unset BROKER_URL")
    listener = _listen(port)
    url = f"http://127.0.0.1:{port}"
    _stop_on_sigterm()
    with app.app_context():
        upgrade(revision="heads")
        demo_password = secrets.token_urlsafe(12)
        seed_demo_account(DEMO_EMAIL, demo_password)
    upstream, sending_day = start_demo_upstream(app)
    worker = start_workers(app)
    ticks = start_ticks(app)
    click.echo(BANNER.format(url=url, demo_email=DEMO_EMAIL, demo_password=demo_password,
                             upstream=upstream,
                             date_option=f" --date {sending_day}" if sending_day else ""))
    server = make_server("127.0.0.1", port, app, threaded=True, fd=listener.fileno())
    listener.close()  # the server holds its own duplicate of the socket
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        ticks.set()
        server.server_close()
        worker.stop()
