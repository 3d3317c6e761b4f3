"""The numbers on the Today page: each clinic's reminder batch, immediate updates, delivery
rate by channel, data freshness and open alerts. Counts and statuses only, no patient data,
so every role may see them."""
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app
from sqlalchemy import func, select

from db import Alert, Appointment, Location, Notification, SyncRun, db, utcnow

#: How the page groups notification statuses.
BUCKETS = {
    "planned": ("planned", "queued", "sending"), "sent": ("sent",),
    "delivered": ("delivered",), "failed": ("failed", "undelivered"),
    "expired": ("expired",), "suppressed": ("suppressed",),
    "cancelled": ("cancelled", "skipped"),
}
#: Outcomes a delivery rate is judged on (suppressed and cancelled were never meant to go).
FINISHED = ("delivered", "undelivered", "failed", "expired")


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


def _window(local_day, zone) -> tuple[datetime, datetime]:
    start, end = current_app.config.get("REMINDER_WINDOW", "09:00-12:00").split("-")
    bounds = []
    for text in (start, end):
        hour, minute = map(int, text.split(":"))
        day = local_day + timedelta(days=hour // 24)
        bounds.append(datetime.combine(day, time(hour % 24, minute), zone))
    return bounds[0], bounds[1]


def _location_batch(location: Location, now: datetime) -> dict:
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
    opens, closes = _window(local_day, zone)
    elapsed = (now - opens) / (closes - opens)
    done = batch["total"] - batch["planned"]
    return {
        "id": location.id, "name": location.name, "local_date": local_day.isoformat(),
        "window": f"{opens:%H:%M}-{closes:%H:%M}", **batch,
        "progress": round(100 * done / batch["total"]) if batch["total"] else 100,
        "window_elapsed": round(100 * min(max(elapsed, 0.0), 1.0)),
    }


def _delivery_rates(since: datetime) -> list[dict]:
    rows = db.session.execute(
        select(Notification.channel, Notification.status, func.count())
        .where(Notification.created_at >= since, Notification.status.in_(FINISHED))
        .group_by(Notification.channel, Notification.status)).all()
    rates = []
    for channel in ("sms", "email"):
        finished = sum(n for c, _, n in rows if c == channel)
        delivered = sum(n for c, s, n in rows if c == channel and s == "delivered")
        rates.append({"channel": channel, "finished": finished, "delivered": delivered,
                      "rate": round(100 * delivered / finished, 1) if finished else None})
    return rates


def _freshness(now: datetime) -> dict:
    last = db.session.execute(select(SyncRun).where(SyncRun.complete.is_(True))
                              .order_by(SyncRun.finished_at.desc()).limit(1)).scalar_one_or_none()
    latest = db.session.execute(select(SyncRun).order_by(SyncRun.started_at.desc()).limit(1)
                                ).scalar_one_or_none()
    return {
        "last_complete_at": last.finished_at.isoformat() if last and last.finished_at else None,
        "minutes_ago": (round((now - last.finished_at).total_seconds() / 60)
                        if last and last.finished_at else None),
        "latest_run_complete": latest.complete if latest else None,
    }


def _open_alerts() -> list[dict]:
    alerts = db.session.scalars(select(Alert).where(Alert.status == "open")
                                .order_by(Alert.last_seen_at.desc()).limit(20)).all()
    return [{"id": a.id, "kind": a.kind, "summary": a.summary, "count": a.count,
             "last_seen_at": a.last_seen_at.isoformat(),
             "acknowledged": a.acknowledged_at is not None} for a in alerts]


def summary(now: datetime | None = None) -> dict:
    now = now or utcnow()
    locations = db.session.scalars(select(Location).order_by(Location.name, Location.id)).all()
    updates = dict(db.session.execute(
        select(Notification.status, func.count())
        .where(Notification.kind != "reminder",
               Notification.created_at >= now - timedelta(hours=24))
        .group_by(Notification.status)).all())
    return {
        "generated_at": now.isoformat(),
        "locations": [_location_batch(location, now) for location in locations],
        "updates_24h": _bucketed(updates),
        "delivery_7d": _delivery_rates(now - timedelta(days=7)),
        "freshness": _freshness(now),
        "alerts": _open_alerts(),
    }


def fields(data: dict) -> dict[str, object]:
    """The summary flattened to the ``data-field`` names the page shows, for its refresher."""
    flat: dict[str, object] = {"generated_at": data["generated_at"]}
    for location in data["locations"]:
        for key, value in location.items():
            flat[f"loc-{location['id']}-{key}"] = value
    for key, value in data["updates_24h"].items():
        flat[f"updates-{key}"] = value
    for rate in data["delivery_7d"]:
        flat[f"rate-{rate['channel']}"] = "–" if rate["rate"] is None else f"{rate['rate']}%"
        flat[f"finished-{rate['channel']}"] = rate["finished"]
    minutes = data["freshness"]["minutes_ago"]
    flat["freshness"] = "no complete pull yet" if minutes is None else f"{minutes} min ago"
    flat["alerts-count"] = len(data["alerts"])
    return flat
