"""Rates: a channel's delivery rate over 24 hours, and a provider failing most sends."""
from collections import defaultdict
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from actors.channels import channels_for
from db import Notification, db, raise_condition, resolve_condition
from db.notifications import CHANNELS

DAY = timedelta(hours=24)
NOT_DELIVERED = ("failed", "undelivered", "expired")


def _receipts(channel: str) -> bool:
    """Whether the channel reports delivery; without receipts, "sent" is the best we know."""
    return channel == "sms" and current_app.config["SMS_CHANNEL"] == "twilio"


def check_delivery_rates(now) -> None:
    target = current_app.config["DELIVERY_RATE_TARGET"]
    minimum = current_app.config["DELIVERY_RATE_MIN_VOLUME"]
    rows = db.session.execute(
        select(Notification.channel, Notification.status, func.count())
        .where(Notification.status.in_(("delivered", "sent") + NOT_DELIVERED),
               Notification.due_at >= now - DAY)
        .group_by(Notification.channel, Notification.status)).all()
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for channel, status, number in rows:
        counts[channel][status] = number
    for channel in CHANNELS:
        by_status = counts[channel]
        ok = by_status["delivered"] + (0 if _receipts(channel) else by_status["sent"])
        total = ok + sum(by_status[s] for s in NOT_DELIVERED)
        key = f"delivery-rate:{channel}"
        if total >= minimum and ok / total < target:
            raise_condition(key, "delivery-rate",
                            f"{channel.upper()} delivery rate over the last 24 h is "
                            f"{ok / total:.1%} ({ok} of {total}), below the target {target:.0%}")
        else:
            resolve_condition(key)


def check_providers(now, window: dict | None) -> None:
    """Most sends of a channel failing for technical reasons: the provider is in trouble.

    Technical failures are the ones in the window that ran out of retries or deadline,
    plus the notifications retrying right now after a retryable error.
    """
    if window is None:
        return
    ratio = current_app.config["PROVIDER_FAILURE_RATIO"]
    minimum = current_app.config["PROVIDER_FAILURE_MIN_REQUESTS"]
    retrying = dict(db.session.execute(
        select(Notification.channel, func.count())
        .where(Notification.status == "sending", Notification.claimed_until.is_(None),
               Notification.error_code.is_not(None))
        .group_by(Notification.channel)).all())
    adapters = channels_for(current_app)
    for channel in CHANNELS:
        ok = permanent = technical = 0
        for _, by_channel in window.get("runs", []):
            sent, refused, sick = by_channel.get(channel, (0, 0, 0))
            ok, permanent, technical = ok + sent, permanent + refused, technical + sick
        failing = technical + retrying.get(channel, 0)
        total = ok + permanent + failing
        provider = adapters[channel].provider
        key = f"provider-failing:{channel}:{provider}"
        if total >= minimum and failing / total >= ratio:
            minutes = current_app.config["PROVIDER_FAILURE_WINDOW_MINUTES"]
            raise_condition(key, "provider-failing",
                            f"{provider} is failing {failing} of {total} {channel.upper()} "
                            f"sends over the last {minutes} minutes")
        else:
            resolve_condition(key)
