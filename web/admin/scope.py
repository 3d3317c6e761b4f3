"""Which clinics an account sees: admins every location, staff and viewers only theirs.

Every list, search, export, detail page, action, the call list, Today and the delivery page
narrow by ``location_ids()``; a record of another clinic opened by its URL is a 404, as if it
did not exist (its existence is no business of another clinic's staff).
"""
from flask import abort
from flask_login import current_user
from sqlalchemy import exists, select

from db import Appointment, Location, db


def sees_all() -> bool:
    return current_user.is_authenticated and "admin" in current_user.role_names


def location_ids() -> list[int] | None:
    """The account's location ids; None means every location (an admin)."""
    if sees_all():
        return None
    if not current_user.is_authenticated:
        return []
    names = current_user.location_external_ids
    if not names:
        return []
    return list(db.session.scalars(select(Location.id).where(Location.external_id.in_(names))))


def appointment_visible(appointment: Appointment | None) -> Appointment:
    ids = location_ids()
    if appointment is None or (ids is not None and appointment.location_id not in ids):
        abort(404)
    return appointment


def patient_clause(patient_id_column, ids: list[int]):
    """A patient belongs to the clinics where they have an appointment."""
    return exists().where(Appointment.patient_id == patient_id_column,
                          Appointment.location_id.in_(ids))


def patient_visible(patient):
    ids = location_ids()
    if patient is None:
        abort(404)
    if ids is not None and not db.session.scalar(
            select(patient_clause(patient.id, ids))):
        abort(404)
    return patient


def locations() -> list[Location]:
    """The account's locations, by name and external id (two clinics may share a name)."""
    query = select(Location).order_by(Location.name, Location.external_id)
    ids = location_ids()
    if ids is not None:
        query = query.where(Location.id.in_(ids))
    return list(db.session.scalars(query))


def location_by_external_id(external_id: str | None) -> Location:
    location = db.session.scalar(select(Location).where(Location.external_id == external_id)) \
        if external_id else None
    ids = location_ids()
    if location is None or (ids is not None and location.id not in ids):
        abort(404)
    return location
