"""Staff see the appointments upstream no longer lists (their reminders are held back)."""
from datetime import timedelta

from db import Appointment, Location, Patient, db, utcnow
from tests.web.admin.conftest import login


def _filter_arg(app) -> str:
    admin = app.extensions["admin"][0]
    view = next(v for v in admin._views if getattr(v, "endpoint", "") == "appointment")
    index = next(i for i, f in enumerate(view._filters) if f.name == "Missing from source")
    return f"flt0_{index}"


def test_the_missing_appointments_are_one_filter_away(app, client, accounts, clinic):
    now = utcnow()
    gone = Appointment(external_id="A-GONE", patient=db.session.get(Patient, clinic.patient.id),
                       location=db.session.get(Location, clinic.location.id), status="booked",
                       starts_at=now + timedelta(days=4), local_date=(now + timedelta(days=4)
                                                                      ).date(),
                       source_updated_at=now, revision=0, missing_from_source_at=now)
    db.session.add(gone)
    db.session.commit()
    login(client, accounts["staff"])

    page = client.get(f"/admin/appointment/?{_filter_arg(app)}=yes").get_data(as_text=True)

    assert "A-GONE" in page and "A-1001" not in page
    assert "Missing from source since" in page
    everyone = client.get("/admin/appointment/").get_data(as_text=True)
    assert "A-GONE" in everyone and "A-1001" in everyone
