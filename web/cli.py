"""``flask --app web ...`` commands for developers and ops."""
from datetime import UTC, datetime, timedelta

import click
import requests
from flask import current_app
from flask.cli import AppGroup

from web.sample_event import sample_appointment, signed_request

events = AppGroup("events", help="Send signed appointment events to a running web app.")


@events.command("send-sample")
@click.option("--url", default=None, help="Base URL of the web app (default: PUBLIC_BASE_URL).")
def send_sample(url):
    """Book a demo appointment, then move it a day later: the patient gets a change notice."""
    base = (url or current_app.config["PUBLIC_BASE_URL"]).rstrip("/")
    secret = current_app.config["WEBHOOK_SECRET"]
    now = datetime.now(UTC)
    steps = [("appointment.created", sample_appointment(days_ahead=5, hour=9,
                                                        updated_at=now - timedelta(seconds=1))),
             ("appointment.updated", sample_appointment(days_ahead=6, hour=14, updated_at=now))]
    for event_type, appointment in steps:
        body, headers = signed_request(secret, {"type": event_type, "appointment": appointment})
        try:
            response = requests.post(f"{base}/api/v1/appointment-events", data=body,
                                     headers=headers, timeout=10)
        except requests.ConnectionError:
            raise click.ClickException(f"nothing answers at {base}; is `make run` running?")
        click.echo(f"{event_type}: HTTP {response.status_code} {response.text.strip()}")
        if response.status_code >= 300:
            raise SystemExit(1)
    click.echo("The change notice appears in the `make run` terminal as '--- SMS to ...' "
               "and '--- E-mail to ...'.")


@click.command("dev")
@click.option("--port", default=5000, show_default=True)
def dev(port):
    """Run everything in one process: web app, workers, ticks (needs BROKER_URL unset)."""
    from web.devmode import run_dev
    run_dev(current_app._get_current_object(), port=port)


def init_app(app) -> None:
    app.cli.add_command(events)
    app.cli.add_command(dev)
    from web import cli_etl
    cli_etl.init_app(app)
    from web.cli_dead_letters import dead_letters
    app.cli.add_command(dead_letters)
    from web import cli_reminders
    cli_reminders.init_app(app)
    from web import cli_report
    cli_report.init_app(app)
    from web.cli_outbox import outbox
    app.cli.add_command(outbox)
    from web import cli_pause, cli_rotate
    cli_pause.init_app(app)
    cli_rotate.init_app(app)
    from web import cli_broadcast
    cli_broadcast.init_app(app)
