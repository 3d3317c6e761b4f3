"""Upstream records: validated by the shared contract, or quarantined with their reason.

A record can fail validation for two very different reasons: upstream holds bad data (a
phone number that is not E.164, an unknown time zone), or the page was damaged on the way
(the flaky API garbles a record now and then). The first must be quarantined for staff;
the second must simply be read again, or an appointment would be missed this pull. So a
page with invalid records is read once more, and only a record that is invalid in the
same form twice in a row is taken to be upstream's data and quarantined.
"""
import json

from marshmallow import ValidationError
from sqlalchemy import select, update

from actors.etl.client import RetryPage
from actors.schemas import AppointmentSchema
from db import QuarantinedRecord, db, utcnow

_schema = AppointmentSchema()
MAX_REASON = 2000


def external_id(raw) -> str | None:
    """The record's id when it has a usable one (a record without one is still kept)."""
    if isinstance(raw, dict) and isinstance(raw.get("id"), str) and 0 < len(raw["id"]) <= 64:
        return raw["id"]
    return None


def _flatten(messages, prefix=""):
    if isinstance(messages, dict):
        for name, inner in messages.items():
            yield from _flatten(inner, f"{prefix}.{name}" if prefix else str(name))
    elif isinstance(messages, list):
        for inner in messages:
            yield from _flatten(inner, prefix)
    else:
        yield f"{prefix or 'record'}: {messages}"


def reason(error: ValidationError) -> str:
    """Field names and rule texts only: marshmallow's messages never echo the value."""
    return "; ".join(sorted(_flatten(error.messages)))[:MAX_REASON]


def validate(raw) -> tuple[dict | None, str | None]:
    try:
        return _schema.load(raw), None
    except ValidationError as error:
        return None, reason(error)


def _fingerprint(raw) -> str:
    return json.dumps(raw, sort_keys=True, default=str)


class PageInspector:
    """``inspect`` callback for UpstreamClient.read_page: validates each read of a page and
    asks for a re-read until every invalid record has been seen, identical, twice."""

    def __init__(self):
        self._suspects: set[str] | None = None
        self.valid: list[dict] = []
        self.invalid: list[tuple[object, str]] = []

    def __call__(self, body: dict) -> None:
        valid, invalid = [], []
        for raw in body["appointments"]:
            data, why = validate(raw)
            if why is None:
                valid.append(data)
            else:
                invalid.append((raw, why))
        prints = {_fingerprint(raw) for raw, _ in invalid}
        if prints and (self._suspects is None or not prints <= self._suspects):
            self._suspects = prints
            raise RetryPage("malformed-record")
        self.valid, self.invalid = valid, invalid
        self._suspects = None


def quarantine(run_id: int, raw, why: str) -> None:
    """Keep the record for staff; the same bad record seen again counts, not repeats."""
    ext_id, now = external_id(raw), utcnow()
    open_rows = db.session.execute(
        select(QuarantinedRecord).where(QuarantinedRecord.external_id.is_not_distinct_from(ext_id),
                                        QuarantinedRecord.resolved_at.is_(None))
        .with_for_update()).scalars().all()
    for row in open_rows:
        if row.raw == raw and row.reason == why:
            row.last_seen_at, row.times_seen = now, row.times_seen + 1
            return
    db.session.add(QuarantinedRecord(run_id=run_id, external_id=ext_id, reason=why, raw=raw,
                                     created_at=now, last_seen_at=now, times_seen=1))


def resolve_quarantined(external_ids: list[str]) -> None:
    """Valid versions of once-bad records arrived: their quarantine is over."""
    if external_ids:
        db.session.execute(update(QuarantinedRecord)
                           .where(QuarantinedRecord.external_id.in_(external_ids),
                                  QuarantinedRecord.resolved_at.is_(None))
                           .values(resolved_at=utcnow()))
