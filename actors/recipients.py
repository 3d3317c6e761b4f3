"""Whether a patient can be reached on a channel right now, and if not, why."""
import phonenumbers
from email_validator import EmailNotValidError, validate_email


def valid_mobile(phone: str | None) -> bool:
    if not phone:
        return False
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(number)


def valid_email(address: str | None) -> bool:
    if not address:
        return False
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def why_unreachable(patient, channel: str) -> str | None:
    """A reason for staff (never the contact itself), or None when the patient is reachable."""
    if channel == "sms":
        if patient.sms_opted_out:
            return "patient opted out of SMS"
        if not patient.phone:
            return "no mobile number"
        if not valid_mobile(patient.phone):
            return "mobile number invalid"
        return None
    if patient.email_opted_out:
        return "patient opted out of e-mail"
    if patient.email_undeliverable:
        return "e-mail address undeliverable (bounce or complaint)"
    if not patient.email:
        return "no e-mail address"
    if not valid_email(patient.email):
        return "e-mail address invalid"
    return None
