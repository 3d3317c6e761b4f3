"""Patient data never reaches logs or Sentry, even when sends fail and errors are raised."""
import io
import json
import logging

import pytest
import sentry_sdk

from tests.actors.alerts.support import MemoryTransport
from tests.conftest import drain
from tests.factories import EMAIL_ADDRESS, PATIENT, appointment, moved, post_event
from web.observability import RedactingJsonFormatter, scrub_event

SECRETS = (PATIENT["given_name"], PATIENT["family_name"], PATIENT["phone"], EMAIL_ADDRESS,
           "3125550100")


@pytest.fixture
def transport():
    capture = MemoryTransport()
    yield capture
    sentry_sdk.get_client().close()
    sentry_sdk.init()  # no DSN: later tests report nowhere


@pytest.fixture
def log_output():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingJsonFormatter("{levelname}{name}{message}", style="{"))
    raw = []

    class Keep(logging.Handler):
        def emit(self, record):
            raw.append(json.dumps({**record.__dict__, "msg": record.getMessage()}, default=str))

    keep = Keep()
    root = logging.getLogger()
    root.addHandler(handler)
    root.addHandler(keep)
    yield stream, raw
    root.removeHandler(handler)
    root.removeHandler(keep)


def test_failing_sends_leak_nothing_to_logs_or_sentry(make_app, fake_providers, transport,
                                                      log_output):
    twilio, smtp = fake_providers
    app = make_app(SENTRY_TRANSPORT=transport)
    twilio.fail(PATIENT["phone"], status=503, code=20503, times=10)  # retried, then exhausted
    smtp.refuse.add(EMAIL_ADDRESS)  # permanent e-mail failure
    with app.app_context():
        client = app.test_client()
        first = appointment(patient={"preferred_channel": "both"})
        post_event(client, "appointment.created", first)
        post_event(client, "appointment.updated", moved(first, hours=1))
        drain(app)
        sentry_sdk.capture_message(f"operator note about patient {PATIENT['phone']}")
        sentry_sdk.flush()
    stream, raw = log_output
    formatted = stream.getvalue()
    assert "retries exhausted" in formatted  # the failures were logged...
    payloads = transport.payloads()
    assert payloads  # ...and reported to Sentry
    for secret in SECRETS:
        assert secret not in formatted
        assert all(secret not in record for record in raw if "operator note" not in record)
        assert all(secret not in payload for payload in payloads)


def test_scrubber_drops_request_bodies_and_redacts_strays():
    event = {"request": {"data": {"patient": "Ada"}, "cookies": "x",
                         "headers": {"Authorization": "Bearer t", "Content-Type": "json"}},
             "user": {"email": "ada@example.org"},
             "exception": {"values": [{"value": "bad number +13125550100 for ada@example.org"}]}}
    scrubbed = json.dumps(scrub_event(event, {}))
    assert "Ada" not in scrubbed and "Bearer" not in scrubbed
    assert "+13125550100" not in scrubbed and "ada@example.org" not in scrubbed
