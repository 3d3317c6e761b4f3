"""The minute alert tick: run every check, then enqueue the e-mails that are due."""
import logging

from flask import current_app
from periodiq import cron

from actors.accounting.ledger import close_days
from actors.accounting.missed import check_windows
from actors.alerts.failures import resolve_quiet_failures, scan_failures
from actors.alerts.mail import enqueue_due_emails
from actors.alerts.rates import check_delivery_rates, check_providers
from actors.broker import actor
from actors.dead_letters import check_dead_letters
from db import db, utcnow
from db.alert_cursors import ALERT_TICK, mark_tick

log = logging.getLogger(__name__)


def _failures_and_providers(now):
    window = scan_failures(now)
    check_providers(now, window)


def _dead_letters(now):
    if current_app.config["BROKER_URL"]:  # the dev mode's StubBroker has no XQ
        check_dead_letters(current_app.config["BROKER_URL"])


CHECKS = (_failures_and_providers, resolve_quiet_failures, check_delivery_rates, _dead_letters,
          check_windows, close_days)


def run_checks(now=None) -> None:
    """One pass of every check, each in its own transaction, then the due e-mails.

    A check that breaks is logged at error level (and so reaches Sentry) without
    keeping the others, or the e-mails, from running.
    """
    now = now or utcnow()
    for check in CHECKS:
        try:
            check(now)
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("alert check failed", extra={"check": check.__name__})
    enqueue_due_emails(now)
    mark_tick(ALERT_TICK, now)  # what /metrics exports: Prometheus watches this tick
    db.session.commit()


@actor(queue_name="default", periodic=cron("* * * * *"), max_retries=0, time_limit=50_000)
def evaluate_alerts() -> None:
    run_checks()
