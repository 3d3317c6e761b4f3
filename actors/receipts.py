"""Taking a provider's word that it has a message: the send's answer, its receipt, its list.

Three things can tell us a provider accepted a message, in any order: the send request's
answer, a delivery receipt (Twilio's status callback names the notification in its URL, so
it is matched even before the answer's commit), and the provider's message list asked
before a retry. Whichever comes first moves ``sending`` to ``sent`` with the provider's
message id; the others find the row already there and change nothing (docs/architecture.md,
"Crashes and outages").
"""
from db import Notification, Status, transition

#: Twilio's final statuses and ours.
FINAL = {"delivered": Status.DELIVERED, "undelivered": Status.UNDELIVERED,
         "failed": Status.FAILED}


def accepted(notification: Notification, *, provider: str, message_id: str, source: str,
             segments: int | None = None) -> bool:
    """Record that ``provider`` holds the message as ``message_id``; True if that is news.

    The caller holds the row lock and commits.
    """
    if notification.provider_message_id is None:
        notification.provider = provider
        notification.provider_message_id = message_id
    if segments is not None:
        notification.segments = segments
    if notification.status != Status.SENDING:
        return False
    notification.claimed_until = None
    return transition(notification, Status.SENT, source=source)
