"""Inbound webhook deliveries, kept so that a repeated delivery gets its first answer."""
from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from db.base import UTCDateTime, db, utcnow


class InboundEvent(db.Model):
    __tablename__ = "inbound_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[str] = mapped_column(String(200), unique=True)
    event_type: Mapped[str] = mapped_column(String(64))
    appointment_external_id: Mapped[str] = mapped_column(String(64))
    received_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    response_status: Mapped[int] = mapped_column(Integer)
    # The answer we gave: ids and statuses only, never patient data.
    response_body = mapped_column(JSON, nullable=False)
