"""The staff inbox: unmatched replies of one clinic only, marked handled, every look and
action audited; viewers stay out."""
from sqlalchemy import select

from db import AuditEntry, Location, PatientResponse, db
from tests.web.admin.conftest import csrf_token, login
from tests.web.replies_support import book, reply

OTHER_PHONE = "+13125550111"


def _two_clinics():
    book(id="A-1")
    book(id="A-2", patient={"id": "P-2", "given_name": "Grace", "phone": OTHER_PHONE},
         location={"id": "L-2", "name": "Oak Ave Clinic", "phone": "+13125550124"})


def test_an_unmatched_reply_is_in_its_clinic_inbox_only_and_marked_handled(client, accounts):
    _two_clinics()
    reply(client, "is parking free?", sender=OTHER_PHONE)
    (entry,) = db.session.scalars(select(PatientResponse)).all()
    assert entry.location.name == "Oak Ave Clinic" and entry.needs_staff
    main_st = db.session.scalar(select(Location.id).where(Location.external_id == "L-1"))
    login(client, accounts["staff"])
    elsewhere = client.get(f"/admin/inbox/?clinic={main_st}").get_data(as_text=True)
    assert "parking" not in elsewhere
    here = client.get(f"/admin/inbox/?clinic={entry.location_id}").get_data(as_text=True)
    assert "is parking free?" in here and "Grace" in here and "mark handled" in here
    token = csrf_token(client, f"/admin/inbox/?clinic={entry.location_id}")
    done = client.post(f"/admin/inbox/handle/{entry.id}", data={"csrf_token": token})
    assert done.status_code == 302
    db.session.expire_all()
    entry = db.session.get(PatientResponse, entry.id)
    assert entry.handled_at is not None and entry.handled_by == accounts["staff"]
    audit = {(a.action, a.object_type, a.object_id) for a in db.session.scalars(
        select(AuditEntry).where(AuditEntry.account == accounts["staff"]))}
    assert ("inbox-handled", "patient_response", str(entry.id)) in audit
    assert ("view", "inbox", str(entry.location_id)) in audit


def test_viewers_and_strangers_do_not_read_the_inbox(client, accounts):
    _two_clinics()
    reply(client, "hello", sender=OTHER_PHONE)
    assert client.get("/admin/inbox/").status_code == 302  # to the login page
    login(client, accounts["viewer"])
    assert client.get("/admin/inbox/").status_code == 403


def test_the_inbox_offers_each_clinic_and_says_when_nothing_waits(client, accounts):
    _two_clinics()
    login(client, accounts["staff"])
    main_st = db.session.scalar(select(Location.id).where(Location.external_id == "L-1"))
    html = client.get(f"/admin/inbox/?clinic={main_st}").get_data(as_text=True)
    assert "Oak Ave Clinic" in html and "Main St Clinic" in html
    assert "Nothing waits for this clinic" in html
