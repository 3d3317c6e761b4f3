"""/metrics: notifications from the database, webhook results and latency, queues, ETL, and
what the Prometheus rules in k8s/base/alert-rules.yaml read (ticks, readiness, e-mails owed)."""
from datetime import timedelta

from dramatiq.brokers.stub import StubBroker
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import delete, select

from db import Alert, SyncRun, db, raise_condition, resolve_condition, utcnow
from tests.conftest import drain
from tests.factories import appointment, moved, post_event
from web.metrics import add_worker_metrics


def scrape(client) -> dict:
    response = client.get("/metrics")
    assert response.status_code == 200
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.get_data(as_text=True))
            for sample in family.samples}


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0)


def test_metrics_count_notifications_webhooks_and_queues(app, client, fake_providers):
    before = scrape(client)
    first = appointment(patient={"preferred_channel": "both"})
    post_event(client, "appointment.created", first)
    post_event(client, "appointment.updated", moved(first, hours=1))
    queued = scrape(client)
    assert value(queued, "patient_notifier_queue_messages", queue="priority", state="ready") == 2
    drain(app)
    client.post("/api/v1/twilio/status", data={"MessageSid": "SM1"})  # unsigned: 403
    after = scrape(client)
    for channel in ("sms", "email"):
        assert value(after, "patient_notifier_notifications", kind="change", channel=channel,
                     status="sent") == 1
    requests = "patient_notifier_webhook_requests_total"
    assert (value(after, requests, endpoint="appointment-events", status="202")
            - value(before, requests, endpoint="appointment-events", status="202")) == 2
    assert (value(after, requests, endpoint="twilio-status", status="403")
            - value(before, requests, endpoint="twilio-status", status="403")) == 1
    latency = "patient_notifier_webhook_duration_seconds_count"
    assert (value(after, latency, endpoint="appointment-events")
            - value(before, latency, endpoint="appointment-events")) == 2
    assert value(after, "patient_notifier_database_up") == 1
    assert value(after, "patient_notifier_etl_last_complete_age_seconds") == -1
    assert value(after, "patient_notifier_queue_messages", queue="priority", state="ready") == 0


def test_metrics_read_queue_depths_from_rabbitmq(make_app, rabbitmq_url):
    app = make_app(BROKER_URL=rabbitmq_url)
    broker = app.extensions["dramatiq"]
    for queue in ("priority", "sms", "email", "default"):
        broker.flush(queue)
    with app.app_context():
        samples = scrape(app.test_client())
    broker.close()
    assert ("patient_notifier_queue_messages", (("queue", "sms"), ("state", "dead"))) in samples


def test_workers_get_dramatiqs_prometheus_middleware_with_the_configured_dir(app, tmp_path):
    from dramatiq.middleware import prometheus
    saved = prometheus.DB_PATH, prometheus.HTTP_PORT
    app.config.update(PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prom"), WORKER_METRICS_PORT=9333)
    broker = StubBroker()
    try:
        add_worker_metrics(app, broker)
        assert prometheus.DB_PATH == str(tmp_path / "prom") and prometheus.HTTP_PORT == 9333
        assert (tmp_path / "prom").is_dir()
        assert any(isinstance(m, prometheus.Prometheus) for m in broker.middleware)
    finally:
        prometheus.DB_PATH, prometheus.HTTP_PORT = saved
        broker.close()


def exported_names(text: str) -> set[str]:
    """Every family and sample name of an exposition, samples or not (e.g. no alert open)."""
    names = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
    return names


def dramatiq_metric_names(monkeypatch, tmp_path) -> set[str]:
    """The series Dramatiq's Prometheus middleware exports from the workers."""
    from dramatiq.middleware import prometheus
    from prometheus_client.metrics import MetricWrapperBase
    monkeypatch.setattr(prometheus, "DB_PATH", str(tmp_path))
    for variable in ("PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir"):
        monkeypatch.setenv(variable, str(tmp_path))  # restored afterwards; boot sets them
    middleware = prometheus.Prometheus()
    broker = StubBroker()
    try:
        middleware.after_process_boot(broker)
    finally:
        broker.close()
    suffixes = {"counter": ("_total",), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count")}
    return {family.name + suffix for metric in vars(middleware).values()
            if isinstance(metric, MetricWrapperBase)
            for family in metric.describe() for suffix in suffixes[family.type]}


def test_every_metric_an_alert_rule_reads_is_exported(client, monkeypatch, tmp_path):
    """A rule on a misspelt or removed metric would never fire, and nothing else says so."""
    from tests.k8s.rules import alerting_rules, metric_names
    exported = exported_names(client.get("/metrics").get_data(as_text=True))
    exported |= dramatiq_metric_names(monkeypatch, tmp_path)
    assert "dramatiq_message_errors_total" in exported
    for rule in alerting_rules():
        read = metric_names(rule["expr"])
        assert read and read <= exported, (rule["alert"], read - exported)


def test_metrics_export_the_last_ticks_and_the_last_complete_pull(app, client):
    from actors.alerts.checks import run_checks
    from actors.reminders.tick import run_tick
    ticks = ("patient_notifier_reminder_tick_last_run_timestamp_seconds",
             "patient_notifier_alert_tick_last_run_timestamp_seconds",
             "patient_notifier_etl_last_complete_pull_timestamp_seconds")
    assert [value(scrape(client), name) for name in ticks] == [0, 0, 0]  # never
    now = utcnow().replace(microsecond=0)
    run_tick(now - timedelta(minutes=3))
    run_tick(now)
    run_checks(now - timedelta(seconds=30))
    finished = now - timedelta(minutes=20)
    db.session.add_all([
        SyncRun(window_from=now.date(), window_to=now.date(), complete=True,
                started_at=finished - timedelta(minutes=1), finished_at=finished),
        SyncRun(window_from=now.date(), window_to=now.date(), complete=False,  # cut short
                started_at=now - timedelta(minutes=2), finished_at=now)])
    db.session.commit()
    samples = scrape(client)
    assert [value(samples, name) for name in ticks] == [
        now.timestamp(), now.timestamp() - 30, finished.timestamp()]
    assert 1200 <= value(samples, "patient_notifier_etl_last_complete_age_seconds") < 1300


def test_the_tick_mark_is_one_row_moved_by_every_tick(app):
    from db.alert_cursors import REMINDER_TICK, AlertCursor, mark_tick, tick_marked_at
    now = utcnow()
    mark_tick(REMINDER_TICK, now - timedelta(minutes=1))
    mark_tick(REMINDER_TICK, now)
    db.session.commit()
    assert tick_marked_at(REMINDER_TICK) == now
    assert db.session.query(AlertCursor).filter_by(name=REMINDER_TICK).count() == 1
    assert tick_marked_at("never-ran") is None


def test_metrics_report_readiness_per_check(client):
    samples = scrape(client)
    assert value(samples, "patient_notifier_ready", check="database") == 1
    assert value(samples, "patient_notifier_ready", check="broker") == 1


def test_metrics_report_which_readiness_check_fails(make_app):
    app = make_app(DATABASE_URL="postgresql://postgres@127.0.0.1:9/absent",
                   BROKER_URL="amqp://guest:guest@127.0.0.1:9/%2F")
    with app.app_context():
        samples = scrape(app.test_client())
        ready = app.test_client().get("/readyz")
    assert ready.status_code == 503
    assert value(samples, "patient_notifier_ready", check="database") == 0
    assert value(samples, "patient_notifier_ready", check="broker") == 0
    assert value(samples, "patient_notifier_database_up") == 0


def _alert(key, **fields):
    alert = raise_condition(key, "send-failed", "2 sends failed (ids only)")
    for name, field in fields.items():
        setattr(alert, name, field)
    db.session.commit()
    return alert


def test_metrics_show_how_long_an_alert_email_has_been_owed(app, client):
    owed = "patient_notifier_alert_email_owed_seconds"
    assert value(scrape(client), owed) == 0
    now = utcnow()
    # E-mailed about, nothing new: nothing owed.
    _alert("told", first_seen_at=now - timedelta(hours=2), notified_count=1,
           last_notified_at=now - timedelta(hours=2))
    assert value(scrape(client), owed) == 0
    # Opened 20 minutes ago and its e-mail keeps failing (nothing recorded but the log).
    opened = _alert("failing", first_seen_at=now - timedelta(minutes=20),
                    email_queued_at=now - timedelta(minutes=19))
    assert 1200 <= value(scrape(client), owed) < 1260
    opened.notified_count, opened.last_notified_at = opened.count, now
    # Repeats since an e-mail 40 minutes ago: the digest was due after the 15-minute throttle.
    _alert("repeating", first_seen_at=now - timedelta(hours=1), count=5, notified_count=2,
           last_notified_at=now - timedelta(minutes=40))
    assert 1500 <= value(scrape(client), owed) < 1560
    db.session.execute(delete(Alert).where(Alert.key == "repeating"))
    db.session.commit()
    resolve_condition("told")
    told = db.session.execute(select(Alert).where(Alert.key == "told")).scalar_one()
    told.resolved_at = now - timedelta(minutes=3)  # its "resolved" e-mail not sent yet
    db.session.commit()
    assert 180 <= value(scrape(client), owed) < 240
