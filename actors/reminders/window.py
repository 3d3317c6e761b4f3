"""The reminder window of a clinic day, in UTC, from the clinic's own time zone."""
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def parse_window(text: str) -> tuple[time | None, time | None]:
    """``"09:00-12:00"`` -> (09:00, 12:00); an end of 24:00 is returned as None (midnight)."""
    start, end = text.split("-")
    return _time(start), _time(end)


def _time(text: str) -> time | None:
    hours, minutes = (int(part) for part in text.strip().split(":"))
    return None if hours == 24 else time(hours, minutes)


@dataclass(frozen=True)
class Window:
    day: date            # the clinic's local date reminders go out on
    start: datetime      # UTC
    end: datetime        # UTC; the deadline of every reminder planned in it

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    def is_open(self, now: datetime) -> bool:
        return self.start <= now < self.end


def window_on(day: date, tz_name: str, text: str) -> Window:
    """The window of local ``day`` at a clinic in ``tz_name``; DST is zoneinfo's business."""
    tz = ZoneInfo(tz_name)
    start, end = parse_window(text)
    local_start = datetime.combine(day, start, tzinfo=tz)
    local_end = (datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz) if end is None
                 else datetime.combine(day, end, tzinfo=tz))
    return Window(day, local_start.astimezone(UTC), local_end.astimezone(UTC))


def local_today(now: datetime, tz_name: str) -> date:
    return now.astimezone(ZoneInfo(tz_name)).date()


def open_window(now: datetime, tz_name: str, text: str) -> Window | None:
    """Today's window at the clinic if ``now`` is inside it."""
    window = window_on(local_today(now, tz_name), tz_name, text)
    return window if window.is_open(now) else None
