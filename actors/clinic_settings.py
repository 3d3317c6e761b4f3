"""A clinic's own settings resolved against the global ones, in Python and in SQL.

Each value a location leaves unset (NULL in ``clinic_settings``) is the global setting of
the same name: ``REMINDER_WINDOW``, ``REMINDER_DAYS_BEFORE``; quiet hours are off unless a
clinic turns them on; the help contact falls back to the location's phone; a clinic without
languages of its own offers every patient their own (actors.rendering.language_for). Planning, the
accounting of what was due, the missed-window checks and the Today page all read the window
and the days from here, so a clinic is judged by the window it is planned in.
"""
import time as clock
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from flask import current_app
from sqlalchemy import Integer, cast, func, literal, select

from db import db
from db.clinic_settings import ClinicSettings


@dataclass(frozen=True)
class ClinicRules:
    reminder_window: str
    reminder_days_before: int
    quiet_hours: str | None
    help_contact: str | None
    #: The languages the clinic's messages are offered in, its default first; () if unset.
    languages: tuple[str, ...] = ()

    @property
    def is_global(self) -> bool:
        config = current_app.config
        return (self.reminder_window, self.reminder_days_before) == (
            config["REMINDER_WINDOW"], config["REMINDER_DAYS_BEFORE"])


def _resolve(row: ClinicSettings | None) -> ClinicRules:
    config = current_app.config
    return ClinicRules(
        reminder_window=(row and row.reminder_window) or config["REMINDER_WINDOW"],
        reminder_days_before=(row.reminder_days_before if row is not None
                              and row.reminder_days_before is not None
                              else config["REMINDER_DAYS_BEFORE"]),
        quiet_hours=row.quiet_hours if row is not None else None,
        help_contact=row.help_contact if row is not None else None,
        languages=split_languages(row.languages if row is not None else None))


def rules_for(location_id: int) -> ClinicRules:
    return _resolve(db.session.get(ClinicSettings, location_id))


def rules_by_location(location_ids) -> dict[int, ClinicRules]:
    rows = {row.location_id: row for row in db.session.scalars(
        select(ClinicSettings).where(ClinicSettings.location_id.in_(list(location_ids))))}
    return {location_id: _resolve(rows.get(location_id)) for location_id in location_ids}


def _own(column, location_id):
    return (select(column).where(ClinicSettings.location_id == location_id)
            .scalar_subquery())


def days_before_sql(location_id):
    """The clinic's days before, in SQL, for a location id column."""
    return func.coalesce(_own(ClinicSettings.reminder_days_before, location_id),
                         literal(current_app.config["REMINDER_DAYS_BEFORE"]))


def window_end_minutes_sql(location_id):
    """Minutes after local midnight the clinic's window closes (24:00 is 1440), in SQL."""
    window = func.coalesce(_own(ClinicSettings.reminder_window, location_id),
                           literal(current_app.config["REMINDER_WINDOW"]))
    end = func.split_part(window, "-", 2)
    return (cast(func.split_part(end, ":", 1), Integer) * 60
            + cast(func.split_part(end, ":", 2), Integer))


def parse_quiet_hours(text: str) -> tuple[time, time]:
    """``"21:00-08:00"`` -> (21:00, 08:00); the hours may cross midnight."""
    start, end = (part.strip() for part in text.split("-"))
    (h1, m1), (h2, m2) = (map(int, start.split(":")), map(int, end.split(":")))
    if not (0 <= h1 < 24 and 0 <= h2 < 24 and 0 <= m1 < 60 and 0 <= m2 < 60) or (
            (h1, m1) == (h2, m2)):
        raise ValueError("expected HH:MM-HH:MM, e.g. 21:00-08:00")
    return time(h1, m1), time(h2, m2)


def quiet_until(now: datetime, zone_name: str, quiet_hours: str | None) -> datetime | None:
    """When the clinic's quiet hours end, if ``now`` is inside them; else None."""
    if not quiet_hours:
        return None
    start, end = parse_quiet_hours(quiet_hours)
    zone = ZoneInfo(zone_name)
    local = now.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    crosses = start > end
    inside = (clock >= start or clock < end) if crosses else (start <= clock < end)
    if not inside:
        return None
    day = local.date() + timedelta(days=1) if crosses and clock >= start else local.date()
    return datetime.combine(day, end, zone).astimezone(now.tzinfo)


LANGUAGES_CHARS = ClinicSettings.__table__.c.languages.type.length


def split_languages(text: str | None) -> tuple[str, ...]:
    return tuple(code for code in (text or "").split(",") if code)


def parse_languages(text: str) -> str:
    """``"en, ES"`` -> ``"en,es"``: language codes Babel knows, each once, the default first.
    ValueError says why not."""
    codes = [code.strip().lower() for code in text.split(",") if code.strip()]
    for code in codes:
        try:
            known = code.isalpha() and Locale.parse(code).language == code
        except (UnknownLocaleError, ValueError):
            known = False
        if not known:
            raise ValueError(f"languages: {code!r} is not a language code (e.g. en,es)")
    joined = ",".join(codes)
    if not codes or len(set(codes)) != len(codes) or len(joined) > LANGUAGES_CHARS:
        raise ValueError("languages: language codes, each once, the default first (e.g. en,es)")
    return joined


def held_until(appointment, now: datetime) -> datetime | None:
    """When a change notice about ``appointment`` may go out, if its clinic's quiet hours
    hold it: only while they are on and running, and only for an appointment more than
    ``NOTICE_URGENT_WITHIN_HOURS`` away."""
    urgent = timedelta(hours=current_app.config["NOTICE_URGENT_WITHIN_HOURS"])
    if appointment.starts_at - now <= urgent:
        return None
    quiet = rules_for(appointment.location_id).quiet_hours
    return quiet_until(now, appointment.location.timezone, quiet)


# location id -> (when to look again, (help contact or None, languages)). The send path
# renders every message with them; one lookup per message would be a round trip per send for
# values that change once a year. An edit reaches each worker within TEMPLATE_CACHE_SECONDS.
_texts: dict[int, tuple[float, tuple[str | None, tuple[str, ...]]]] = {}


def _own_texts(location) -> tuple[str | None, tuple[str, ...]]:
    if getattr(location, "id", None) is None:  # a sample clinic (template previews)
        return None, ()
    now = clock.monotonic()
    cached = _texts.get(location.id)
    if cached is None or cached[0] <= now:
        row = db.session.execute(
            select(ClinicSettings.help_contact, ClinicSettings.languages)
            .where(ClinicSettings.location_id == location.id)).first()
        own = (row.help_contact, split_languages(row.languages)) if row else (None, ())
        cached = _texts[location.id] = (now + current_app.config["TEMPLATE_CACHE_SECONDS"], own)
    return cached[1]


def help_contact(location) -> str:
    """Whom a patient of the clinic should ask: its own help contact, else its phone."""
    return _own_texts(location)[0] or location.phone or ""


def clinic_languages(location) -> tuple[str, ...]:
    """The languages the clinic's messages are offered in, its default first; () if unset."""
    return _own_texts(location)[1]


def forget_clinic_settings() -> None:
    """Drop this process's cache (called after an edit is saved, and between tests)."""
    _texts.clear()
