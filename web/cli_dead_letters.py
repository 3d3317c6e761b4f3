"""``flask --app web dead-letters list|replay``: what Dramatiq gave up on, and putting it back."""
import click
from flask import current_app
from flask.cli import AppGroup

from actors.broker import QUEUES
from actors.dead_letters import (
    dead_letter_counts,
    list_dead_letters,
    replay_dead_letters,
)
from db import utcnow
from web.progress import progress

dead_letters = AppGroup("dead-letters",
                        help="List or replay the messages in the dead-letter queues (<queue>.XQ).")
QUEUE_OPTION = click.option("--queue", type=click.Choice(QUEUES),
                            help="Only this queue (default: every queue).")


def _broker_url() -> str:
    url = current_app.config["BROKER_URL"]
    if not url:
        raise click.UsageError("dead letters live in RabbitMQ: set BROKER_URL")
    return url


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    minutes, _ = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h" if days else f"{hours}h{minutes:02d}m"


@dead_letters.command("list")
@QUEUE_OPTION
def list_command(queue):
    """Show each dead letter: queue, message id, actor, notification, age and error."""
    letters = list_dead_letters(_broker_url(), queue=queue)
    if not letters:
        click.echo("No dead letters.")
        return
    now = utcnow()
    click.echo(f"{'QUEUE':<9} {'MESSAGE ID':<36} {'ACTOR':<24} {'NOTIFICATION':>12} "
               f"{'AGE':>7}  ERROR")
    for letter in letters:
        click.echo(f"{letter.queue:<9} {letter.message_id:<36} {letter.actor_name:<24} "
                   f"{letter.notification_id if letter.notification_id is not None else '-':>12} "
                   f"{_age(letter.age_seconds(now)):>7}  {letter.error}")
    click.echo(f"{len(letters)} dead letter(s).")


@dead_letters.command("replay")
@QUEUE_OPTION
@click.option("--id", "wanted", help="Only the message with this message id or notification id.")
def replay_command(queue, wanted):
    """Put dead letters back on their queue with a fresh retry budget.

    A notification that failed only because its retries ran out is re-opened (a recorded
    failed -> queued step) so that the replayed message sends it.
    """
    url = _broker_url()
    # All of them: the XQ depths are the total. One wanted id: no total worth a bar's end.
    total = (None if wanted else
             sum(n for q, n in dead_letter_counts(url).items() if queue in (None, q)))

    def replayed_one(letter):
        click.echo(f"replayed {letter.message_id} ({letter.actor_name}, notification "
                   f"{letter.notification_id if letter.notification_id is not None else '-'}) "
                   f"to {letter.queue}")
        step(note=letter.queue)

    with progress("dead-letter replay", total=total, unit="letters") as step:
        replayed = replay_dead_letters(url, queue=queue, wanted=wanted,
                                       on_replayed=replayed_one)
    if wanted and not replayed:
        raise click.ClickException(f"no dead letter with id {wanted}")
    click.echo(f"{len(replayed)} dead letter(s) replayed.")
