"""Statuses, kinds, channels, sources and provider error codes in the clinic's words.

``EXPLAINED`` is the one table staff read provider error codes from: what it means and what
to do. Its keys are the codes the channel adapters know (``actors.channels``); a test keeps
the two in step, so a new code cannot reach a page unexplained.
"""
from db.statuses import PROVIDERS_WITH_RECEIPTS, Status

S = Status
KINDS = {"reminder": "Reminder", "booking": "Booking confirmation", "change": "Change notice",
         "cancellation": "Cancellation notice", "reply": "Reply to the patient"}
CHANNELS = {"sms": "SMS", "email": "e-mail"}

CALL = "call the patient"
SUPPORT = "tell the support team"
#: code -> (what happened, what to do)
EXPLAINED: dict[str, tuple[str, str]] = {
    # Twilio (actors.channels.twilio_sms)
    "21211": ("not a valid phone number", "check the number with the patient"),
    "21212": ("our sending number is set up wrong", SUPPORT),
    "21408": ("texts to this country are not enabled", SUPPORT),
    "21602": ("the message was empty", SUPPORT),
    "21610": ("the patient replied STOP", "texts resume when they reply START"),
    "21612": ("this number cannot receive our texts", CALL),
    "21614": ("not a mobile number", CALL),
    "30001": ("the text queue was full", "it is retried by itself"),
    "30003": ("phone switched off or out of reach", CALL),
    "30005": ("number not in service", CALL),
    "30006": ("a landline, or the carrier cannot take texts", CALL),
    "30008": ("the carrier did not say why", CALL),
    "20429": ("the text service was busy", "it is retried by itself"),
    "20500": ("the text service had a fault", "it is retried by itself"),
    "20503": ("the text service was unavailable", "it is retried by itself"),
    # Amazon SES (actors.channels.ses_email) and its bounce notices (web.providers.ses)
    "MessageRejected": ("the mail service refused the message", SUPPORT),
    "MailFromDomainNotVerified": ("our sending address is not verified", SUPPORT),
    "ConfigurationSetDoesNotExist": ("the mail service is set up wrong", SUPPORT),
    "AccountSendingPausedException": ("our e-mail sending is paused", SUPPORT),
    "InvalidParameterValue": ("not a valid e-mail address", "check the address with the patient"),
    "bounce:General": ("the e-mail address does not accept mail", CALL),
    "bounce:NoEmail": ("the e-mail address does not exist", CALL),
    "bounce:Suppressed": ("the address bounced before", CALL),
    "bounce:OnAccountSuppressionList": ("the address bounced before", CALL),
    "bounce:MailboxFull": ("the patient's mailbox is full", CALL),
    "bounce:MessageTooLarge": ("the message was too large", SUPPORT),
    "bounce:ContentRejected": ("the patient's mail server refused it", CALL),
    "bounce:AttachmentRejected": ("the patient's mail server refused it", CALL),
}

SOURCES = {"send": "the sender", "dispatch": "the reminder schedule", "tick": "the schedule",
           "sweep": "the schedule's check", "twilio-callback": "the SMS receipt",
           "ses-notification": "the e-mail receipt", "appointment-update": "the booking system",
           "etl": "the booking system", "etl-missing": "the booking system",
           "etl-returned": "the booking system", "webhook": "the booking system",
           "staff": "staff", "reconcile": "a check with the provider",
           "retries-exhausted": "the sender", "sms-fallback": "the e-mail fallback",
           "dead-letter-replay": "support", "provider-error": "the provider",
           "patient-reply": "the patient's reply", "sms-keyword": "the patient's reply",
           "patient-page": "the patient's page", "email-bounce": "an e-mail bounce",
           "email-complaint": "an e-mail complaint", "email-unsubscribe": "the patient"}


def explain(code: str | None) -> str:
    """"number not in service – call the patient"; the code itself when we do not know it."""
    if not code:
        return ""
    what, todo = EXPLAINED.get(str(code), (f"provider error {code}", SUPPORT))
    return f"{what} – {todo}"


def kind_words(kind: str) -> str:
    return KINDS.get(kind, kind.capitalize())


def channel_words(channel: str) -> str:
    return CHANNELS.get(channel, channel)


def source_words(source: str | None) -> str:
    return SOURCES.get(source or "", (source or "").replace("-", " "))


def status_words(status: str, *, kind: str = "reminder", channel: str = "sms",
                 provider: str | None = None, error_code: str | None = None,
                 reason: str | None = None) -> str:
    """One notification's status as a sentence staff read aloud on the phone."""
    what, by = kind_words(kind), channel_words(channel)
    if status in (S.PLANNED,):
        return f"{what} planned by {by}"
    if status in (S.QUEUED, S.SENDING):
        return f"{what} being sent by {by}"
    if status == S.SENT:
        if provider and provider not in PROVIDERS_WITH_RECEIPTS:
            return f"{what} sent by {by} (accepted by the mail server)"
        return f"{what} sent by {by}, no receipt yet"
    if status == S.DELIVERED:
        return f"{what} delivered by {by}"
    if status in (S.FAILED, S.UNDELIVERED):
        why = explain(error_code) if error_code else (reason or "no reason given") + f" – {CALL}"
        label = "Failed" if status == S.FAILED else "Not delivered"
        return f"{label} ({what.lower()} by {by}): {why}"
    if status == S.EXPIRED:
        return f"{what} by {by} not sent in time – {CALL}"
    if status == S.CANCELLED:
        return f"{what} by {by} cancelled" + (f": {reason}" if reason else "")
    if status == S.SUPPRESSED:
        return f"{what} by {by} not sent" + (f": {reason}" if reason else "")
    if status == S.SKIPPED:
        return f"{what} by {by} not sent: booked after its reminder day"
    return f"{what} by {by}: {status}"


def notification_words(notification) -> str:
    return status_words(notification.status, kind=notification.kind,
                        channel=notification.channel, provider=notification.provider,
                        error_code=notification.error_code, reason=notification.reason)


APPOINTMENT_STATUS = {"booked": "Booked", "cancelled": "Cancelled", "completed": "Attended",
                      "no_show": "Did not attend", "no-show": "Did not attend"}


def appointment_status_words(status: str) -> str:
    return APPOINTMENT_STATUS.get(status, status.replace("_", " ").capitalize())


def init_app(app) -> None:
    for function in (explain, kind_words, channel_words, source_words, notification_words,
                     appointment_status_words):
        app.add_template_filter(function)
