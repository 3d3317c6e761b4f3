"""gunicorn's access log as our JSON lines, with no query string in it.

An admin search (``/admin/patient/?search=Ada+Lovelace``) carries a patient's name, phone or
e-mail in its query string, and gunicorn's default line records the whole request line and
the Referer. Here each request becomes one JSON line through the same redacting formatter
as every other log, with the path and the names of the query parameters only.
"""
import logging
from urllib.parse import parse_qsl

from web.redaction import redact

ACCESS_LOGGER = "gunicorn.access"


def _query_names(query: str) -> list[str]:
    return sorted({name for name, _ in parse_qsl(query or "", keep_blank_values=True)})[:20]


def describe(atoms: dict) -> dict:
    """The safe fields of one request, from gunicorn's log atoms."""
    def number(key):
        value = atoms.get(key)
        return int(value) if isinstance(value, str) and value.isdigit() else None
    return {"method": atoms.get("m"), "path": redact(atoms.get("U") or ""),
            "query_params": _query_names(atoms.get("q")), "status": number("s"),
            "bytes": number("B"), "duration_ms": (number("D") or 0) // 1000,
            "remote_addr": atoms.get("h"), "user_agent": redact(atoms.get("a") or "")[:200]}


class AccessFilter(logging.Filter):
    """Replaces gunicorn's formatted line (its message and atoms) with the safe fields."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, dict) and "U" in record.args:
            for key, value in describe(record.args).items():
                setattr(record, key, value)
            record.msg, record.args = "request", None
        return True


def adopt_gunicorn_logs(formatter_factory) -> None:
    """Inside gunicorn: its access and error handlers write our JSON; a no-op elsewhere."""
    for name in (ACCESS_LOGGER, "gunicorn.error"):
        for handler in logging.getLogger(name).handlers:
            handler.setFormatter(formatter_factory())
            if name == ACCESS_LOGGER and not any(isinstance(f, AccessFilter)
                                                 for f in handler.filters):
                handler.addFilter(AccessFilter())
