"""Dev mode's demo upstream: the whole story of a reminder day in the first minute.

Besides a few dozen ordinary appointments (reminded tomorrow), the demo has one clinic, "Open Now Clinic",
placed in whichever time zone has its reminder window open at start-up (whatever the time
of day here), with three patients whose reminders go out at once:

- Ada (SMS and e-mail): both are sent;
- Alan (SMS only, no e-mail): his number is a landline the console refuses, so it fails;
- Grace (SMS, with an e-mail address): refused too, so she gets an e-mail instead.

The refused number is the console channel's documented one (actors/channels/console.py).
"""
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from fakes.upstream import FAILURE_KINDS, UpstreamSimulator

#: Real zones one per UTC offset from -11 to +14 (plus the half hours), so that some
#: clinic's local clock is inside any window an hour or longer, at any moment.
ZONES = ("Pacific/Pago_Pago", "Pacific/Honolulu", "America/Anchorage", "America/Los_Angeles",
         "America/Denver", "America/Chicago", "America/New_York", "America/Halifax",
         "America/St_Johns", "America/Sao_Paulo", "Atlantic/South_Georgia", "Atlantic/Azores",
         "Europe/London", "Europe/Paris", "Europe/Athens", "Europe/Moscow", "Asia/Tehran",
         "Asia/Dubai", "Asia/Kabul", "Asia/Karachi", "Asia/Kolkata", "Asia/Kathmandu",
         "Asia/Dhaka", "Asia/Yangon", "Asia/Bangkok", "Asia/Singapore", "Asia/Tokyo",
         "Australia/Darwin", "Australia/Brisbane", "Pacific/Noumea", "Pacific/Auckland",
         "Pacific/Tongatapu", "Pacific/Kiritimati")
REFUSED_NUMBER = "+12025550142"


def _clock(text: str) -> time:
    hours, minutes = (int(part) for part in text.strip().split(":"))
    return time(23, 59, 59) if hours == 24 else time(hours, minutes)


def open_zone(now: datetime, window: str) -> str:
    """The zone whose local time is inside ``window`` ("09:00-12:00") with the most of it
    still to come, so the demo clinic's window stays open as long as possible."""
    start, end = (_clock(part) for part in window.split("-"))

    def left(zone: str) -> float:
        local = now.astimezone(ZoneInfo(zone))
        opens = datetime.combine(local.date(), start, local.tzinfo)
        closes = datetime.combine(local.date(), end, local.tzinfo)
        return (closes - local).total_seconds() if opens <= local < closes else -1.0
    return max(ZONES, key=left)


def story(now: datetime, *, window: str, days_before: int) -> list[dict]:
    """The Open Now Clinic's three appointments on its reminder day."""
    zone = open_zone(now, window)
    day = now.astimezone(ZoneInfo(zone)).date() + timedelta(days=days_before)
    location = {"id": "L-0", "name": "Open Now Clinic", "address": "1 Demo Way",
                "phone": "+13125550120", "timezone": zone}
    patients = [
        ("Ada", "Lovelace", "+13125559001", "ada@example.org", "both"),
        ("Alan", "Turing", REFUSED_NUMBER, None, "sms"),
        ("Grace", "Hopper", REFUSED_NUMBER, "grace@example.org", "sms"),
    ]
    updated_at = (now - timedelta(days=7)).astimezone(UTC).isoformat()
    return [{
        "id": f"D-{number}", "status": "booked", "updated_at": updated_at,
        "starts_at": datetime.combine(day, time(10, 15 * number), ZoneInfo(zone)).isoformat(),
        "location": dict(location),
        "patient": {"id": f"DP-{number}", "given_name": given, "family_name": family,
                    "phone": phone, "email": email, "preferred_channel": channel,
                    "language": "en"},
    } for number, (given, family, phone, email, channel) in enumerate(patients, start=1)]


def demo_simulator(*, now: datetime, window: str = "09:00-12:00", days_before: int = 3,
                   count: int = 36) -> UpstreamSimulator:
    """A few dozen ordinary appointments and the story above, with the real
    API's one-in-ten failures minus the slow kind (a timeout would stall the demo for the
    client's full read timeout)."""
    simulator = UpstreamSimulator(token="dev-upstream-token", page_size=10, failure_rate=0.1,
                                  failure_kinds=[k for k in FAILURE_KINDS if k != "timeout"])
    # The ordinary appointments fall on the day after the next reminder day (their
    # reminders go out tomorrow), so that none has a reminder day already behind it, which
    # would be counted as missed the moment the demo starts.
    today: date = now.date()
    simulator.seed(count, start=today + timedelta(days=days_before + 1), days=1)
    for record in story(now, window=window, days_before=days_before):
        simulator.put(record)
    return simulator.start()
