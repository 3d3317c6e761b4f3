"""Settings and helpers shared by the ETL tests (their fixtures are in conftest.py)."""
from datetime import timedelta

from sqlalchemy import func, select

from db import Appointment, Notification, db, utcnow

TOKEN = "upstream-test-token"

#: Small timeouts and backoffs, so a pull through a 10% failure rate takes seconds.
FAST_ETL = {
    "UPSTREAM_API_TOKEN": TOKEN,
    "UPSTREAM_CONNECT_TIMEOUT_SECONDS": 2.0,
    "UPSTREAM_TIMEOUT_SECONDS": 0.25,
    "UPSTREAM_PAGE_RETRIES": 12,
    "UPSTREAM_BACKOFF_BASE_SECONDS": 0.002,
    "UPSTREAM_BACKOFF_MAX_SECONDS": 0.02,
    "UPSTREAM_RETRY_AFTER_MAX_SECONDS": 0.02,
    "ETL_PULL_BUDGET_SECONDS": 120.0,
    "LOG_LEVEL": "WARNING",
}


def today():
    return utcnow().date()


def horizon_days():
    """The seeded appointments' days: tomorrow onwards, inside the default horizon."""
    return today() + timedelta(days=1), 4


def stored_count() -> int:
    return db.session.execute(select(func.count()).select_from(Appointment)).scalar_one()


def notification_count() -> int:
    return db.session.execute(select(func.count()).select_from(Notification)).scalar_one()


def matches_upstream(simulator, appointment: Appointment) -> bool:
    from datetime import datetime
    record = simulator.appointment(appointment.external_id)
    return (appointment.starts_at == datetime.fromisoformat(record["starts_at"])
            and appointment.source_updated_at == datetime.fromisoformat(record["updated_at"])
            and appointment.status == record["status"]
            and appointment.patient.external_id == record["patient"]["id"]
            and appointment.patient.phone == record["patient"]["phone"]
            and appointment.location.external_id == record["location"]["id"])
