"""The Today page's numbers, and the JSON its refresher polls."""
from db import db, transition
from tests.web.admin.conftest import login


def test_today_counts_the_batch_updates_rates_freshness_and_alerts(client, accounts, clinic):
    login(client, accounts["viewer"])
    data = client.get("/admin/today.json").get_json()
    fields, loc = data["fields"], clinic.location.id
    assert data["locations"] == [loc]
    assert fields[f"loc-{loc}-failed"] == 1 and fields[f"loc-{loc}-total"] == 1
    assert fields[f"loc-{loc}-progress"] == 100  # nothing left to send today
    assert fields[f"loc-{loc}-window"] == "09:00-12:00"
    assert fields["updates-planned"] == 1 and fields["updates-total"] == 1
    assert fields["rate-sms"] == "0.0%" and fields["judged-sms"] == 1
    assert fields["rate-email"] == "–"
    assert fields["freshness"] == "0 min ago"
    assert fields["alerts-count"] == 1 and data["alerts"][0]["kind"] == "send-failed"

    # The batch moves: the next poll shows it.
    transition(clinic.pending, "sending", source="send")
    transition(clinic.pending, "sent", source="send")
    transition(clinic.pending, "delivered", source="twilio-status")
    db.session.commit()
    fields = client.get("/admin/today.json").get_json()["fields"]
    assert fields["updates-delivered"] == 1 and fields["rate-sms"] == "50.0%"


def test_the_page_shows_the_same_numbers_and_polls(client, accounts, clinic):
    login(client, accounts["viewer"])
    page = client.get("/admin/").get_data(as_text=True)
    assert f'data-field="loc-{clinic.location.id}-failed">1<' in page
    assert 'data-url="/admin/today.json"' in page and "/admin-assets/admin.js" in page
    assert "1 SMS failed (30003)" in page
