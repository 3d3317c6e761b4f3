"""Times as staff read them: in the clinic's own zone, with its abbreviation, for people
("Fri 4 Dec, 12:45 PM PST"; "in 3 days"), never a UTC offset or microseconds."""
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import (
    format_date,
    format_datetime,
    format_time,
    format_timedelta,
    get_timezone_gmt,
)
from flask import current_app, has_app_context
from flask_login import current_user

from db import Location, db, utcnow

LOCALE = "en_US"


def zone_of(name: str | None = None) -> ZoneInfo:
    """A clinic's zone; the configured default when the name is missing or unknown."""
    for candidate in (name, _default_zone_name()):
        try:
            if candidate:
                return ZoneInfo(candidate)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return ZoneInfo("America/New_York")


def _default_zone_name() -> str | None:
    """For times that belong to no one clinic (an alert, a sync run, the audit log): the zone
    of the account's first clinic, else the configured clinic zone."""
    if not has_app_context():
        return None
    try:
        ids = sorted(current_user.location_external_ids) if current_user.is_authenticated else []
    except AttributeError:
        ids = []
    if ids:
        zone = db.session.scalar(db.select(Location.timezone)
                                 .where(Location.external_id == ids[0]))
        if zone:
            return zone
    return current_app.config.get("CLINIC_TIMEZONE")


def abbreviation(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    name = local.tzname() or ""
    if name.isalpha():  # EST, PST, CET, GMT
        return name
    # Zones without a letter abbreviation ("+04"): a localized GMT name, as people write it.
    return get_timezone_gmt(local, width="long", locale=LOCALE)


def clinic_time(moment: datetime | None, zone: str | ZoneInfo | None = None, *,
                with_day: bool = True) -> str:
    if moment is None:
        return ""
    tz = zone if isinstance(zone, ZoneInfo) else zone_of(zone)
    pattern = "EEE d MMM, h:mm a" if with_day else "h:mm a"
    if with_day and moment.astimezone(tz).year != utcnow().astimezone(tz).year:
        pattern = "EEE d MMM yyyy, h:mm a"
    return f"{format_datetime(moment, pattern, tzinfo=tz, locale=LOCALE)} {abbreviation(moment, tz)}"


def clinic_day(day: date | None) -> str:
    return "" if day is None else format_date(day, "EEE d MMM yyyy", locale=LOCALE)


def clinic_clock(moment: datetime, zone: str | ZoneInfo | None = None) -> str:
    tz = zone if isinstance(zone, ZoneInfo) else zone_of(zone)
    return format_time(moment, "h:mm a", tzinfo=tz, locale=LOCALE)


def relative(moment: datetime | None, now: datetime | None = None) -> str:
    """"in 3 days", "2 hours ago": where the distance matters more than the minute."""
    if moment is None:
        return ""
    delta: timedelta = moment - (now or utcnow())
    if abs(delta) < timedelta(minutes=1):
        return "just now"
    return format_timedelta(delta, add_direction=True, threshold=1.0, locale=LOCALE)


def init_app(app) -> None:
    app.add_template_filter(clinic_time, "clinic_time")
    app.add_template_filter(clinic_day, "clinic_day")
    app.add_template_filter(relative, "relative")
