"""/metrics for Prometheus: notifications, alerts, ETL freshness, queues and webhooks.

Database figures are read at scrape time (a few indexed GROUP BYs); webhook counters live in
this process. Workers export Dramatiq's own metrics through its Prometheus middleware
(``add_worker_metrics``), on WORKER_METRICS_PORT.

The app raises its own alerts from a minute tick; the figures that tell whether that
machinery still runs (the last ticks, the last complete pull, readiness, alert e-mails owed to
on-call) are here for the Prometheus rules in k8s/base/alert-rules.yaml, which watch it from
outside (docs/operations.md "Alerts from Prometheus").
"""
import logging
import os
import time
from datetime import timedelta

from flask import Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, or_, select

from actors.accounting.ledger import clinic_channel_tallies
from actors.alerts.mail import due
from actors.broker import QUEUES
from db import Alert, Location, Notification, OutboundWebhook, SyncRun, db, utcnow
from db.alert_cursors import ALERT_TICK, REMINDER_TICK, tick_marked_at
from db.ledger import COUNTS
from db.pauses import active as active_pauses
from web.health import readiness_checks

log = logging.getLogger(__name__)

#: Flask endpoints of the webhooks, by the name they carry in metrics.
WEBHOOKS = {
    "intake.receive_event": "appointment-events",
    "twilio_status.status": "twilio-status",
    "twilio_inbound.inbound": "twilio-inbound",
    "ses_notifications.notifications": "ses-notifications",
}
WEBHOOK_REQUESTS = Counter("patient_notifier_webhook_requests_total",
                           "Webhook requests by endpoint and HTTP status.",
                           ["endpoint", "status"], registry=None)
WEBHOOK_LATENCY = Histogram("patient_notifier_webhook_duration_seconds",
                            "Time to answer a webhook request.", ["endpoint"], registry=None,
                            buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
RECENT = timedelta(hours=24)


class DatabaseCollector:
    """Figures read from PostgreSQL and the broker when Prometheus scrapes."""

    def __init__(self, app):
        self.app = app

    def collect(self):
        yield self._readiness()
        up = GaugeMetricFamily("patient_notifier_database_up",
                               "1 when the database answered this scrape.")
        try:
            yield from self._database()
            up.add_metric([], 1)
        except Exception as error:  # noqa: BLE001  (a scrape answers even without the database)
            db.session.rollback()
            log.warning("metrics: database unavailable", extra={"error_type": type(error).__name__})
            up.add_metric([], 0)
        yield up
        yield from self._queues()

    def _database(self):
        now = utcnow()
        notifications = GaugeMetricFamily(
            "patient_notifier_notifications",
            "Notifications due in the last 24 hours, by kind, channel and status.",
            labels=["kind", "channel", "status"])
        for kind, channel, status, count in db.session.execute(
                select(Notification.kind, Notification.channel, Notification.status, func.count())
                .where(Notification.due_at >= now - RECENT)
                .group_by(Notification.kind, Notification.channel, Notification.status)):
            notifications.add_metric([kind, channel, status], count)
        yield notifications
        alerts = GaugeMetricFamily("patient_notifier_alerts_open", "Open alerts by kind.",
                                   labels=["kind"])
        for kind, count in db.session.execute(select(Alert.kind, func.count())
                                              .where(Alert.status == "open")
                                              .group_by(Alert.kind)):
            alerts.add_metric([kind], count)
        yield alerts
        # On-call reading reminder-expired or a quiet channel sees at once that ops paused it.
        paused = GaugeMetricFamily("patient_notifier_sending_paused",
                                   "1 for each clinic or channel ops paused (flask --app web "
                                   "pauses).", labels=["scope", "target"])
        for pause in active_pauses():
            paused.add_metric(["clinic", pause.location.external_id] if pause.location_id
                              else ["channel", pause.channel], 1)
        yield paused
        # Patients' answers the appointment system has not had yet: a pending count that only
        # grows, or an old pending event, is the receiver down before the alert's 24 hours.
        outbox = GaugeMetricFamily("patient_notifier_outbound_webhooks",
                                   "Events for the appointment system in the outbox, by status.",
                                   labels=["status"])
        for status, count in db.session.execute(select(OutboundWebhook.status, func.count())
                                                .group_by(OutboundWebhook.status)):
            outbox.add_metric([status], count)
        yield outbox
        oldest = db.session.scalar(select(func.min(OutboundWebhook.created_at))
                                   .where(OutboundWebhook.status == "pending"))
        pending_age = GaugeMetricFamily(
            "patient_notifier_outbound_webhook_oldest_pending_age_seconds",
            "Seconds the oldest undelivered event has waited (0: none waits).")
        pending_age.add_metric([], (now - oldest).total_seconds() if oldest else 0)
        yield pending_age
        last = db.session.execute(select(func.max(SyncRun.finished_at))
                                  .where(SyncRun.complete.is_(True))).scalar()
        freshness = GaugeMetricFamily(
            "patient_notifier_etl_last_complete_age_seconds",
            "Seconds since the last complete pull of the upstream API finished (-1: never).")
        freshness.add_metric([], (now - last).total_seconds() if last else -1)
        yield freshness
        yield _timestamp("patient_notifier_etl_last_complete_pull_timestamp_seconds",
                         "When the last complete pull of the upstream API finished", last)
        yield _timestamp("patient_notifier_reminder_tick_last_run_timestamp_seconds",
                         "The time as of which the last reminder tick completed",
                         tick_marked_at(REMINDER_TICK))
        yield _timestamp("patient_notifier_alert_tick_last_run_timestamp_seconds",
                         "The time as of which the last alert tick completed",
                         tick_marked_at(ALERT_TICK))
        owed = GaugeMetricFamily(
            "patient_notifier_alert_email_owed_seconds",
            "Seconds the oldest e-mail owed to on-call about an alert has waited (0: none).")
        owed.add_metric([], _alert_email_owed_seconds(now))
        yield owed
        yield from _delivery_today(now)
        db.session.rollback()

    @staticmethod
    def _readiness():
        # Pods are scraped directly, so a pod that /readyz took out of its Service still
        # reports here which dependency it cannot reach.
        ready = GaugeMetricFamily("patient_notifier_ready",
                                  "1 when the /readyz check of this dependency passes.",
                                  labels=["check"])
        for check, outcome in readiness_checks().items():
            ready.add_metric([check], 1 if outcome == "ok" else 0)
        return ready

    def _queues(self):
        depth = GaugeMetricFamily("patient_notifier_queue_messages",
                                  "Messages waiting per queue (ready, delayed, dead).",
                                  labels=["queue", "state"])
        broker = self.app.extensions["dramatiq"]
        for queue in QUEUES:
            try:
                if hasattr(broker, "get_queue_message_counts"):
                    ready, delayed, dead = broker.get_queue_message_counts(queue)
                else:  # the dev mode's StubBroker
                    ready = broker.queues[queue].qsize()
                    delayed = broker.queues[f"{queue}.DQ"].qsize()
                    dead = len(broker.dead_letters_by_queue[queue])
            except Exception as error:  # noqa: BLE001  (the broker is optional for a scrape)
                log.warning("metrics: broker unavailable",
                            extra={"error_type": type(error).__name__})
                return
            for state, value in (("ready", ready), ("delayed", delayed), ("dead", dead)):
                depth.add_metric([queue, state], value)
        yield depth


def _timestamp(name: str, documentation: str, moment) -> GaugeMetricFamily:
    # 0 for "never": `time() - metric` is then huge, and a staleness rule fires.
    family = GaugeMetricFamily(name, f"{documentation}, in unix time (0: never).")
    family.add_metric([], moment.timestamp() if moment else 0)
    return family


def _alert_email_owed_seconds(now) -> float:
    """How long the oldest alert e-mail that is due (``actors.alerts.mail.due``) has been.

    A failed e-mail is only logged and retried, and leaves the alert un-notified: this is
    what shows it, as well as e-mails that never run (priority workers down or paused).
    """
    throttle = timedelta(minutes=current_app.config["ALERT_THROTTLE_MINUTES"])
    waiting = []
    for alert in db.session.execute(select(Alert).where(or_(
            Alert.status == "open",
            Alert.last_notified_at.is_(None) & Alert.resolved_at.is_not(None),
            Alert.last_notified_at < Alert.resolved_at))).scalars():
        what = due(alert, now, throttle)
        if what == "opened":
            waiting.append(now - alert.first_seen_at)
        elif what == "digest":
            waiting.append(now - (alert.last_notified_at or alert.first_seen_at) - throttle)
        elif what == "resolved":
            waiting.append(now - alert.resolved_at)
    return max(waiting).total_seconds() if waiting else 0


def _delivery_today(now):
    """Each clinic's own today per channel, counted by the one definition (the Today page's
    and the alert's figures)."""
    names = dict(db.session.execute(select(Location.id, Location.external_id)).all())
    counts = GaugeMetricFamily(
        "patient_notifier_delivery_today",
        "Notifications due today at each clinic, by channel and outcome (ledger columns).",
        labels=["location", "channel", "outcome"])
    rate = GaugeMetricFamily(
        "patient_notifier_delivery_rate_today",
        "Reached / (due + never planned - pending) today at each clinic, by channel.",
        labels=["location", "channel"])
    for (location_id, channel), tally in sorted(clinic_channel_tallies(now).items()):
        location = names[location_id]
        for outcome in COUNTS:
            counts.add_metric([location, channel, outcome], getattr(tally, outcome))
        if tally.rate is not None:
            rate.add_metric([location, channel], tally.rate)
    yield counts
    yield rate


def metrics():
    registry = CollectorRegistry(auto_describe=False)
    registry.register(WEBHOOK_REQUESTS)
    registry.register(WEBHOOK_LATENCY)
    registry.register(DatabaseCollector(current_app._get_current_object()))
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def _start_timer():
    if request.endpoint in WEBHOOKS:
        g.webhook_started = time.perf_counter()


def _observe(response):
    name = WEBHOOKS.get(request.endpoint)
    if name is not None and "webhook_started" in g:
        WEBHOOK_LATENCY.labels(name).observe(time.perf_counter() - g.webhook_started)
        WEBHOOK_REQUESTS.labels(name, str(response.status_code)).inc()
    return response


def init_app(app) -> None:
    app.add_url_rule("/metrics", view_func=metrics)
    app.before_request(_start_timer)
    app.after_request(_observe)


def add_worker_metrics(app, broker) -> None:
    """Dramatiq's Prometheus middleware, its multiprocess directory and port from settings."""
    from dramatiq.middleware import prometheus
    prometheus.DB_PATH = app.config["PROMETHEUS_MULTIPROC_DIR"]
    prometheus.HTTP_PORT = app.config["WORKER_METRICS_PORT"]
    os.makedirs(prometheus.DB_PATH, exist_ok=True)
    broker.add_middleware(prometheus.Prometheus())
