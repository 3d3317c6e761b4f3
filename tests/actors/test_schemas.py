"""The appointment object's validation: a clinic repeated on every record of a page is
checked once, and every record still gets its own answer."""
import pytest
from marshmallow import ValidationError

from actors.schemas import AppointmentSchema
from tests.factories import appointment


def test_records_sharing_a_clinic_each_get_their_own_copy_of_it():
    schema = AppointmentSchema()
    first, second = (schema.load(appointment(id=f"A-{n}")) for n in (1, 2))

    assert first["location"] == second["location"]
    first["location"]["name"] = "changed by its reader"
    assert second["location"]["name"] == "Main St Clinic"
    assert schema.load(appointment(id="A-3"))["location"]["name"] == "Main St Clinic"


@pytest.mark.parametrize("phone", ["+1-3#2", 12, None])
def test_a_bad_clinic_is_refused_on_every_record_that_carries_it(phone):
    schema = AppointmentSchema()
    bad = {"phone": phone} if phone is not None else {"timezone": "Mars/Olympus"}
    errors = []
    for n in range(3):
        with pytest.raises(ValidationError) as refused:
            schema.load(appointment(id=f"A-{n}", location=bad))
        errors.append(refused.value.messages)

    field = "phone" if phone is not None else "timezone"
    assert errors[0] == errors[1] == errors[2] and set(errors[0]) == {"location"}
    assert set(errors[0]["location"]) == {field}
    assert schema.load(appointment(id="A-9"))["location"]["phone"] == "+13125550123"
