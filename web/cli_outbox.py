"""``flask --app web outbox list|retry``: the events for the appointment system, for ops."""
import click
from flask.cli import AppGroup
from sqlalchemy import select

from actors.outbound_webhook import retry_failed
from db import OUTBOX_STATUSES, OutboundWebhook, db

outbox = AppGroup("outbox", help="List or retry the events sent to the appointment system.")


@outbox.command("list")
@click.option("--status", type=click.Choice(OUTBOX_STATUSES),
              help="Only events in this status (default: every event not delivered).")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10_000))
def list_command(status, limit):
    """One line per event: id, webhook-id, type, status, attempts, next try, last error."""
    query = select(OutboundWebhook).order_by(OutboundWebhook.id.desc()).limit(limit)
    query = query.where(OutboundWebhook.status == status) if status else query.where(
        OutboundWebhook.status != "delivered")
    events = db.session.scalars(query).all()
    for event in events:
        click.echo(f"{event.id}\t{event.webhook_id}\t{event.event_type}\t{event.status}\t"
                   f"attempts={event.attempts}\tnext={event.next_attempt_at.isoformat()}\t"
                   f"{event.last_error or ''}")
    click.echo(f"{len(events)} event(s)", err=True)


@outbox.command("retry")
@click.option("--id", "outbox_id", type=int, help="Only this event (default: every failed one).")
def retry_command(outbox_id):
    """Put failed events back to pending, each with OUTBOUND_WEBHOOK_MAX_HOURS again."""
    retried = retry_failed(outbox_id)
    db.session.commit()
    if outbox_id is not None and not retried:
        raise click.UsageError(f"event {outbox_id} is not failed (or does not exist)")
    click.echo(f"{len(retried)} event(s) queued again")
