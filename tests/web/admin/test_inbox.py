"""The staff inbox: unmatched replies of one clinic, read only by accounts of that clinic,
marked handled, every look and action audited; viewers stay out."""
from sqlalchemy import select

from db import AuditEntry, Location, PatientResponse, db
from tests.web.admin.conftest import csrf_token, login
from tests.web.replies_support import PHONE, book, reply

OTHER_PHONE = "+13125550111"


def _two_clinics():
    """Main St (L-1, the staff account's clinic) and Oak Ave (L-2), a patient at each."""
    book(id="A-1")
    book(id="A-2", patient={"id": "P-2", "given_name": "Grace", "phone": OTHER_PHONE},
         location={"id": "L-2", "name": "Oak Ave Clinic", "phone": "+13125550124"})
    return {location.external_id: location.id for location in db.session.scalars(
        select(Location))}


def _entry(phone) -> PatientResponse:
    return db.session.scalars(select(PatientResponse).join(PatientResponse.patient)
                              .where(PatientResponse.patient.has(phone=phone))).one()


def test_an_unmatched_reply_is_in_its_clinic_inbox_only_and_marked_handled(client, accounts):
    clinics = _two_clinics()
    reply(client, "is parking free?", sender=PHONE, sid="SMmain")
    reply(client, "running late", sender=OTHER_PHONE, sid="SMoak")
    mine, theirs = _entry(PHONE), _entry(OTHER_PHONE)
    assert (mine.location_id, theirs.location_id) == (clinics["L-1"], clinics["L-2"])
    login(client, accounts["staff"])  # an account of Main St only
    here = client.get("/admin/inbox/").get_data(as_text=True)
    assert "is parking free?" in here and "mark handled" in here
    assert "running late" not in here and "Oak Ave Clinic" not in here
    asked = client.get(f"/admin/inbox/?clinic={clinics['L-2']}").get_data(as_text=True)
    assert "running late" not in asked
    token = csrf_token(client, "/admin/inbox/")
    assert client.post(f"/admin/inbox/handle/{theirs.id}",
                       data={"csrf_token": token}).status_code == 404
    assert client.post(f"/admin/inbox/handle/{mine.id}",
                       data={"csrf_token": token}).status_code == 302
    db.session.expire_all()
    assert db.session.get(PatientResponse, theirs.id).handled_at is None
    mine = db.session.get(PatientResponse, mine.id)
    assert mine.handled_at is not None and mine.handled_by == accounts["staff"]
    audit = {(a.action, a.object_type, a.object_id) for a in db.session.scalars(
        select(AuditEntry).where(AuditEntry.account == accounts["staff"]))}
    assert ("inbox-handled", "patient_response", str(mine.id)) in audit
    assert ("view", "inbox", str(clinics["L-1"])) in audit


def test_an_admin_reads_every_clinic_and_the_replies_of_unknown_numbers(client, accounts):
    clinics = _two_clinics()
    reply(client, "running late", sender=OTHER_PHONE, sid="SMoak")
    reply(client, "who is this?", sender="+13125550177", sid="SMstranger")
    login(client, accounts["admin"])
    oak = client.get(f"/admin/inbox/?clinic={clinics['L-2']}").get_data(as_text=True)
    assert "running late" in oak and "Grace" in oak
    assert "Main St Clinic" in oak and "Oak Ave Clinic" in oak  # the clinic links
    main = client.get(f"/admin/inbox/?clinic={clinics['L-1']}").get_data(as_text=True)
    assert "Nothing waits for this clinic" in main
    strangers = client.get("/admin/inbox/?clinic=0").get_data(as_text=True)
    assert "who is this?" in strangers and "unknown number" in strangers
    assert "running late" not in strangers


def test_viewers_and_strangers_do_not_read_the_inbox(client, accounts):
    _two_clinics()
    reply(client, "hello", sender=OTHER_PHONE)
    assert client.get("/admin/inbox/").status_code == 302  # to the login page
    login(client, accounts["viewer"])
    assert client.get("/admin/inbox/").status_code == 403


def test_staff_never_read_the_replies_of_unknown_numbers(client, accounts):
    _two_clinics()
    reply(client, "who is this?", sender="+13125550177", sid="SMstranger")
    login(client, accounts["staff"])
    assert "who is this?" not in client.get("/admin/inbox/?clinic=0").get_data(as_text=True)
