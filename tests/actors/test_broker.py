"""The broker the app builds: RabbitMQ with confirms and a heartbeat, or the dev StubBroker."""
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.stub import StubBroker

from actors.broker import QUEUES, build_broker
from actors.delivery import send_email, send_priority, send_sms


def test_rabbitmq_broker_confirms_every_publish_and_sets_a_heartbeat(make_app, rabbitmq_url):
    app = make_app(BROKER_URL=rabbitmq_url, BROKER_HEARTBEAT_SECONDS=17)
    broker = app.extensions["dramatiq"]
    assert isinstance(broker, RabbitmqBroker)
    assert broker.confirm_delivery is True
    assert broker.parameters.heartbeat == 17
    assert set(QUEUES) <= set(broker.get_declared_queues())
    broker.close()


def test_send_actors_are_bound_to_the_app_broker_on_their_queues(app):
    broker = app.extensions["dramatiq"]
    assert isinstance(broker, StubBroker)
    assert {send_priority.queue_name, send_sms.queue_name, send_email.queue_name} == {
        "priority", "sms", "email"}
    assert all(actor.broker is broker for actor in (send_priority, send_sms, send_email))


def test_heartbeat_in_the_url_is_kept(app):
    app.config["BROKER_URL"] = "amqp://guest:guest@127.0.0.1:5672/%2F?heartbeat=5"
    broker = build_broker(app)
    assert broker.parameters.heartbeat == 5
