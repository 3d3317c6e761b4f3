"""Logs (JSON lines in a deployment, one short line each in dev mode) and Sentry, both
scrubbed of patient data."""
import logging
import re
import sys
import time

import sentry_sdk
from pythonjsonlogger.json import JsonFormatter
from sentry_sdk.integrations.dramatiq import DramatiqIntegration
from sentry_sdk.integrations.flask import FlaskIntegration
from sentry_sdk.integrations.logging import LoggingIntegration

from web.access_log import adopt_gunicorn_logs
from web.redaction import redact, redact_deep

_HANDLER_NAME = "patient-notifier-json"
_SAFE_HEADERS = {"content-type", "content-length", "user-agent", "webhook-id", "x-request-id"}


class RedactingJsonFormatter(JsonFormatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


#: What every LogRecord has; anything else on a record came in through ``extra=``.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime",
                                                                               "taskName"}
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# werkzeug's access line: 127.0.0.1 - - [01/Dec/2026 10:00:00] "POST /path HTTP/1.1" 202 -
_ACCESS = re.compile(r'^\S+ - - \[[^\]]*\] "(\S+) (\S+) [^"]*" (\d{3}) .*$')


class DevFormatter(logging.Formatter):
    """Dev mode's terminal: ``10:04:05 INFO  actors.delivery  sent notification_id=7``.

    Short enough to leave the console's message blocks readable; no ANSI colour codes
    (werkzeug's access lines carry them); redacted like the JSON lines.
    """

    def format(self, record: logging.LogRecord) -> str:
        message = _ANSI.sub("", record.getMessage())
        access = _ACCESS.match(message) if record.name == "werkzeug" else None
        if access:
            message = " ".join(access.groups())
        extras = " ".join(f"{key}={value}" for key, value in record.__dict__.items()
                          if key not in _STANDARD and not key.startswith("_"))
        line = (f"{time.strftime('%H:%M:%S', time.localtime(record.created))} "
                f"{record.levelname:<5} {record.name}  {message}" + (f" {extras}" if extras else ""))
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return redact(line)


def json_formatter() -> RedactingJsonFormatter:
    return RedactingJsonFormatter(
        "{asctime}{levelname}{name}{message}", style="{",
        rename_fields={"levelname": "level", "asctime": "time", "name": "logger"})


def init_logging(app) -> None:
    """JSON lines for a deployment's log collector; in dev mode (no BROKER_URL) a person
    reads the terminal, so one short line each."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if h.get_name() == _HANDLER_NAME), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler.set_name(_HANDLER_NAME)
        root.addHandler(handler)
    handler.setFormatter(json_formatter() if app.config["BROKER_URL"] else DevFormatter())
    root.setLevel(app.config["LOG_LEVEL"])
    # Under gunicorn its access log (query strings: admin searches) and error log too.
    adopt_gunicorn_logs(json_formatter)
    # Libraries that would log request bodies (numbers, addresses) at INFO or DEBUG, and
    # the embedded dev database's start/stop chatter.
    for noisy in ("twilio", "botocore", "urllib3", "pika", "alembic.runtime.plugins", "pgserver"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def adopt_worker_logging() -> None:
    """Inside ``dramatiq``'s worker processes: its CLI already put a handler on the root
    logger (feeding the parent process). Give that handler our redacting JSON format and
    drop ours, so every line is written once, as JSON, scrubbed."""
    root = logging.getLogger()
    theirs = [h for h in root.handlers if h.get_name() != _HANDLER_NAME]
    if not theirs:
        return
    for handler in theirs:
        handler.setFormatter(json_formatter())
    for handler in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(handler)


def scrub_event(event, hint):
    """Sentry before_send: keep what locates a bug, drop what could identify a patient."""
    request = event.get("request")
    if request:
        for key in ("data", "cookies", "query_string", "env"):
            request.pop(key, None)
        headers = request.get("headers") or {}
        request["headers"] = {k: v for k, v in headers.items() if k.lower() in _SAFE_HEADERS}
    event.pop("user", None)
    for crumb in (event.get("breadcrumbs") or {}).get("values", []):
        crumb.pop("data", None)
    extra = event.get("extra") or {}
    message = extra.get("dramatiq_message")
    if isinstance(message, dict):
        extra["dramatiq_message"] = {k: message.get(k) for k in
                                     ("message_id", "actor_name", "queue_name", "args")}
    return redact_deep(event)


def init_sentry(app, transport=None) -> None:
    dsn = app.config["SENTRY_DSN"]
    if not dsn and transport is None:
        return
    sentry_sdk.init(
        dsn=dsn or "https://public@sentry.invalid/1",
        transport=transport,
        environment=app.config["SENTRY_ENVIRONMENT"],
        # No user identity, request bodies, SQL parameters, queue payloads or local
        # variables: any of them could hold a name, a phone number or an address.
        data_collection={"user_info": False, "http_bodies": [], "database_query_data": False,
                         "queues": False, "stack_frame_variables": False},
        include_local_variables=False,
        max_request_body_size="never",
        before_send=scrub_event,
        before_breadcrumb=lambda crumb, hint: {k: v for k, v in crumb.items() if k != "data"},
        integrations=[FlaskIntegration(), DramatiqIntegration(),
                      LoggingIntegration(level=logging.INFO, event_level=logging.ERROR)],
    )
