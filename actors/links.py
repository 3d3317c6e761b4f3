"""The links in our e-mails: Confirm and Cancel (``/r/<token>``) and preferences and
one-click unsubscribe (``/u/<token>``, RFC 8058), under ``PUBLIC_BASE_URL``.

A token names one notification and what the link does, signed with ``SECRET_KEY``
(itsdangerous) under a salt per use, so a link of one kind never works as the other. It
carries no date of its own: a Confirm or Cancel link expires with its appointment, checked
when it is used (web.self_service); a preferences link keeps working, as RFC 8058 expects.
"""
from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

REPLY_SALT = "reply-link"
PREFERENCES_SALT = "preferences-link"
ACTIONS = ("confirm", "cancel")


def _serializer(salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _base() -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/")


def reply_token(notification_id: int, action: str) -> str:
    return _serializer(REPLY_SALT).dumps([notification_id, action])


def read_reply_token(token: str) -> tuple[int, str] | None:
    """(notification id, action), or None for a token we did not sign (tampered, cut)."""
    try:
        notification_id, action = _serializer(REPLY_SALT).loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(notification_id, int) or action not in ACTIONS:
        return None
    return notification_id, action


def preferences_token(notification_id: int) -> str:
    return _serializer(PREFERENCES_SALT).dumps(notification_id)


def read_preferences_token(token: str) -> int | None:
    try:
        notification_id = _serializer(PREFERENCES_SALT).loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    return notification_id if isinstance(notification_id, int) else None


def preferences_url(notification_id: int) -> str:
    return f"{_base()}/u/{preferences_token(notification_id)}"


def email_links(notification_id: int) -> dict:
    """What an e-mail template may link to (its context: actors.rendering)."""
    return {"confirm_url": f"{_base()}/r/{reply_token(notification_id, 'confirm')}",
            "cancel_url": f"{_base()}/r/{reply_token(notification_id, 'cancel')}",
            "preferences_url": preferences_url(notification_id)}


def unsubscribe_headers(notification_id: int | None) -> dict:
    """RFC 8058 headers for every e-mail; none for a message that is not a notification
    (an alert to on-call)."""
    if notification_id is None:
        return {}
    return {"List-Unsubscribe": f"<{preferences_url(notification_id)}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
