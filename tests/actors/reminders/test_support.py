"""The test clock's midday zone: every test that sends for real relies on its open window."""
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tests.actors.reminders.support import midday_zone


def test_the_midday_zone_is_within_half_an_hour_of_noon_at_every_minute_of_the_day():
    start = datetime(2026, 12, 8, tzinfo=UTC)
    for minute in range(24 * 60):
        now = start + timedelta(minutes=minute)
        local = now.astimezone(ZoneInfo(midday_zone(now)))
        assert time(11, 30) <= local.time() <= time(12, 30), now
