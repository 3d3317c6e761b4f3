"""``flask --app web reminders plan|status``: plan a day's reminders by hand, see how it stands."""
from datetime import date, timedelta

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from actors.reminders.plan import PlanResult, plan
from actors.reminders.status import COLUMNS, reminder_status
from db import Location, db, utcnow
from web.progress import progress

reminders = AppGroup("reminders", help="Scheduled reminders: plan a day by hand, see its status.")

DAY = click.DateTime(formats=["%Y-%m-%d"])


def _location_id(external_id: str) -> int:
    found = db.session.scalar(select(Location.id).where(Location.external_id == external_id))
    if found is None:
        raise click.BadParameter(f"no location with id {external_id!r}", param_hint="--location")
    return found


def _plan_by_zone(now, *, day, location_ids, dry_run) -> PlanResult:
    """plan() one time zone at a time (as it goes internally, in the same transaction), so
    that the progress shows which zone is being planned; a million appointments take a
    minute."""
    query = select(Location.id, Location.timezone)
    if location_ids:
        query = query.where(Location.id.in_(location_ids))
    zones: dict[str, list[int]] = {}
    for location_id, tz in db.session.execute(query):
        zones.setdefault(tz, []).append(location_id)
    merged = PlanResult()
    with progress("reminders plan", total=len(zones), unit="time zones") as step:
        for tz, ids in sorted(zones.items()):
            part = plan(now, day=day, location_ids=ids, dry_run=dry_run, source="cli")
            for key, count in part.counts.items():
                merged.counts[key] += count
            merged.windows.update(part.windows)
            merged.closed.extend(part.closed)
            merged.overflows.extend(part.overflows)
            merged.rows.extend(part.rows)
            step(note=tz)
    return merged


@reminders.command("plan")
@click.option("--date", "day", type=DAY, default=None,
              help="Local day the reminders go out (YYYY-MM-DD). Default: today, only at "
                   "clinics whose window is open now, as the tick does.")
@click.option("--location", default=None, help="Only this location (its upstream id, e.g. L-1).")
@click.option("--dry-run", is_flag=True, help="List what would be planned; write nothing.")
def plan_command(day, location, dry_run):
    """Plan reminders now; planning twice is harmless (one reminder per appointment, day,
    channel)."""
    now = utcnow()
    day = day.date() if day else None
    if day is not None and day < now.date() - timedelta(days=1):
        raise click.BadParameter("that day's windows have closed", param_hint="--date")
    ids = [_location_id(location)] if location else None
    result = _plan_by_zone(now, day=day, location_ids=ids, dry_run=dry_run)
    if dry_run:
        db.session.rollback()
        for row in sorted(result.rows, key=lambda r: (r["location_id"], r["due_at"])):
            click.echo(f"location={row['location_id']} appointment={row['appointment_id']} "
                       f"channel={row['channel']} status={row['status']} "
                       f"due={row['due_at']:%Y-%m-%dT%H:%M:%SZ}"
                       + (f" reason={row['reason']!r}" if row["reason"] else ""))
    else:
        db.session.commit()
    for tz in result.closed:
        click.echo(f"{tz}: the window has closed; nothing planned")
    if not result.windows and not result.closed:
        click.echo("no clinic's window is open now; pass --date to plan a day by hand")
    for (tz, channel, status), count in sorted(result.counts.items()):
        click.echo(f"{tz} {channel} {status}: {count}" + (" (dry run)" if dry_run else ""))
    for key in result.overflows:
        click.echo(f"ALERT raised: {key}", err=True)


@reminders.command("status")
@click.option("--date", "day", type=DAY, default=None,
              help="Local day the reminders go out (YYYY-MM-DD); default today.")
def status_command(day):
    """Per location and channel: planned, queued, sent, delivered, failed, expired, ..."""
    sending_day: date = day.date() if day else utcnow().date()
    appointment_day = sending_day + timedelta(days=current_app.config["REMINDER_DAYS_BEFORE"])
    click.echo(f"Reminders sent on {sending_day} for appointments on {appointment_day}")
    report = reminder_status(appointment_day)
    header = ["location", "channel", *COLUMNS]
    widths = [max(10, len(h)) for h in header]
    click.echo("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    for (location, channel), counts in report.items():
        cells = [location, channel, *(str(counts[c]) for c in COLUMNS)]
        click.echo("  ".join(c.ljust(w) for c, w in zip(cells, widths)))
    if not report:
        click.echo("(no reminders)")


def init_app(app) -> None:
    app.cli.add_command(reminders)
