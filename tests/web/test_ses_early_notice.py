"""An SES notice that arrives before the send's answer was committed is matched by the
notification tag every SES send carries (actors.channels.ses_email, web.providers.ses)."""
from actors.bookkeeping import claim
from db import Notification, db
from tests.factories import appointment, moved, post_event
from tests.web.test_providers_ses import certificates, notice, post, ses_app  # noqa: F401


def test_delivery_notice_ahead_of_the_answer_is_applied_by_its_tag(ses_app, certificates):  # noqa: F811
    client = ses_app.test_client()
    first = appointment(patient={"preferred_channel": "email"})
    post_event(client, "appointment.created", first)
    (created,) = post_event(client, "appointment.updated",
                            moved(first, hours=1)).json["notifications"]
    assert claim(created["id"]) is not None  # the attempt is under way: the row is sending
    delivery = notice({"eventType": "Delivery", "delivery": {},
                       "mail": {"messageId": "0100-early",
                                "tags": {"notification": [str(created["id"])]}}})
    assert post(client, certificates.sign(delivery)).status_code == 204
    db.session.expire_all()
    done = db.session.get(Notification, created["id"])
    assert (done.status, done.provider, done.provider_message_id) == \
        ("delivered", "ses", "0100-early")


def test_a_tag_naming_a_notification_that_is_not_e_mail_changes_nothing(ses_app, certificates):  # noqa: F811
    client = ses_app.test_client()
    first = appointment()
    post_event(client, "appointment.created", first)
    (created,) = post_event(client, "appointment.updated",
                            moved(first, hours=1)).json["notifications"]
    delivery = notice({"eventType": "Delivery", "delivery": {},
                       "mail": {"messageId": "0100-x", "tags": {"notification": [
                           str(created["id"])]}}})
    assert post(client, certificates.sign(delivery)).status_code == 204
    db.session.expire_all()
    assert db.session.get(Notification, created["id"]).status == "queued"
