"""One clear line, no traceback, for every ``flask --app web …`` command that cannot run.

Exit 2: bad input or configuration (a missing or refused setting). Exit 1: a service is
down (PostgreSQL or RabbitMQ unreachable). Hooked once, in the app factory: a ConfigError
while the app is built becomes a Click error; once built, every command of ``app.cli`` runs
guarded; the commands Flask and its extensions bring (``db``, ``routes``…) load the app
inside their own call, so for those the process's last-resort hook prints the line.
"""
import functools
import logging
import sys

import click
import dramatiq.errors
import pika.exceptions
from psycopg2 import errors as pg_errors
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    DBAPIError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
)

from web.config import ConfigError

# Dramatiq 2 renamed ConnectionError (the old name warns, and warnings are errors in tests).
_BROKER_DOWN = getattr(dramatiq.errors, "BrokerConnectionError", None) or \
    dramatiq.errors.ConnectionError
CONFIGURATION = 2
SERVICE_DOWN = 1
_GUARDED = "_one_line_errors"


class CommandFailed(click.ClickException):
    """A Click error with our exit code; Click prints "Error: <message>" and exits."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


def _where(url: str | None) -> str:
    """host:port of a URL, never its user or password."""
    try:
        parsed = make_url(url) if url and "://" in url else None
    except Exception:  # noqa: BLE001 - an unparsable URL names no host; the setting is the clue
        parsed = None
    return f"{parsed.host}:{parsed.port or 'default port'}" if parsed and parsed.host else "?"


def _rabbitmq_down(error: BaseException) -> bool:
    return isinstance(error, (pika.exceptions.AMQPConnectionError, _BROKER_DOWN))


def explain(error: BaseException, config=None) -> CommandFailed | None:
    """The one line for ``error``, or None when it is a bug (whose traceback is wanted)."""
    config = config or {}
    if isinstance(error, ConfigError):
        return CommandFailed(f"configuration: {error}", CONFIGURATION)
    if isinstance(error, (OperationalError, InterfaceError)) or (
            isinstance(error, DBAPIError) and error.connection_invalidated):
        where = _where(config.get("DATABASE_URL"))
        return CommandFailed(f"PostgreSQL at {where} is unreachable or refused the connection "
                             f"({type(error.orig).__name__}); is it running, and is "
                             "DATABASE_URL right?", SERVICE_DOWN)
    if isinstance(error, ProgrammingError) and isinstance(error.orig, pg_errors.UndefinedTable):
        where = _where(config.get("DATABASE_URL"))
        return CommandFailed(f"the database at {where} has no schema yet: run "
                             "`flask --app web db upgrade`", CONFIGURATION)
    if _rabbitmq_down(error):
        where = _where(config.get("BROKER_URL"))
        return CommandFailed(f"RabbitMQ at {where} is unreachable ({type(error).__name__}); is "
                             "it running, and is BROKER_URL right?", SERVICE_DOWN)
    return None


def _guard(callback, config):
    @functools.wraps(callback)
    def guarded(*args, **kwargs):
        try:
            return callback(*args, **kwargs)
        except click.UsageError as error:
            # Raised by the command itself ("set BROKER_URL"), not by argument parsing:
            # the usage text would only bury the one line that matters.
            raise CommandFailed(error.message, CONFIGURATION) from None
        except Exception as error:
            failure = explain(error, config)
            if failure is None:
                raise
            raise failure from None
    setattr(guarded, _GUARDED, True)
    return guarded


def _commands(group: click.Group):
    for command in group.commands.values():
        yield command
        if isinstance(command, click.Group):
            yield from _commands(command)


def guard_commands(app) -> None:
    """Every command (and group callback) of ``app.cli`` answers failures in one line."""
    for command in _commands(app.cli):
        if command.callback is not None and not getattr(command.callback, _GUARDED, False):
            command.callback = _guard(command.callback, app.config)


def _last_resort(config, previous):
    def hook(kind, error, traceback):
        failure = explain(error, config)
        if failure is None:
            return previous(kind, error, traceback)
        failure.show()  # the interpreter then exits 1: a service down
    return hook


def one_line_errors(factory):
    """Decorates the app factory: under ``flask`` (a Click context), configuration errors
    become exit 2 and service failures exit 1, each as one line."""
    @functools.wraps(factory)
    def create(*args, **kwargs):
        under_cli = click.get_current_context(silent=True) is not None
        try:
            app = factory(*args, **kwargs)
        except ConfigError as error:
            if under_cli:
                raise explain(error) from None
            raise
        guard_commands(app)
        if under_cli:
            sys.excepthook = _last_resort(app.config, sys.excepthook)
            # pika logs each failed connection attempt with its traceback; the one line
            # above says it all.
            logging.getLogger("pika").setLevel(logging.CRITICAL)
        return app
    return create
