"""Rates: a clinic's delivery rate on a channel today, and a provider failing most sends."""

from flask import current_app
from sqlalchemy import func, select

from actors.accounting.ledger import clinic_channel_tallies
from actors.accounting.tally import Tally, percent
from actors.channels import channels_for
from actors.channels.failover import providers_for
from db import Location, Notification, db, raise_condition, resolve_condition
from db.notifications import CHANNELS


def check_delivery_rates(now) -> None:
    """Alert when a clinic's rate on a channel today is below target, with enough volume."""
    target = current_app.config["DELIVERY_RATE_TARGET"]
    minimum = current_app.config["DELIVERY_RATE_MIN_VOLUME"]
    names = dict(db.session.execute(select(Location.id, Location.external_id)).all())
    tallies = clinic_channel_tallies(now)
    for location_id, external_id in names.items():
        for channel in CHANNELS:
            tally = tallies.get((location_id, channel), Tally())
            key = f"delivery-rate:{external_id}:{channel}"
            if tally.judged >= minimum and tally.rate < target:
                raise_condition(key, "delivery-rate", (
                    f"{channel.upper()} delivery rate today at {external_id} is "
                    f"{percent(tally.rate)} ({tally.reached} of {tally.judged}), below the "
                    f"target {target:.0%}"))
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
            _moved(channel, provider, failing=True)
        else:
            resolve_condition(key)
            _moved(channel, provider, failing=False)


def _moved(channel: str, first: str, *, failing: bool) -> None:
    """While the first provider fails and a next one exists, the channel's traffic goes
    there (actors.channels.failover): on-call hears once when it moves (the condition opens)
    and once when it comes back (it resolves)."""
    others = [adapter.provider for adapter in providers_for(current_app, channel)[1:]]
    key = f"provider-failover:{channel}"
    if failing and others:
        raise_condition(key, "provider-failover",
                        f"{channel.upper()} traffic moved from {first} to {others[0]} while "
                        f"{first} is failing")
    else:
        resolve_condition(key)
