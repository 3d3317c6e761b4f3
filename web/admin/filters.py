"""List filters on UTC timestamps: Flask-Admin parses naive datetimes; ours are UTC-aware."""
from datetime import UTC

from flask_admin.contrib.sqla import filters


class _AsUTC:
    def clean(self, value):
        cleaned = super().clean(value)
        if isinstance(cleaned, list):
            return [moment.replace(tzinfo=UTC) for moment in cleaned]
        return cleaned.replace(tzinfo=UTC)


class AfterUTC(_AsUTC, filters.DateTimeGreaterFilter):
    pass


class BeforeUTC(_AsUTC, filters.DateTimeSmallerFilter):
    pass


class BetweenUTC(_AsUTC, filters.DateTimeBetweenFilter):
    pass


def utc_filters(column, name: str) -> list:
    label = f"{name} (UTC)"
    return [AfterUTC(column, label), BeforeUTC(column, label), BetweenUTC(column, label)]
