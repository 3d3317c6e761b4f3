"""Rates: a clinic's delivery rate on a channel today, and a provider failing most sends."""
from collections import defaultdict

from flask import current_app
from sqlalchemy import func, select

from actors.accounting.ledger import clinic_channel_tallies
from actors.accounting.tally import Tally, percent
from actors.channels import channels_for
from actors.channels.failover import providers_for
from actors.channels.send_rate import RATE_LIMITED
from db import Alert, Location, Notification, db, raise_condition, resolve_condition
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
    """Most attempts through a provider failing for technical reasons: it is in trouble.

    Technical failures are the attempts in the window that ran out of retries or deadline,
    plus the notifications retrying right now after a retryable error, each counted for the
    provider its attempt went through (``notifications.provider``, which the send path
    records with the error code). While traffic has moved off a channel's first provider its
    circuit is held open until it is seen healthy: FAILOVER_RECOVERY_SENDS sends through it
    (its probes, actors.channels.failover) in the window, and failures below the ratio. A
    lack of failures alone never closes it, or traffic would go back to a provider still
    broken (and move again a window later).
    """
    if window is None:
        return
    first = {channel: adapter.provider for channel, adapter in channels_for(current_app).items()}
    retrying: dict[str, int] = defaultdict(int)
    for channel, provider, count in db.session.execute(
            select(Notification.channel, Notification.provider, func.count())
            .where(Notification.status == "sending", Notification.claimed_until.is_(None),
                   Notification.error_code.is_not(None),
                   Notification.error_code != RATE_LIMITED)  # our own limit, not theirs
            .group_by(Notification.channel, Notification.provider)).all():
        retrying[f"{channel}:{provider or first[channel]}"] += count
    for channel in CHANNELS:
        adapters = providers_for(current_app, channel)
        for position, adapter in enumerate(adapters):
            failing = _judge(channel, adapter.provider, window, retrying,
                             first=position == 0, held=position == 0 and len(adapters) > 1)
            if position == 0:
                _moved(channel, adapter.provider, failing=failing)


def _counts(window: dict, channel: str, provider: str, first: bool) -> tuple[int, int, int]:
    """(ok, permanent, technical) of ``provider`` over the window's runs. Runs counted
    before providers were told apart keyed by channel alone: those were the first's."""
    ok = permanent = technical = 0
    for _, counts in window.get("runs", []):
        keys = [f"{channel}:{provider}"] + ([channel] if first else [])
        for key in keys:
            sent, refused, sick = counts.get(key, (0, 0, 0))
            ok, permanent, technical = ok + sent, permanent + refused, technical + sick
    return ok, permanent, technical


def _judge(channel: str, provider: str, window: dict, retrying: dict, *, first: bool,
           held: bool) -> bool:
    """Open, keep or close ``provider``'s circuit; True while it is open."""
    config = current_app.config
    ratio, minimum = config["PROVIDER_FAILURE_RATIO"], config["PROVIDER_FAILURE_MIN_REQUESTS"]
    ok, permanent, technical = _counts(window, channel, provider, first)
    failing = technical + retrying.get(f"{channel}:{provider}", 0)
    total = ok + permanent + failing
    key = f"provider-failing:{channel}:{provider}"
    if total >= minimum and failing / total >= ratio:
        minutes = config["PROVIDER_FAILURE_WINDOW_MINUTES"]
        raise_condition(key, "provider-failing",
                        f"{provider} is failing {failing} of {total} {channel.upper()} "
                        f"sends over the last {minutes} minutes")
        return True
    healthy = ok >= config["FAILOVER_RECOVERY_SENDS"] and failing / total < ratio
    if held and not healthy and _is_open(key):
        return True  # half-open: its probes have not shown it healthy yet
    resolve_condition(key)
    return False


def _is_open(key: str) -> bool:
    return db.session.scalar(select(Alert.status).where(Alert.key == key)) == "open"


def _moved(channel: str, first: str, *, failing: bool) -> None:
    """While the first provider fails and a next one exists, the channel's traffic goes
    there (actors.channels.failover): on-call hears once when it moves (the condition opens)
    and once when it comes back (it resolves). Raised only when it opens, so a long
    failover sends no digests (the provider-failing alert keeps counting the failures)."""
    others = [adapter.provider for adapter in providers_for(current_app, channel)[1:]]
    key = f"provider-failover:{channel}"
    if failing and others:
        if _is_open(key):
            return
        raise_condition(key, "provider-failover",
                        f"{channel.upper()} traffic moved from {first} to {others[0]} while "
                        f"{first} is failing")
    else:
        resolve_condition(key)
