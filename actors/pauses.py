"""Whether ops' pauses (db/pauses.py) hold a notification back.

Two places ask: dispatch leaves a paused clinic's or channel's due reminders ``planned``,
and the send actor's pre-check leaves an already queued one where it is, unsent. Neither
changes a status, so resuming needs no repair: dispatch takes the reminders that are still
due, the sweep re-enqueues the queued ones (after SWEEP_STUCK_AFTER_SECONDS), and whatever
outlived its deadline meanwhile expires as any late reminder does, and on-call hears.
"""
from sqlalchemy import exists

from db import Appointment, Notification
from db.pauses import SendPause

PAUSED_REASON = "sending paused by ops"


def not_paused():
    """A condition on ``Notification`` rows: neither its clinic nor its channel is paused."""
    by_channel = exists().where(SendPause.channel == Notification.channel)
    by_clinic = exists().where(SendPause.location_id == Appointment.location_id,
                               Appointment.id == Notification.appointment_id)
    return ~(by_channel | by_clinic)
