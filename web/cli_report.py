"""``flask --app web report delivery``: the delivery ledger, a row per clinic day and slice.

One row per clinic-local due date x location (external id) x channel x kind, counted by
the one definition (``actors.accounting``): closed days from the stored ledger, open ones
live. ``report rebuild`` recomputes the stored ledger of past days.
"""
import csv
import sys
from datetime import date, timedelta

import click
from flask.cli import AppGroup
from sqlalchemy import select

from actors.accounting import ledger
from actors.accounting.call_list import call_list
from actors.accounting.tally import percent
from db import Location, db, utcnow
from db.ledger import COUNTS
from web.progress import progress

report = AppGroup("report", help="Delivery figures: the ledger per clinic day.")

HEADER = ("date", "location", "channel", "kind", *COUNTS, "rate")
#: A year and a little: longer ranges are a database export, not a report.
MAX_DAYS = 400


def _day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=name)


def _range(first: str, last: str) -> tuple[date, date]:
    first_day, last_day = _day(first, "--from"), _day(last, "--to")
    if last_day < first_day:
        raise click.BadParameter("--to is before --from", param_hint="--to")
    if (last_day - first_day).days >= MAX_DAYS:
        raise click.BadParameter(f"at most {MAX_DAYS} days at a time", param_hint="--to")
    return first_day, last_day


def _locations(external_ids) -> tuple[dict[int, str], list[int] | None]:
    names = dict(db.session.execute(select(Location.id, Location.external_id)).all())
    if not external_ids:
        return names, None
    by_external = {external: id_ for id_, external in names.items()}
    unknown = [e for e in external_ids if e not in by_external]
    if unknown:
        raise click.BadParameter(f"no location with id {unknown[0]!r}", param_hint="--location")
    return names, [by_external[e] for e in external_ids]


def _months(first: date, last: date):
    """The range in pieces of a month at most, for progress over a year."""
    start = first
    while start <= last:
        end = min(last, start + timedelta(days=30))
        yield start, end
        start = end + timedelta(days=1)


def delivery_rows(first: date, last: date, *, location_ids=None, step=None) -> list[tuple]:
    """The report's rows (``HEADER`` order), sorted; rate as a fraction or None."""
    names = dict(db.session.execute(select(Location.id, Location.external_id)).all())
    rows = []
    for start, end in _months(first, last):
        tallies = ledger.tallies_between(start, end, location_ids=location_ids)
        rows.extend((day, names[location_id], channel, kind, *t.values(), t.rate)
                    for (day, location_id, channel, kind), t in tallies.items())
        if step is not None:
            step((end - start).days + 1)
    return sorted(rows, key=lambda row: row[:4])


@report.command("delivery")
@click.option("--from", "first", required=True, help="First clinic-local day (YYYY-MM-DD).")
@click.option("--to", "last", required=True, help="Last clinic-local day, included.")
@click.option("--location", "locations", multiple=True,
              help="Only this location (its upstream id, e.g. L-1); repeatable.")
@click.option("--format", "output", type=click.Choice(["table", "csv"]), default="table",
              show_default=True)
def delivery_command(first, last, locations, output):
    """Due, reached and not reached per day, location, channel and kind, with the rate."""
    first_day, last_day = _range(first, last)
    _, location_ids = _locations(locations)
    with progress("report delivery", total=(last_day - first_day).days + 1, unit="days") as step:
        rows = delivery_rows(first_day, last_day, location_ids=location_ids, step=step)
    if output == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(HEADER)
        for row in rows:
            rate = "" if row[-1] is None else f"{row[-1]:.4f}"
            writer.writerow([row[0].isoformat(), *row[1:-1], rate])
        return
    widths = [10, max([8, *(len(r[1]) for r in rows)]), 7, 12, *(max(5, len(c)) for c in COUNTS),
              6]
    click.echo("  ".join(h.ljust(w) for h, w in zip(HEADER, widths)))
    for row in rows:
        cells = [row[0].isoformat(), *(str(v) for v in row[1:-1]), percent(row[-1])]
        click.echo("  ".join(c.ljust(w) for c, w in zip(cells, widths)))
    if not rows:
        click.echo("(nothing was due in that range)")


@report.command("rebuild")
@click.option("--from", "first", required=True, help="First clinic-local day (YYYY-MM-DD).")
@click.option("--to", "last", required=True, help="Last clinic-local day, included.")
@click.option("--location", "locations", multiple=True, help="Only this location; repeatable.")
def rebuild_command(first, last, locations):
    """Recompute the stored ledger of past days (after an outage or a correction)."""
    first_day, last_day = _range(first, last)
    _, location_ids = _locations(locations)
    if last_day >= utcnow().date():
        raise click.BadParameter("only past days can be rebuilt", param_hint="--to")
    rows = ledger.rebuild(first_day, last_day, location_ids=location_ids)
    db.session.commit()
    click.echo(f"ledger rebuilt: {(last_day - first_day).days + 1} days, {rows} rows")


@report.command("call-list")
@click.option("--date", "day", required=True, help="Clinic-local day (YYYY-MM-DD).")
@click.option("--location", "locations", multiple=True, help="Only this location; repeatable.")
def call_list_command(day, locations):
    """Patients whose reminder or change notice did not reach them that day: call them."""
    the_day = _day(day, "--date")
    _, location_ids = _locations(locations)
    calls = call_list(the_day, location_ids=location_ids)
    for call in calls:
        click.echo(f"{call.location}  {call.patient}  {call.appointment}  {call.kind}  "
                   f"{call.channels or '-'}  {call.phone or 'no phone'}  {call.reason}")
    if not calls:
        click.echo("(nobody to call)")


def init_app(app) -> None:
    app.cli.add_command(report)
