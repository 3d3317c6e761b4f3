"""POST /api/v1/appointment-events: the appointment system's signed webhook."""
import json

from flask import abort, current_app, request
from flask_smorest import Api, Blueprint
from marshmallow import Schema, fields
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from actors.appointments import apply_appointment_update
from actors.schemas import AppointmentEventSchema
from actors.upsert import insert_ignoring_conflict
from db import InboundEvent, db

MAX_BODY_BYTES = 64 * 1024

blp = Blueprint("intake", __name__, url_prefix="/api/v1",
                description="Appointment events from the booking system")


class NotificationResultSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    channel = fields.String()
    status = fields.String()


class EventResultSchema(Schema):
    webhook_id = fields.String()
    appointment_id = fields.String()
    outcome = fields.String(metadata={"description": "created | changed | unchanged | stale"})
    notifications = fields.List(fields.Nested(NotificationResultSchema))


def _secrets() -> list[str]:
    config = current_app.config
    return [s for s in (config["WEBHOOK_SECRET"], config["WEBHOOK_SECRET_PREVIOUS"]) if s]


def verify_signature(body: bytes, headers) -> None:
    """Standard Webhooks verification against the current and the previous secret."""
    for secret in _secrets():
        try:
            Webhook(secret).verify(body, dict(headers), json_parse=False)
            return
        except (WebhookVerificationError, ValueError):
            continue
    abort(401, "Missing, malformed or wrong webhook signature, or a stale timestamp.")


def _limit_body():
    # Runs before every other before_request hook: the login machinery peeks at JSON
    # bodies (token auth), and must not read 10 MB of them for us.
    if request.path.startswith(blp.url_prefix):
        request.max_content_length = MAX_BODY_BYTES


@blp.before_request
def _authenticate():
    request.max_content_length = MAX_BODY_BYTES
    body = request.get_data(cache=True)  # raises 413 past the limit
    verify_signature(body, request.headers)
    try:
        json.loads(body)
    except ValueError:
        abort(422, "Body is not JSON.")


@blp.route("/appointment-events", methods=["POST"])
@blp.arguments(AppointmentEventSchema, location="json")
@blp.response(202, EventResultSchema)
@blp.alt_response(401, description="Bad or missing signature, or timestamp outside ±5 min")
@blp.alt_response(413, description="Body over 64 KiB")
@blp.alt_response(503, description="Database unavailable; retry later")
def receive_event(event):
    """Apply an appointment event; a repeated webhook-id gets its first answer again."""
    webhook_id = request.headers["webhook-id"]
    first = _first_answer(webhook_id)
    if first is not None:
        return first
    result = apply_appointment_update(event["appointment"], source="webhook")
    db.session.flush()
    body = {"webhook_id": webhook_id, **result.as_dict()}
    recorded = insert_ignoring_conflict(InboundEvent, {
        "webhook_id": webhook_id, "event_type": event["type"],
        "appointment_external_id": result.appointment_id,
        "response_status": 202, "response_body": body}, "webhook_id")
    if not recorded:
        # The same delivery raced us and won: nothing of ours may stand.
        db.session.rollback()
        return _first_answer(webhook_id)
    db.session.commit()
    return body


def _first_answer(webhook_id: str):
    stored = db.session.execute(select(InboundEvent).where(InboundEvent.webhook_id == webhook_id)
                                ).scalar_one_or_none()
    if stored is None:
        return None
    return stored.response_body, stored.response_status


def init_app(app) -> None:
    app.before_request_funcs.setdefault(None, []).insert(0, _limit_body)
    api = Api(app)
    api.register_blueprint(blp)
