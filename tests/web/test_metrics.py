"""/metrics: notifications from the database, webhook results and latency, queues, ETL."""
from dramatiq.brokers.stub import StubBroker
from prometheus_client.parser import text_string_to_metric_families

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
