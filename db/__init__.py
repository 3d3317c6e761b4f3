"""Models and migrations: the source of truth for every notification."""
from db.alerts import Alert, raise_condition, resolve_condition
from db.base import Base, UTCDateTime, db, utcnow
from db.broadcasts import Broadcast
from db.changes import AppointmentChange  # noqa: F401 - registers appointment_changes
from db.clinic_settings import ClinicSettings  # noqa: F401 - registers clinic_settings
from db.clinic import Appointment, Location, Patient
from db.consent import ConsentChange, record_consent
from db.intake import InboundEvent
from db.ledger import ClinicDay, DeliveryDay
from db.notifications import Notification, NotificationEvent
from db.plans import HistoryLine, PlanRun, notification_history
from db.pauses import SendPause  # noqa: F401 - registers send_pauses with the metadata
from db.responses import OUTBOX_STATUSES, OutboundAttempt, OutboundWebhook, PatientResponse
from db.sync import QuarantinedRecord, SyncRun, SyncSeen
from db.staff import AuditEntry, StaffRole, StaffUser, TemplateVersion, latest_template
from db.creation import create_notifications, create_notifications_from, new_plan_runs
from db.statuses import Channel, Kind, Status
from db.transitions import move_many, transition

__all__ = [
    "Alert", "raise_condition", "resolve_condition",
    "Base", "UTCDateTime", "db", "utcnow", "Broadcast", "Appointment", "Location", "Patient",
    "ConsentChange", "record_consent", "InboundEvent", "ClinicDay", "DeliveryDay", "Notification", "NotificationEvent",
    "transition", "move_many", "create_notifications", "create_notifications_from",
    "new_plan_runs", "HistoryLine", "PlanRun", "notification_history",
    "Channel", "Kind", "Status",
    "OUTBOX_STATUSES", "OutboundAttempt", "OutboundWebhook", "PatientResponse",
    "QuarantinedRecord", "SyncRun", "SyncSeen",
    "AuditEntry", "StaffRole", "StaffUser", "TemplateVersion", "latest_template",
]
