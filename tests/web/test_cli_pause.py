"""``flask --app web pause|resume|pauses``: one clinic or one channel, audited, listed."""
from sqlalchemy import select

from db import AuditEntry, Location, db
from db.pauses import SendPause


def _clinic():
    db.session.add(Location(external_id="L-1", name="Main St Clinic", address="1 Main St",
                            phone="+13125550123", timezone="America/New_York"))
    db.session.commit()


def _run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def _audit():
    db.session.expire_all()
    return [(e.action, e.object_type, e.object_id, e.account, e.detail)
            for e in db.session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars()]


def test_pause_list_and_resume_a_clinic_with_an_audit_trail(app):
    _clinic()
    result = _run(app, "pause", "--clinic", "L-1", "--reason", "wrong template",
                  "--by", "jane@clinic.example")
    assert result.exit_code == 0 and "paused location L-1" in result.output, result.output
    listed = _run(app, "pauses")
    assert "clinic L-1" in listed.output and "jane@clinic.example" in listed.output
    assert "wrong template" in listed.output
    again = _run(app, "pause", "--clinic", "L-1", "--reason", "again", "--by", "joe")
    assert again.exit_code == 0 and "paused already" in again.output
    resumed = _run(app, "resume", "--clinic", "L-1", "--by", "joe@clinic.example")
    assert resumed.exit_code == 0 and "resumed location L-1" in resumed.output
    assert _run(app, "pauses").output.strip() == "nothing is paused"
    audit = _audit()
    assert [row[:4] for row in audit] == [
        ("send-paused", "location", "L-1", "jane@clinic.example"),
        ("send-resumed", "location", "L-1", "joe@clinic.example")]
    assert audit[0][4] == "wrong template" and "by jane@clinic.example" in audit[1][4]


def test_pause_a_channel(app):
    result = _run(app, "pause", "--channel", "sms", "--reason", "provider incident",
                  "--by", "jane")
    assert result.exit_code == 0, result.output
    assert db.session.execute(select(SendPause.channel)).scalars().all() == ["sms"]
    assert "channel sms" in _run(app, "pauses").output
    assert "is not paused" in _run(app, "resume", "--channel", "email", "--by", "jane").output


def test_wrong_targets_are_refused_with_exit_2_and_change_nothing(app):
    _clinic()
    for args in (["pause", "--reason", "x", "--by", "j"],
                 ["pause", "--clinic", "L-1", "--channel", "sms", "--reason", "x", "--by", "j"],
                 ["pause", "--clinic", "L-9", "--reason", "x", "--by", "j"],
                 ["pause", "--channel", "fax", "--reason", "x", "--by", "j"],
                 ["pause", "--clinic", "L-1", "--by", "j"],
                 ["resume", "--clinic", "L-1"]):
        result = _run(app, *args)
        assert result.exit_code == 2, (args, result.output)
    assert db.session.execute(select(SendPause)).first() is None
    assert _audit() == []


def test_what_is_paused_is_in_the_metrics(app):
    _clinic()
    _run(app, "pause", "--clinic", "L-1", "--reason", "x", "--by", "jane")
    _run(app, "pause", "--channel", "email", "--reason", "x", "--by", "jane")
    text = app.test_client().get("/metrics").get_data(as_text=True)
    assert 'patient_notifier_sending_paused{scope="clinic",target="L-1"} 1.0' in text
    assert 'patient_notifier_sending_paused{scope="channel",target="email"} 1.0' in text
    _run(app, "resume", "--clinic", "L-1", "--by", "jane")
    text = app.test_client().get("/metrics").get_data(as_text=True)
    assert 'target="L-1"' not in text and 'target="email"' in text
