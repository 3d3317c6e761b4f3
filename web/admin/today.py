"""The numbers on the Today page: each clinic's reminder batch, immediate updates, delivery
rate by channel, data freshness and open alerts. Counts and statuses only, no patient data,
so every role may see them."""
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app
from sqlalchemy import func, select

from actors.accounting.ledger import clinic_channel_tallies
from actors.accounting.tally import Tally, percent, total
from actors.clinic_settings import rules_for
from db import Alert, Appointment, Location, Notification, SyncRun, db, utcnow
from db.statuses import CHANNELS, Status
from web.admin import outcomes
from web.admin.clinic_time import clinic_clock, clinic_day, clinic_time
from web.admin.today_chart import progress_chart

S = Status
#: How the page groups notification statuses.
BUCKETS = {
    "planned": (S.PLANNED, S.QUEUED, S.SENDING), "sent": (S.SENT,),
    "delivered": (S.DELIVERED,), "failed": (S.FAILED, S.UNDELIVERED),
    "expired": (S.EXPIRED,), "suppressed": (S.SUPPRESSED,),
    "cancelled": (S.CANCELLED,), "skipped": (S.SKIPPED,),
}


def _bucketed(counts: dict[str, int]) -> dict[str, int]:
    result = {bucket: sum(counts.get(s, 0) for s in statuses)
              for bucket, statuses in BUCKETS.items()}
    result["total"] = sum(counts.values())
    return result


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(current_app.config["CLINIC_TIMEZONE"])


def _window(local_day, zone, window: str) -> tuple[datetime, datetime]:
    """The clinic's own window (``window``, from actors.clinic_settings) on its local day."""
    start, end = window.split("-")
    bounds = []
    for text in (start, end):
        hour, minute = map(int, text.split(":"))
        day = local_day + timedelta(days=hour // 24)
        bounds.append(datetime.combine(day, time(hour % 24, minute), zone))
    return bounds[0], bounds[1]


def _location_batch(location: Location, now: datetime, tallies: dict) -> dict:
    """One clinic's today: the reminder batch by status, each channel's outcomes (counted
    with the clauses its links filter by) and its rate (the shared function), the chart."""
    zone = _zone(location.timezone)
    local_day = now.astimezone(zone).date()
    day_start = datetime.combine(local_day, time(0), zone).astimezone(UTC)
    day_end = datetime.combine(local_day + timedelta(days=1), time(0), zone).astimezone(
        UTC)
    counts = dict(db.session.execute(
        select(Notification.status, func.count())
        .join(Appointment, Notification.appointment_id == Appointment.id)
        .where(Appointment.location_id == location.id, Notification.kind == "reminder",
               Notification.due_at >= day_start, Notification.due_at < day_end)
        .group_by(Notification.status)).all())
    batch = _bucketed(counts)
    opens, closes = _window(local_day, zone, rules_for(location.id).reminder_window)
    elapsed = (now - opens) / (closes - opens)
    done = batch["total"] - batch["planned"]
    delivery = {channel: tallies.get((location.id, channel), Tally()).as_dict()
                for channel in CHANNELS}
    counted = outcomes.counts(location, local_day, now)
    channels = {channel: {name: counted.get((channel, name), 0) for name in outcomes.OUTCOMES}
                for channel in CHANNELS}
    for channel in CHANNELS:
        channels[channel]["never_planned"] = delivery[channel]["never_planned"]
        channels[channel]["rate"] = delivery[channel]["rate"]
    return {
        "id": location.id, "external_id": location.external_id, "name": location.name,
        "local_date": local_day.isoformat(), "day": clinic_day(local_day),
        "window": f"{opens:%H:%M}-{closes:%H:%M}",
        "window_words": f"{clinic_clock(opens, zone)}–{clinic_clock(closes, zone)}",
        "channels": channels,
        "chart": progress_chart(location, day_start, day_end, opens, closes, now),
        **batch,
        # Nothing to send is not "100% sent": the page says so in words.
        "progress": round(100 * done / batch["total"]) if batch["total"] else None,
        "window_elapsed": round(100 * min(max(elapsed, 0.0), 1.0)),
        "never_planned": sum(d["never_planned"] for d in delivery.values()),
        "delivery": delivery,
    }


def _delivery_today(tallies: dict) -> list[dict]:
    """Per channel, every clinic's own today summed: the same figures as the alert's."""
    rates = []
    for channel in CHANNELS:
        tally = total(t for (_, ch), t in tallies.items() if ch == channel)
        rates.append({"channel": channel, **tally.as_dict(), "reached": tally.reached,
                      "judged": tally.judged})
    return rates


def _freshness(now: datetime) -> dict:
    last = db.session.execute(select(SyncRun).where(SyncRun.complete.is_(True))
                              .order_by(SyncRun.finished_at.desc()).limit(1)).scalar_one_or_none()
    latest = db.session.execute(select(SyncRun).order_by(SyncRun.started_at.desc()).limit(1)
                                ).scalar_one_or_none()
    return {
        "last_complete_at": clinic_time(last.finished_at) if last and last.finished_at else None,
        "minutes_ago": (round((now - last.finished_at).total_seconds() / 60)
                        if last and last.finished_at else None),
        "latest_run_complete": latest.complete if latest else None,
    }


def _open_alerts() -> list[dict]:
    alerts = db.session.scalars(select(Alert).where(Alert.status == "open")
                                .order_by(Alert.last_seen_at.desc()).limit(20)).all()
    return [{"id": a.id, "kind": a.kind, "summary": a.summary, "count": a.count,
             "last_seen_at": clinic_time(a.last_seen_at),
             "acknowledged": a.acknowledged_at is not None} for a in alerts]


def summary(now: datetime | None = None, location_ids: list[int] | None = None) -> dict:
    """Every clinic's today, or only those of ``location_ids`` (an account's clinics)."""
    now = now or utcnow()
    tallies = clinic_channel_tallies(now)
    query = select(Location).order_by(Location.name, Location.external_id)
    updates_query = (select(Notification.status, func.count())
                     .where(Notification.kind != "reminder",
                            Notification.created_at >= now - timedelta(hours=24))
                     .group_by(Notification.status))
    if location_ids is not None:
        query = query.where(Location.id.in_(location_ids))
        tallies = {key: t for key, t in tallies.items() if key[0] in location_ids}
        updates_query = updates_query.join(
            Appointment, Appointment.id == Notification.appointment_id).where(
            Appointment.location_id.in_(location_ids))
    locations = db.session.scalars(query).all()
    updates = dict(db.session.execute(updates_query).all())
    return {
        "generated_at": clinic_time(now),
        "locations": [_location_batch(location, now, tallies) for location in locations],
        "updates_24h": _bucketed(updates),
        "delivery_today": _delivery_today(tallies),
        "freshness": _freshness(now),
        "alerts": _open_alerts(),
    }


def fields(data: dict) -> dict[str, object]:
    """The summary flattened to the ``data-field`` names the page shows, for its refresher."""
    flat: dict[str, object] = {"generated_at": data["generated_at"]}
    for location in data["locations"]:
        for key, value in location.items():
            if key == "delivery":
                for channel, counts in value.items():
                    for name, number in counts.items():
                        flat[f"loc-{location['id']}-{channel}-{name}"] = (
                            percent(number) if name == "rate" else number)
            elif key == "channels":
                for channel, counts in value.items():
                    for name in outcomes.OUTCOMES:
                        flat[f"loc-{location['id']}-{channel}-out-{name}"] = counts[name]
            elif key == "chart":
                flat[f"loc-{location['id']}-chart"] = value["actual"]
                flat[f"loc-{location['id']}-chart-now"] = value["now_x"]
            elif key == "progress" and value is None:
                flat[f"loc-{location['id']}-progress"] = "nothing to send"
            else:
                flat[f"loc-{location['id']}-{key}"] = value
    for key, value in data["updates_24h"].items():
        flat[f"updates-{key}"] = value
    for rate in data["delivery_today"]:
        flat[f"rate-{rate['channel']}"] = percent(rate["rate"])
        flat[f"reached-{rate['channel']}"] = rate["reached"]
        flat[f"judged-{rate['channel']}"] = rate["judged"]
    minutes = data["freshness"]["minutes_ago"]
    flat["freshness"] = "no complete pull yet" if minutes is None else f"{minutes} min ago"
    flat["alerts-count"] = len(data["alerts"])
    return flat
