"""Builders for appointment objects and signed webhook deliveries."""
import copy
from datetime import UTC, datetime, timedelta

from web.sample_event import signed_request

TEST_SECRET = "whsec_dGVzdC1zZWNyZXQtZm9yLXRoZS1zdWl0ZQ=="

# Patient data the privacy tests look for: it must never reach logs, broker or Sentry.
EMAIL_ADDRESS = "ada.lovelace@example.org"
PATIENT = {"id": "P-1", "given_name": "Ada", "family_name": "Lovelace",
           "phone": "+13125550100", "email": "ada.lovelace@example.org",
           "preferred_channel": "sms", "language": "en"}
LOCATION = {"id": "L-1", "name": "Main St Clinic", "address": "1 Main St, Springfield",
            "phone": "+13125550123", "timezone": "America/New_York"}


def appointment(*, id="A-1001", status="booked", starts_at=None, updated_at=None,
                patient=None, location=None) -> dict:
    now = datetime.now(UTC)
    starts_at = starts_at or (now + timedelta(days=5)).replace(hour=19, minute=30, second=0,
                                                               microsecond=0)
    return {
        "id": id, "status": status,
        "starts_at": starts_at.isoformat(),
        "updated_at": (updated_at or now).isoformat(),
        "location": {**LOCATION, **(location or {})},
        "patient": {**copy.deepcopy(PATIENT), **(patient or {})},
    }


def moved(appt: dict, *, hours: float = 0, days: float = 0, seconds_later: float = 60,
          **changes) -> dict:
    """The same appointment after a change made ``seconds_later`` than the stored one."""
    new = copy.deepcopy(appt)
    starts = datetime.fromisoformat(new["starts_at"]) + timedelta(hours=hours, days=days)
    new["starts_at"] = starts.isoformat()
    new["updated_at"] = (datetime.fromisoformat(new["updated_at"])
                         + timedelta(seconds=seconds_later)).isoformat()
    new.update(changes)
    return new


def post_event(client, event_type: str, appt: dict, *, webhook_id=None, secret=TEST_SECRET,
               at=None, headers=None):
    body, signed = signed_request(secret, {"type": event_type, "appointment": appt},
                                  webhook_id=webhook_id, at=at)
    return client.post("/api/v1/appointment-events", data=body,
                       headers={**signed, **(headers or {})})
