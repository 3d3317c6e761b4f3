"""``flask --app web broadcast create``: a clinic's notice to everyone booked on one day."""
from datetime import date

import click
from flask.cli import AppGroup
from sqlalchemy import select

from actors.broadcasts import confirm, draft, preview
from db import Location, db, utcnow
from web.admin.audit import record

broadcast = AppGroup("broadcast", help="Tell every patient booked at a clinic on a day.")

#: Who the audit log names for a broadcast sent from the command line.
CLI_ACCOUNT = "cli"


def _echo_preview(result) -> None:
    for channel, (booked, reachable) in result.recipients.items():
        click.echo(f"{channel}: {booked} booked, {reachable} reachable")
    if result.sms is not None:
        click.echo(f"SMS ({result.segments} segment(s), at most {result.max_segments}): "
                   f"{result.sms}")


@broadcast.command("create")
@click.option("--location", "location_id", required=True, help="The clinic's external id.")
@click.option("--date", "local_date", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="The clinic-local day whose booked patients hear it.")
@click.option("--template", type=click.Choice(["closure", "delay"]), default=None)
@click.option("--text", default=None, help="A short text instead of a template.")
@click.option("--channel", "channels", multiple=True, type=click.Choice(["sms", "email"]),
              default=("sms", "email"), show_default=True)
@click.option("--dry-run", is_flag=True, help="Show the recipients and the SMS; send nothing.")
def create(location_id, local_date, template, text, channels, dry_run):
    """Create a broadcast and send it (or, with --dry-run, only preview it)."""
    location = db.session.scalar(select(Location).where(Location.external_id == location_id))
    if location is None:
        raise click.UsageError(f"no location {location_id}")
    day: date = local_date.date()
    try:
        item = draft(location, day, template=template, text=text, channels=list(channels),
                     account=CLI_ACCOUNT)
    except ValueError as error:
        raise click.UsageError(str(error))
    if dry_run:
        _echo_preview(preview(item))
        db.session.rollback()
        click.echo("dry run: nothing stored or sent")
        return
    db.session.flush()
    _echo_preview(preview(item))
    created = confirm(item, account=CLI_ACCOUNT, now=utcnow())
    record("broadcast", "broadcast", item.id, account=CLI_ACCOUNT,
           detail=f"{location.external_id} {day.isoformat()}, {item.template}, "
                  f"{item.channels}: {len(created)} notifications")
    db.session.commit()
    click.echo(f"broadcast {item.id}: {len(created)} notifications queued")


def init_app(app) -> None:
    app.cli.add_command(broadcast)
