"""``flask --app web etl ...``: pull upstream appointments by hand, see how fresh data is."""
import click
from flask import current_app
from flask.cli import AppGroup

from actors.etl import pull_now
from actors.etl.freshness import horizon, last_fresh_at, reminder_days
from actors.etl.pull import NotConfigured, client_from_config
from web.progress import progress

etl = AppGroup("etl", help="Pull appointments from the upstream API.")

_DATE = click.DateTime(formats=["%Y-%m-%d"])


class _Reporting:
    """The upstream client, counting pages and records as the pull reads them (the total
    is unknown until the last page says there is no next one)."""

    def __init__(self, client, step):
        self._client, self._step, self._records = client, step, 0

    def read_page(self, *args, **kwargs):
        page = self._client.read_page(*args, **kwargs)
        self._records += len(page.records)
        self._step(note=f"{self._records} records")
        return page

    def close(self):
        self._client.close()


@etl.command("pull")
@click.option("--from", "window_from", type=_DATE, default=None,
              help="First appointment day, YYYY-MM-DD (default: today, UTC).")
@click.option("--to", "window_to", type=_DATE, default=None,
              help="Last appointment day, YYYY-MM-DD (default: the rolling horizon's end).")
def pull(window_from, window_to):
    """Pull the window now and print what it did; exit 1 when the pull is incomplete."""
    default_from, default_to = horizon()
    start = window_from.date() if window_from else default_from
    end = window_to.date() if window_to else default_to
    if start > end:
        raise click.UsageError(f"--from {start} is after --to {end}")
    try:
        client = client_from_config(current_app.config)
    except NotConfigured:
        raise click.UsageError("UPSTREAM_API_URL is not set") from None
    with progress(f"etl pull {start} .. {end}", unit="pages") as step:
        try:
            run = pull_now(start, end, trigger="cli", client=_Reporting(client, step))
        finally:
            client.close()  # the pull closes it too; not when another pull holds the lock
    if run is None:
        raise click.ClickException("another pull is running; try again when it finishes")
    click.echo(f"run {run.id}: {start} .. {end}, "
               f"{'complete' if run.complete else 'INCOMPLETE'}")
    for name, value in run.summary().items():
        click.echo(f"  {name:<12}{value}")
    if run.error_summary:
        click.echo(f"  {run.error_summary}")
    if not run.complete:
        raise SystemExit(1)


@etl.command("status")
def status():
    """When the last complete pull covering the next reminder day started."""
    first, _ = reminder_days()
    fresh_at = last_fresh_at()
    click.echo(f"next reminder day {first}: last complete pull "
               f"{fresh_at.isoformat() if fresh_at else 'never'}")


def init_app(app) -> None:
    app.cli.add_command(etl)
