"""A patient's own choice of channels, from the preferences page or a one-click unsubscribe.

The choice is kept as consent per channel (db.consent, with its source) and, for the page,
as the patient's preferred channel with ``channel_chosen_at`` set: from then on upstream's
``preferred_channel`` no longer overwrites it (actors.appointments), until the patient
chooses again. Runs in the caller's transaction.
"""
from db import Patient, record_consent, utcnow

CHOICES = {"sms": ("sms",), "email": ("email",), "both": ("sms", "email"), "none": ()}


def current_choice(patient: Patient) -> str:
    wanted = [channel for channel in ("sms", "email")
              if not getattr(patient, f"{channel}_opted_out")
              and channel in patient.channels()]
    return {("sms",): "sms", ("email",): "email", ("sms", "email"): "both"}.get(
        tuple(wanted), "none")


def choose(patient: Patient, choice: str) -> None:
    """The patient picked ``choice`` (a key of CHOICES) on the preferences page."""
    wanted = CHOICES[choice]
    for channel in ("sms", "email"):
        # Every channel is written down, changed or not: staff see what the patient said.
        record_consent(patient, channel, opted_out=channel not in wanted,
                       source="patient-page", reason=f"chose {choice} on the preferences page")
    if wanted:
        patient.preferred_channel = "both" if len(wanted) == 2 else wanted[0]
    patient.channel_chosen_at = utcnow()


def unsubscribe_email(patient: Patient) -> bool:
    """RFC 8058 one-click: no more e-mail; True if this changed anything."""
    if patient.email_opted_out:
        return False
    record_consent(patient, "email", opted_out=True, source="email-unsubscribe",
                   reason="one-click unsubscribe from an e-mail")
    return True
