"""Errors every client can act on: JSON bodies, 503 when the database is away, never a 500
carrying internals."""
import logging

from flask import jsonify
from sqlalchemy.exc import DBAPIError, OperationalError

from db import db

log = logging.getLogger(__name__)


def _database_unavailable(error):
    db.session.rollback()
    # WARNING, not ERROR: in an outage every request lands here, and each ERROR would be a
    # Sentry event; on-call hears once, from /readyz and the database_up rule.
    log.warning("database unavailable", extra={"error_type": type(error).__name__})
    response = jsonify(code=503, status="Service Unavailable",
                       message="The database is unavailable; retry later.")
    response.status_code = 503
    response.headers["Retry-After"] = "30"
    return response


def init_app(app) -> None:
    app.register_error_handler(OperationalError, _database_unavailable)

    @app.errorhandler(DBAPIError)
    def _database_error(error):
        if error.connection_invalidated:
            return _database_unavailable(error)
        raise error
