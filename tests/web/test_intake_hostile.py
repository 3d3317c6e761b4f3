"""The webhook against what an attacker (or a buggy sender) can put in a correctly signed
request, on PostgreSQL: every refusal a 4xx naming the field, and nothing stored."""
import json
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook

from tests.factories import TEST_SECRET, appointment, post_event
from tests.web.test_intake import URL, count, nothing_stored
from web.sample_event import signed_request

# (path into the appointment object, the column's length)
LIMITS = [
    (("id",), 64), (("location", "id"), 64), (("location", "name"), 200),
    (("location", "address"), 500), (("patient", "id"), 64),
    (("patient", "given_name"), 200), (("patient", "family_name"), 200),
    (("patient", "language"), 16),
]
TEXT_FIELDS = [path for path, _ in LIMITS]


def _with(path, value, appt=None):
    appt = appt or appointment()
    target = appt
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return appt


def _errors_at(response, path):
    errors = response.json["errors"]["json"]["appointment"]
    for key in path:
        errors = errors[key]
    return errors


def _post_raw(client, raw: str, *, webhook_id="msg_raw", timestamp=None):
    at = datetime.now(UTC)
    headers = {"webhook-id": webhook_id,
               "webhook-timestamp": str(int(at.timestamp())) if timestamp is None else timestamp,
               "webhook-signature": Webhook(TEST_SECRET).sign(webhook_id, at, raw),
               "content-type": "application/json"}
    return client.post(URL, data=raw.encode("utf-8", "surrogatepass"), headers=headers)


@pytest.mark.parametrize(("path", "limit"), LIMITS, ids=lambda v: ".".join(v) if
                         isinstance(v, tuple) else str(v))
def test_a_string_at_its_column_limit_is_stored_and_one_past_is_refused(client, path, limit):
    assert post_event(client, "appointment.created", _with(path, "x" * limit)).status_code == 202
    response = post_event(client, "appointment.created",
                          _with(path, "y" * (limit + 1), appointment(id="A-2")))
    assert response.status_code == 422
    assert _errors_at(response, path)
    assert count_appointments() == 1


def count_appointments() -> int:
    from db import Appointment
    return count(Appointment)


def test_an_email_at_the_column_limit_is_taken_and_one_past_is_not(client):
    local = "a" * 64
    domain = ".".join(["b" * 63] * 4)[: 320 - len(local) - 1 - 4] + ".org"
    at_limit = f"{local}@{domain}"
    assert len(at_limit) == 320
    ok = post_event(client, "appointment.created", appointment(patient={"email": at_limit}))
    assert ok.status_code == 202, ok.json
    over = post_event(client, "appointment.created",
                      appointment(id="A-2", patient={"id": "P-2", "email": "c" + at_limit}))
    assert over.status_code == 422 and _errors_at(over, ("patient", "email"))


@pytest.mark.parametrize("path", TEXT_FIELDS, ids=".".join)
@pytest.mark.parametrize("bad", ["\x00", "\x07", "\x1b[31m", "\n", "\x7f", "\x85"],
                         ids=["nul", "bell", "escape", "newline", "delete", "c1-next-line"])
def test_control_characters_are_refused(client, path, bad):
    response = post_event(client, "appointment.created", _with(path, f"ab{bad}cd"))
    assert response.status_code == 422
    assert _errors_at(response, path)
    assert nothing_stored()


def test_a_trailing_newline_is_refused_too(client):
    response = post_event(client, "appointment.created", _with(("patient", "phone"),
                                                               "+13125550100\n"))
    assert response.status_code == 422 and nothing_stored()


def test_a_lone_surrogate_is_refused(client):
    raw = json.dumps({"type": "appointment.created",
                      "appointment": _with(("patient", "given_name"), "A\ud800")})
    assert "\\ud800" in raw
    response = _post_raw(client, raw)
    assert response.status_code == 422
    assert _errors_at(response, ("patient", "given_name"))
    assert nothing_stored()


@pytest.mark.parametrize("moment", [
    "0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59-23:59", "1999-12-31T23:59:59Z",
    "2100-01-01T00:00:00Z", "+275760-09-13T00:00:00Z", "2026-02-30T10:00:00Z",
    "2026-01-01T10:00:00", "2026-01-01T10:00:60Z", "2026-01-01 10:00:00Z", 1e300, None,
])
@pytest.mark.parametrize("field", ["starts_at", "updated_at"])
def test_times_outside_2000_to_2099_or_malformed_are_refused(client, field, moment):
    response = post_event(client, "appointment.created", _with((field,), moment))
    assert response.status_code == 422
    assert _errors_at(response, (field,))
    assert nothing_stored()


def test_the_edges_of_the_range_are_accepted(client):
    early = appointment(starts_at=None)
    early["starts_at"] = "2000-01-01T00:00:00+14:00"
    assert post_event(client, "appointment.created", early).status_code == 202
    late = appointment(id="A-2")
    late["starts_at"] = "2099-12-31T23:59:59.999999-23:59"  # 2100 in UTC: still arithmetic-safe
    assert post_event(client, "appointment.created", late).status_code == 202


@pytest.mark.parametrize("zone", [
    "A" * 65, "x" * 10_000, "../../../../etc/passwd", "/etc/localtime", "America/New_York\x00",
    "localtime", "America/Nowhere", "", 42,
])
def test_time_zone_names_must_be_known_iana_names(client, zone):
    response = post_event(client, "appointment.created", _with(("location", "timezone"), zone))
    assert response.status_code == 422
    assert _errors_at(response, ("location", "timezone"))
    assert nothing_stored()


@pytest.mark.parametrize("raw", [
    "[" * 60_000, "{\"a\":" * 10_000 + "1" + "}" * 10_000,
    json.dumps({"type": "appointment.created", "appointment": appointment(),
                "extra": json.loads("[" * 40 + "]" * 40)}),
])
def test_deep_nesting_is_refused_before_it_is_parsed(client, raw):
    response = _post_raw(client, raw)
    assert response.status_code == 422
    assert "deeper" in response.json["message"]
    assert nothing_stored()


def test_brackets_inside_strings_are_not_nesting(client):
    appt = _with(("location", "address"), "[[[[{{{{" * 40)
    response = _post_raw(client, json.dumps({"type": "appointment.created", "appointment": appt}))
    assert response.status_code == 202


@pytest.mark.parametrize("webhook_id", ["m" * 201, "m" * 5000, "msg with space", "msg_é"])
def test_webhook_ids_that_do_not_fit_are_refused(client, webhook_id):
    body, headers = signed_request(TEST_SECRET, {"type": "appointment.created",
                                                 "appointment": appointment()},
                                   webhook_id="placeholder")
    at = datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC)
    headers["webhook-id"] = webhook_id
    headers["webhook-signature"] = Webhook(TEST_SECRET).sign(webhook_id, at, body.decode())
    response = client.post(URL, data=body, headers={k: v.encode("utf-8").decode("latin-1")
                                                    for k, v in headers.items()})
    assert response.status_code == 401
    assert "webhook-id" in response.json["message"]
    assert nothing_stored()


def test_a_webhook_id_at_the_column_limit_is_taken(client):
    response = post_event(client, "appointment.created", appointment(), webhook_id="m" * 200)
    assert response.status_code == 202


@pytest.mark.parametrize("shape", ["{}.0", " {}", "{} ", "+{}", "{}e0", "0{}"])
def test_the_timestamp_must_be_plain_digits(client, shape):
    body, headers = signed_request(TEST_SECRET, {"type": "appointment.created",
                                                 "appointment": appointment()})
    headers["webhook-timestamp"] = shape.format(headers["webhook-timestamp"])
    response = client.post(URL, data=body, headers=headers)
    if shape == "0{}":  # leading zero: digits, the same second; the signature still holds
        assert response.status_code in (202, 401)
        return
    assert response.status_code == 401
    assert "webhook-timestamp" in response.json["message"]
    assert nothing_stored()
