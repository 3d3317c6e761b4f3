"""POST /api/v1/appointment-events: the appointment system's signed webhook."""
import re

from flask import current_app, request
from flask_smorest import Api, Blueprint, abort
from flask_smorest.error_handler import ErrorSchema
from marshmallow import Schema, fields
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from actors.appointments import apply_appointment_update
from actors.constraints import column_length
from actors.schemas import AppointmentEventSchema
from db import InboundEvent, db
from db.upsert import insert_ignoring_conflict
from web import json_body

MAX_BODY_BYTES = 64 * 1024
#: The Standard Webhooks headers as this endpoint takes them: the id fits its column, the
#: timestamp is whole seconds in digits (the library would take "1.7e9" or " 17..." too),
#: the signature is space-separated "version,base64" entries.
WEBHOOK_HEADERS = {
    "webhook-id": (rf"^[!-~]{{1,{column_length(InboundEvent.webhook_id)}}}$",
                   "the sender's unique id of this delivery; a repeat gets the first answer"),
    "webhook-timestamp": (r"^[0-9]{1,12}$",
                          "Unix seconds, digits only, within 5 minutes of the server's clock"),
    "webhook-signature": (r"^[!-~]{1,200}( [!-~]{1,200}){0,9}$",
                          ("v1,<base64 HMAC-SHA256 of id.timestamp.body>; several "
                          "space-separated during a secret rotation")),
}
_HEADER_SHAPES = {name: re.compile(pattern) for name, (pattern, _) in WEBHOOK_HEADERS.items()}

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
    for name, shape in _HEADER_SHAPES.items():
        if not shape.fullmatch(headers.get(name, "")):
            abort(401, message=f"Missing or malformed {name} header.",
                  errors={"headers": {name: ["Missing or malformed."]}})
    for secret in _secrets():
        try:
            Webhook(secret).verify(body, dict(headers), json_parse=False)
            return
        except (WebhookVerificationError, ValueError):
            continue
    abort(401, message="Wrong webhook signature, or a timestamp outside ±5 minutes.")


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
        json_body.loads(body)
    except json_body.JsonBodyError as error:
        abort(422, message=str(error))


def _header_parameters() -> list[dict]:
    return [{"in": "header", "name": name, "required": True, "description": description,
             "schema": {"type": "string", "pattern": pattern}}
            for name, (pattern, description) in WEBHOOK_HEADERS.items()]


@blp.route("/appointment-events", methods=["POST"])
@blp.doc(parameters=_header_parameters())
@blp.arguments(AppointmentEventSchema, location="json")
@blp.response(202, EventResultSchema)
@blp.alt_response(401, schema=ErrorSchema, description="Bad, missing or malformed webhook-* "
                  "headers, a wrong signature, or a timestamp outside ±5 min")
@blp.alt_response(413, schema=ErrorSchema, description="Body over 64 KiB")
@blp.alt_response(422, schema=ErrorSchema, description="Invalid body (field errors), not "
                  f"JSON, or nested deeper than {json_body.MAX_DEPTH} levels")
@blp.alt_response(503, schema=ErrorSchema, description="Database unavailable; retry later")
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
    # The one rule across two fields (AppointmentEventSchema._type_agrees_with_status), in
    # JSON Schema's words, so that generated clients send what is accepted.
    api.spec.components.schemas["AppointmentEvent"].update({
        "if": {"properties": {"type": {"const": "appointment.cancelled"}}},
        "then": {"properties": {"appointment": {
            "properties": {"status": {"const": "cancelled"}}}}}})
