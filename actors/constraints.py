"""What a value from outside may be: lengths from the database columns, characters, ranges.

The same validator objects check the value (marshmallow) and describe it in the OpenAPI
document (apispec reads a validator's ``regex``, ``Length`` and ``OneOf``), so the document
and the validation cannot drift apart, and a string the database would refuse is a 422
naming its field, never a 500.
"""
import re
from functools import cache
from zoneinfo import available_timezones

import phonenumbers
from marshmallow import ValidationError, fields, validate

#: No C0/C1 control character (PostgreSQL refuses NUL; the rest break SMS text and logs).
NO_CONTROL = r"^[^\x00-\x1F\x7F-\x9F]*$"
#: E.164's shape; libphonenumber then decides whether the number can exist (format "e164").
E164 = r"^\+[1-9][0-9]{6,14}$"
#: The addresses SMTP and SES deliver to: dot-atoms, a dotted host name, a letters-only TLD.
EMAIL = (r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
         r"@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")
#: RFC 3339 with seconds and an offset, in the years 2000-2099: far enough either side of any
#: appointment, and every reminder's arithmetic on it stays inside datetime's range.
DATE_TIME = (r"^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
             r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?"
             r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$")
#: Free text the database keeps in a TEXT column still gets a bound (a letter's address).
TEXT_MAX_LENGTH = 500


class Matches(validate.Validator):
    """The whole value matches ``pattern`` (``re.match`` with ``$`` lets a final newline by),
    and no lone surrogate hides in it (JSON can escape one; UTF-8 cannot store it)."""

    def __init__(self, pattern: str, error: str):
        self.regex = re.compile(pattern)
        self.error = error

    def __call__(self, value: str) -> str:
        if not self.regex.fullmatch(value) or any("\ud800" <= c <= "\udfff" for c in value):
            raise ValidationError(self.error)
        return value


def column_length(attribute) -> int:
    """The declared length of a ``String(n)`` model column."""
    return attribute.property.columns[0].type.length


def text(attribute=None, *, max_length: int | None = None, min_length: int = 1,
         **kwargs) -> fields.String:
    """A string as long as its column holds, with no control character."""
    limit = max_length or column_length(attribute)
    return fields.String(validate=[validate.Length(min=min_length, max=limit),
                                   Matches(NO_CONTROL, "Control characters are not allowed.")],
                         **kwargs)


def one_of(choices, **kwargs) -> fields.String:
    return fields.String(validate=validate.OneOf(choices), **kwargs)


_E164 = re.compile(E164)


def _possible_number(value: str) -> None:
    # marshmallow runs every validator: this one only judges what has E.164's shape.
    if not _E164.fullmatch(value):
        return
    try:
        valid = phonenumbers.is_valid_number(phonenumbers.parse(value, None))
    except phonenumbers.NumberParseException:  # "+999...": no such country code
        valid = False
    if not valid:
        raise ValidationError("Not a number that exists (E.164).")


def phone(attribute, **kwargs) -> fields.String:
    return fields.String(
        validate=[validate.Length(max=column_length(attribute)),
                  Matches(E164, "Not an E.164 phone number."), _possible_number],
        metadata={"format": "e164", "description": "E.164 (+ and up to 15 digits), a number "
                  "libphonenumber considers valid for its country"}, **kwargs)


def email(attribute, **kwargs) -> fields.String:
    return fields.String(validate=[validate.Length(max=column_length(attribute)),
                                   Matches(EMAIL, "Not an e-mail address.")],
                         metadata={"description": "an e-mail address"}, **kwargs)


class BoundedDateTime(fields.AwareDateTime):
    """A time-zone-aware RFC 3339 time in 2000-2099; checked as text before it is parsed."""

    def __init__(self, **kwargs):
        self._shape = Matches(DATE_TIME, "Not an RFC 3339 time with an offset in 2000-2099.")
        super().__init__(metadata={"pattern": DATE_TIME}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE)
        self._shape(value)
        return super()._deserialize(value, attr, data, **kwargs)


@cache
def time_zones() -> tuple[str, ...]:
    """The IANA names this machine's tz database holds: a lookup in a fixed set, never a
    file path built from what a sender wrote."""
    # "localtime" and "posixrules" are this machine's aliases, not IANA names.
    return tuple(sorted(available_timezones() - {"localtime", "posixrules", "Factory"}))
