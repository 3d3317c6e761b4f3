"""The appointment object of DESIGN.md's contract, shared by the webhook and the ETL."""
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from db.clinic import APPOINTMENT_STATUSES, CHANNEL_PREFERENCES


def _e164(value: str) -> None:
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        raise ValidationError("Not an E.164 phone number.") from None
    if (not phonenumbers.is_valid_number(number)
            or phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) != value):
        raise ValidationError("Not an E.164 phone number.")


def _timezone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError("Unknown IANA time zone.") from None


class _Lenient(Schema):
    class Meta:
        unknown = EXCLUDE  # the contract: unknown extra fields are ignored


class LocationSchema(_Lenient):
    id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    address = fields.String(required=True, validate=validate.Length(min=1, max=500))
    phone = fields.String(load_default=None, allow_none=True, validate=_e164)
    timezone = fields.String(load_default=None, allow_none=True, validate=_timezone)


class PatientSchema(_Lenient):
    id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    given_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    family_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    phone = fields.String(load_default=None, allow_none=True, validate=_e164)
    email = fields.Email(load_default=None, allow_none=True)
    preferred_channel = fields.String(required=True, validate=validate.OneOf(CHANNEL_PREFERENCES))
    language = fields.String(load_default="en", validate=validate.Length(min=2, max=16))


class AppointmentSchema(_Lenient):
    id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    status = fields.String(required=True, validate=validate.OneOf(APPOINTMENT_STATUSES))
    starts_at = fields.AwareDateTime(required=True)
    updated_at = fields.AwareDateTime(required=True)
    location = fields.Nested(LocationSchema, required=True)
    patient = fields.Nested(PatientSchema, required=True)


EVENT_TYPES = ("appointment.created", "appointment.updated", "appointment.cancelled")


class AppointmentEventSchema(_Lenient):
    type = fields.String(required=True, validate=validate.OneOf(EVENT_TYPES))
    appointment = fields.Nested(AppointmentSchema, required=True)

    @validates_schema
    def _type_agrees_with_status(self, data, **kwargs):
        # A cancellation event whose body says "booked" is a sender bug; applying it
        # either way could tell the patient something false, so it is refused.
        appointment = data.get("appointment") or {}
        if data.get("type") == "appointment.cancelled" and appointment.get("status") != "cancelled":
            raise ValidationError("must be 'cancelled' for an appointment.cancelled event.",
                                  field_name="appointment.status")
