"""The appointment object of the contract (docs/architecture.md), shared by the webhook and
the ETL. Lengths come from the model columns (actors.constraints), so what passes here the
database stores."""
import copy

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validates_schema

from actors.constraints import (
    TEXT_MAX_LENGTH,
    BoundedDateTime,
    email,
    one_of,
    phone,
    text,
    time_zones,
)
from db.clinic import (
    APPOINTMENT_STATUSES,
    CHANNEL_PREFERENCES,
    Appointment,
    Location,
    Patient,
)


class _Lenient(Schema):
    class Meta:
        unknown = EXCLUDE  # the contract: unknown extra fields are ignored


class _Recurring(fields.Nested):
    """A nested object that recurs unchanged from record to record (a clinic, on each of
    its appointments in a page): each distinct value is validated once and its answer,
    data or errors, remembered. The answer is a function of the value alone; only flat
    objects of strings are remembered, and only the last ``REMEMBERED`` of them."""

    REMEMBERED = 256

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._answers: dict[tuple, tuple[dict | None, ValidationError | None]] = {}

    def _load(self, value, partial=None):
        key = _flat_key(value)
        if key is None or partial:
            return super()._load(value, partial)
        answer = self._answers.get(key)
        if answer is None:
            try:
                answer = (super()._load(value, partial), None)
            except ValidationError as error:
                answer = (None, error)
            if len(self._answers) >= self.REMEMBERED:
                self._answers.clear()
            self._answers[key] = answer
        data, error = answer
        if error is not None:
            raise ValidationError(copy.deepcopy(error.messages))
        return dict(data)  # each record its own copy


def _flat_key(value) -> tuple | None:
    if not isinstance(value, dict) or not all(
            type(v) is str or v is None for v in value.values()):
        return None
    return tuple(sorted(value.items()))


class LocationSchema(_Lenient):
    id = text(Location.external_id, required=True)
    name = text(Location.name, required=True)
    address = text(max_length=TEXT_MAX_LENGTH, required=True)
    phone = phone(Location.phone, load_default=None, allow_none=True)
    timezone = one_of(time_zones(), load_default=None, allow_none=True,
                      metadata={"description": "IANA time zone"})


class PatientSchema(_Lenient):
    id = text(Patient.external_id, required=True)
    given_name = text(Patient.given_name, required=True)
    family_name = text(Patient.family_name, required=True)
    phone = phone(Patient.phone, load_default=None, allow_none=True)
    email = email(Patient.email, load_default=None, allow_none=True)
    preferred_channel = one_of(CHANNEL_PREFERENCES, required=True)
    language = text(Patient.language, min_length=2, load_default="en")


class AppointmentSchema(_Lenient):
    id = text(Appointment.external_id, required=True)
    status = one_of(APPOINTMENT_STATUSES, required=True)
    starts_at = BoundedDateTime(required=True)
    updated_at = BoundedDateTime(required=True)
    location = _Recurring(LocationSchema, required=True)
    patient = fields.Nested(PatientSchema, required=True)


EVENT_TYPES = ("appointment.created", "appointment.updated", "appointment.cancelled")


class AppointmentEventSchema(_Lenient):
    type = one_of(EVENT_TYPES, required=True)
    appointment = fields.Nested(AppointmentSchema, required=True)

    @validates_schema
    def _type_agrees_with_status(self, data, **kwargs):
        # A cancellation event whose body says "booked" is a sender bug; applying it
        # either way could tell the patient something false, so it is refused.
        appointment = data.get("appointment") or {}
        if data.get("type") == "appointment.cancelled" and appointment.get("status") != "cancelled":
            raise ValidationError("must be 'cancelled' for an appointment.cancelled event.",
                                  field_name="appointment.status")
