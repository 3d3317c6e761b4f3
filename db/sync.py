"""ETL pulls from the upstream appointment API: what each pull did, and what it refused.

A pull that silently loses a page means a patient never reminded, so every pull leaves a
row here (complete or not, with its counts), and every upstream record that failed
validation is kept whole, with its reason, for staff to look at.
"""
from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import UTCDateTime, db, utcnow

COUNTS = ("pages", "records", "created", "changed", "unchanged", "quarantined", "retries",
          "missing")


class SyncRun(db.Model):
    """One pull of the upstream API over a window of appointment days."""

    __tablename__ = "sync_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at = mapped_column(UTCDateTime, default=utcnow, nullable=False, index=True)
    finished_at = mapped_column(UTCDateTime, nullable=True)
    # Appointment days asked for, both ends included (local to each appointment's clinic).
    window_from = mapped_column(Date, nullable=False)
    window_to = mapped_column(Date, nullable=False)
    # True only when every page was read and applied: the only pulls that may flag an
    # appointment as missing from source or count towards freshness.
    complete: Mapped[bool] = mapped_column(Boolean, default=False)
    trigger: Mapped[str] = mapped_column(String(16), default="schedule")  # schedule | cli | dev
    pages: Mapped[int] = mapped_column(Integer, default=0)
    records: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    quarantined: Mapped[int] = mapped_column(Integer, default=0)
    retries: Mapped[int] = mapped_column(Integer, default=0)
    missing: Mapped[int] = mapped_column(Integer, default=0)
    # Why the pull stopped or what it retried, in counts and HTTP statuses; no patient data.
    error_summary: Mapped[str | None] = mapped_column(Text)

    def summary(self) -> dict:
        return {name: getattr(self, name) for name in COUNTS}


class SyncSeen(db.Model):
    """External ids a running pull has read; lets a complete pull find what upstream dropped
    without holding every id in memory. Emptied when the pull finishes."""

    __tablename__ = "sync_seen"

    run_id: Mapped[int] = mapped_column(ForeignKey("sync_runs.id", ondelete="CASCADE"),
                                        primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), primary_key=True)


class QuarantinedRecord(db.Model):
    """An upstream record that failed validation, kept as received, for staff review."""

    __tablename__ = "quarantined_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("sync_runs.id"), index=True)
    # The record's id when it had a usable one; a record without one is still kept.
    external_id: Mapped[str | None] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(Text)  # field names and rule texts, never values
    raw = mapped_column(JSON, nullable=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    # The same bad record seen again by later pulls bumps these instead of adding a row.
    last_seen_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    times_seen: Mapped[int] = mapped_column(Integer, default=1)
    # Set when a later pull brings a valid version of the record (or staff resolve it).
    resolved_at = mapped_column(UTCDateTime, nullable=True)
