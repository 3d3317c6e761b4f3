"""A signed sample event, for the README's first five minutes and for smoke tests."""
import json
import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from standardwebhooks.webhooks import Webhook

SAMPLE_TIMEZONE = "America/New_York"


def sample_appointment(*, days_ahead: int, hour: int, updated_at: datetime,
                       appointment_id: str = "A-DEMO-1", status: str = "booked") -> dict:
    day = datetime.now(ZoneInfo(SAMPLE_TIMEZONE)).date() + timedelta(days=days_ahead)
    starts_at = datetime.combine(day, time(hour, 30), ZoneInfo(SAMPLE_TIMEZONE))
    return {
        "id": appointment_id, "status": status,
        "starts_at": starts_at.isoformat(),
        "updated_at": updated_at.astimezone(UTC).isoformat(),
        "location": {"id": "L-DEMO", "name": "Main St Clinic", "address": "1 Main St, Springfield",
                     "phone": "+13125550123", "timezone": SAMPLE_TIMEZONE},
        "patient": {"id": "P-DEMO", "given_name": "Ada", "family_name": "Lovelace",
                    "phone": "+13125550100", "email": "ada@example.org",
                    "preferred_channel": "both", "language": "en"},
    }


def signed_request(secret: str, event: dict, *, webhook_id: str | None = None,
                   at: datetime | None = None) -> tuple[bytes, dict]:
    """The body and the Standard Webhooks headers the appointment system would send."""
    body = json.dumps(event)
    webhook_id = webhook_id or f"msg_{uuid.uuid4().hex}"
    at = at or datetime.now(UTC)
    signature = Webhook(secret).sign(webhook_id, at, body)
    headers = {"webhook-id": webhook_id, "webhook-timestamp": str(int(at.timestamp())),
               "webhook-signature": signature, "content-type": "application/json"}
    return body.encode(), headers
