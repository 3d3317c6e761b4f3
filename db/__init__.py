"""Models and migrations: the source of truth for every notification."""
from db.alerts import Alert, raise_condition, resolve_condition
from db.base import Base, UTCDateTime, db, utcnow
from db.broadcasts import Broadcast
from db.changes import AppointmentChange  # noqa: F401 - registers appointment_changes
from db.clinic import Appointment, Location, Patient
from db.clinic_settings import ClinicSettings  # noqa: F401 - registers clinic_settings
from db.consent import ConsentChange, record_consent
from db.creation import (
    create_notifications,
    create_notifications_from,
    key_taken,
    mark_planned,
    new_plan_runs,
)
from db.intake import InboundEvent
from db.ledger import ClinicDay, DeliveryDay
from db.notifications import Notification, NotificationEvent
from db.pauses import SendPause  # noqa: F401 - registers send_pauses with the metadata
from db.plans import HistoryLine, PlanRun, notification_history
from db.responses import (
    OUTBOX_STATUSES,
    OutboundAttempt,
    OutboundWebhook,
    PatientResponse,
)
from db.staff import AuditEntry, StaffRole, StaffUser, TemplateVersion, latest_template
from db.statuses import Channel, Kind, Status
from db.sync import QuarantinedRecord, SyncRun, SyncSeen
from db.transitions import move_many, transition

__all__ = [
    "OUTBOX_STATUSES",
    "Alert",
    "Appointment",
    "AuditEntry",
    "Base",
    "Broadcast",
    "Channel",
    "ClinicDay",
    "ConsentChange",
    "DeliveryDay",
    "HistoryLine",
    "InboundEvent",
    "Kind",
    "Location",
    "Notification",
    "NotificationEvent",
    "OutboundAttempt",
    "OutboundWebhook",
    "Patient",
    "PatientResponse",
    "PlanRun",
    "QuarantinedRecord",
    "StaffRole",
    "StaffUser",
    "Status",
    "SyncRun",
    "SyncSeen",
    "TemplateVersion",
    "UTCDateTime",
    "create_notifications",
    "create_notifications_from",
    "db",
    "key_taken",
    "latest_template",
    "mark_planned",
    "move_many",
    "new_plan_runs",
    "notification_history",
    "raise_condition",
    "record_consent",
    "resolve_condition",
    "transition",
    "utcnow",
]
