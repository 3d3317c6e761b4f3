"""``flask --app web pause|resume|pauses``: hold back one clinic's or one channel's messages.

For ops during an incident (a wrong template at one clinic, an SMS provider misbehaving):
narrower than stopping the workers, which also holds back on-call's alert e-mails and every
other clinic. Each pause and resume is written to the audit log with who and why, in the
same transaction as the change itself. docs/operations.md "Pause one clinic or one channel".
"""
import click
from flask import current_app

from db import db
from db.pauses import active, find_location, pause, resume
from db.statuses import Channel
from web.admin.audit import record

TARGET = [click.option("--clinic", "clinic", default=None, metavar="LOCATION_ID",
                       help="A clinic by its upstream location id, e.g. L-1."),
          click.option("--channel", type=click.Choice([channel.value for channel in Channel]), default=None,
                       help="A channel at every clinic.")]
BY = click.option("--by", required=True, metavar="WHO",
                  help="Who does this (name or e-mail), for the audit log.")


def _target(fn):
    for option in reversed(TARGET):
        fn = option(fn)
    return fn


def _resolve(clinic, channel):
    if (clinic is None) == (channel is None):
        raise click.UsageError("name one clinic (--clinic) or one channel (--channel)")
    if clinic is None:
        return None, channel, ("channel", channel)
    location = find_location(clinic)
    if location is None:
        raise click.BadParameter(f"no location with id {clinic!r}", param_hint="--clinic")
    return location, None, ("location", location.external_id)


@click.command("pause")
@_target
@click.option("--reason", required=True, help="Why, in a few words (no patient data).")
@BY
def pause_command(clinic, channel, reason, by):
    """Stop sending for one clinic or one channel; alert e-mails still go out."""
    location, channel, (kind, name) = _resolve(clinic, channel)
    row = pause(location=location, channel=channel, reason=reason, by=by)
    if row is None:
        db.session.rollback()
        click.echo(f"{kind} {name} is paused already")
        return
    record("send-paused", kind, name, account=by, detail=reason)
    db.session.commit()
    click.echo(f"paused {kind} {name}: due reminders stay planned, queued messages wait; "
               f"resume with: flask --app web resume --{'clinic' if location else 'channel'} "
               f"{name} --by ...")


@click.command("resume")
@_target
@BY
def resume_command(clinic, channel, by):
    """Send again: due reminders go out at the next tick, waiting messages within
    SWEEP_STUCK_AFTER_SECONDS; those whose deadline passed expire."""
    location, channel, (kind, name) = _resolve(clinic, channel)
    row = resume(location=location, channel=channel)
    if row is None:
        db.session.rollback()
        click.echo(f"{kind} {name} is not paused")
        return
    record("send-resumed", kind, name, account=by,
           detail=f"paused since {row.paused_at:%Y-%m-%d %H:%M UTC} by {row.paused_by}")
    db.session.commit()
    seconds = current_app.config["SWEEP_STUCK_AFTER_SECONDS"]
    click.echo(f"resumed {kind} {name}; messages that waited go out within {seconds} s")


@click.command("pauses")
def pauses_command():
    """List what is paused now, since when, by whom and why."""
    rows = active()
    if not rows:
        click.echo("nothing is paused")
        return
    for row in rows:
        click.echo(f"{row.target}\tsince {row.paused_at:%Y-%m-%d %H:%M UTC}\t"
                   f"by {row.paused_by}\t{row.reason}")


def init_app(app) -> None:
    for command in (pause_command, resume_command, pauses_command):
        app.cli.add_command(command)
