"""The notification status vocabulary, defined once, with the groups delivery accounting uses.

Every module names statuses through ``Status`` and the groups below; the migration that
adds the CHECK constraints reads the same tuple, so the database refuses a status that is
not in it. How statuses move is ``db.transitions``; what they mean for the delivery rate is
``actors.accounting`` (docs/architecture.md, "Delivery accounting").
"""
from enum import StrEnum


class Status(StrEnum):
    PLANNED = "planned"          # a reminder with its send time; nothing handed over yet
    QUEUED = "queued"            # handed to RabbitMQ (or about to be, right after commit)
    SENDING = "sending"          # an attempt is in flight or waits for a retry
    SENT = "sent"                # the provider accepted it
    DELIVERED = "delivered"      # the provider's receipt says it arrived
    UNDELIVERED = "undelivered"  # the provider's receipt says it did not
    FAILED = "failed"            # refused for good, or out of retries or time
    CANCELLED = "cancelled"      # the appointment was cancelled, moved or superseded
    EXPIRED = "expired"          # its window or deadline passed before it went out
    SUPPRESSED = "suppressed"    # decided not to send: no consent, no address, not in source
    SKIPPED = "skipped"          # booked after its reminder day had passed


class Kind(StrEnum):
    REMINDER = "reminder"
    BOOKING = "booking"
    CHANGE = "change"
    CANCELLATION = "cancellation"
    REPLY = "reply"  # our answer to a patient's SMS reply (actors.replies)
    BROADCAST = "broadcast"  # a clinic's notice to everyone booked on a day (actors.broadcasts)


class Channel(StrEnum):
    SMS = "sms"
    EMAIL = "email"


STATUSES = tuple(Status)
KINDS = tuple(Kind)
CHANNELS = tuple(Channel)

#: Still on its way: counted apart from the rate until its deadline passes.
PENDING = (Status.PLANNED, Status.QUEUED, Status.SENDING)
#: A recorded decision not to send, each with its reason: not part of what is due.
NOT_DUE = (Status.CANCELLED, Status.SUPPRESSED, Status.SKIPPED)
#: Reached the patient for certain (``sent`` also counts on a channel without receipts).
REACHED = (Status.DELIVERED,)
#: Did not reach the patient.
NOT_REACHED = (Status.FAILED, Status.UNDELIVERED, Status.EXPIRED)
#: The provider has it; a receipt may still come.
AWAITING_RECEIPT = (Status.SENT,)

#: Providers that report delivery (Twilio status callbacks, SES notices through SNS); on the
#: others (SMTP, the console) ``sent`` is the best we ever know and is shown as "accepted".
PROVIDERS_WITH_RECEIPTS = frozenset({"twilio", "ses"})
