"""/healthz (the process answers) and /readyz (database and broker reachable)."""
from flask import current_app, jsonify
from sqlalchemy import text

from db import db


def healthz():
    return jsonify(status="ok")


def readiness_checks() -> dict[str, str]:
    """"ok" or the error's type, per dependency; /readyz and /metrics both report these."""
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as error:  # noqa: BLE001  (any failure means not ready; the type says which)
        db.session.rollback()
        checks["database"] = type(error).__name__
    broker = current_app.extensions["dramatiq"]
    try:
        if hasattr(broker, "connection"):
            broker.connection.process_data_events(0)
        checks["broker"] = "ok"
    except Exception as error:  # noqa: BLE001  (as above)
        del broker.connection  # reconnect on the next check instead of reusing a dead one
        checks["broker"] = type(error).__name__
    return checks


def readyz():
    checks = readiness_checks()
    ready = all(value == "ok" for value in checks.values())
    return jsonify(status="ok" if ready else "unavailable", checks=checks), 200 if ready else 503


def init_app(app) -> None:
    app.add_url_rule("/healthz", view_func=healthz)
    app.add_url_rule("/readyz", view_func=readyz)
