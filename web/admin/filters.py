"""List filters on timestamps: Flask-Admin parses naive datetimes; staff type them in their
clinic's time (web.admin.clinic_time), which is what every list shows."""
from datetime import UTC

from flask_admin.contrib.sqla import filters

from web.admin.clinic_time import zone_of


class _InClinicTime:
    def clean(self, value):
        cleaned = super().clean(value)
        zone = zone_of()
        if isinstance(cleaned, list):
            return [moment.replace(tzinfo=zone).astimezone(UTC) for moment in cleaned]
        return cleaned.replace(tzinfo=zone).astimezone(UTC)


class After(_InClinicTime, filters.DateTimeGreaterFilter):
    pass


class Before(_InClinicTime, filters.DateTimeSmallerFilter):
    pass


class Between(_InClinicTime, filters.DateTimeBetweenFilter):
    pass


def utc_filters(column, name: str) -> list:
    """After, before and between for ``column`` (stored in UTC), typed in clinic time."""
    label = f"{name} (clinic time)"
    return [After(column, label), Before(column, label), Between(column, label)]
