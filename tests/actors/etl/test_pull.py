"""A pull through the flaky upstream stores every appointment exactly."""
from datetime import timedelta

from sqlalchemy import select

from actors.etl import pull_now
from db import Appointment, QuarantinedRecord, SyncRun, db
from fakes.upstream import FAILURE_KINDS
from tests.actors.etl.support import (
    horizon_days,
    matches_upstream,
    notification_count,
    stored_count,
    today,
)


def test_2000_appointments_through_10_percent_failures_are_stored_exactly(etl_app, upstream):
    start, days = horizon_days()
    upstream.seed(2000, start=start, days=days)
    upstream.fail(0.10, kinds=FAILURE_KINDS, seed=7)
    broker = etl_app.extensions["dramatiq"]

    first = pull_now(trigger="cli")

    assert first.complete, first.error_summary
    assert set(upstream.failures) == set(FAILURE_KINDS)  # every kind was met and survived
    assert first.pages == 40 and first.records == 2000 and first.created == 2000
    assert first.quarantined == 0 and first.retries >= sum(upstream.failures.values())
    assert stored_count() == 2000
    stored = db.session.execute(select(Appointment)).scalars().all()
    assert {a.external_id for a in stored} == set(upstream.ids())
    assert all(matches_upstream(upstream, a) for a in stored)
    assert notification_count() == 0  # first sight notifies nobody
    assert all(broker.queues[q].qsize() == 0 for q in broker.queues)

    second = pull_now(trigger="cli")

    assert second.complete, second.error_summary
    assert (second.records, second.created, second.changed, second.unchanged) == (2000, 0, 0, 2000)
    assert second.missing == 0
    assert stored_count() == 2000 and notification_count() == 0
    assert all(broker.queues[q].qsize() == 0 for q in broker.queues)


def test_a_malformed_record_is_quarantined_and_the_rest_of_its_page_stored(etl_app, upstream):
    start, days = horizon_days()
    ids = upstream.seed(120, start=start, days=days)
    bad = ids[60]  # page 2 of 3
    upstream.corrupt(bad, phone="not-a-phone")

    run = pull_now(trigger="cli")

    assert run.complete and run.records == 120 and run.created == 119 and run.quarantined == 1
    assert stored_count() == 119
    assert db.session.execute(select(Appointment).where(Appointment.external_id == bad)
                              ).scalar_one_or_none() is None
    row = db.session.execute(select(QuarantinedRecord)).scalar_one()
    assert row.external_id == bad and row.run_id == run.id and row.resolved_at is None
    assert row.reason == "patient.phone: Not an E.164 phone number."
    assert row.raw["patient"]["phone"] == "not-a-phone"  # kept as received, for staff

    # Seen again: counted on the same row. Fixed upstream: the quarantine is resolved.
    pull_now(trigger="cli")
    assert db.session.execute(select(QuarantinedRecord)).scalar_one().times_seen == 2
    upstream.corrupt(bad)
    upstream.touch(bad)
    pull_now(trigger="cli")
    assert db.session.execute(select(QuarantinedRecord)).scalar_one().resolved_at is not None
    assert stored_count() == 120


def test_a_record_without_id_or_object_shape_is_quarantined_too(etl_app, upstream):
    start, days = horizon_days()
    upstream.seed(10, start=start, days=days)
    upstream.corrupt("A-000003", starts_at=None)

    run = pull_now(trigger="cli")

    assert run.complete and run.quarantined == 1 and stored_count() == 9
    row = db.session.execute(select(QuarantinedRecord)).scalar_one()
    assert row.reason == "starts_at: Missing data for required field."


def test_appointments_upstream_no_longer_returns_are_flagged_never_cancelled(etl_app, upstream):
    start, days = horizon_days()
    ids = upstream.seed(30, start=start, days=days)
    pull_now(trigger="cli")
    upstream.remove(ids[5])

    run = pull_now(trigger="cli")

    assert run.complete and run.missing == 1
    gone = db.session.execute(select(Appointment).where(Appointment.external_id == ids[5])
                              ).scalar_one()
    assert gone.missing_from_source_at is not None and gone.status == "booked"
    assert notification_count() == 0
    others = db.session.execute(select(Appointment).where(Appointment.external_id != ids[5])
                                ).scalars().all()
    assert all(a.missing_from_source_at is None for a in others)


def test_an_incomplete_pull_flags_nothing_missing(etl_app, upstream):
    start, days = horizon_days()
    ids = upstream.seed(120, start=start, days=days)
    pull_now(trigger="cli")
    upstream.remove(ids[100])
    upstream.fail(1.0, kinds=["5xx"])
    etl_app.config["UPSTREAM_PAGE_RETRIES"] = 2

    run = pull_now(trigger="cli")

    assert not run.complete and run.missing == 0
    assert db.session.execute(select(Appointment).where(
        Appointment.missing_from_source_at.is_not(None))).first() is None
    assert db.session.execute(select(SyncRun).where(SyncRun.id == run.id)).scalar_one() \
        .error_summary.startswith("retried: http-5")


def test_a_window_outside_the_data_is_a_complete_empty_pull(etl_app, upstream):
    start, days = horizon_days()
    upstream.seed(10, start=start, days=days)
    far = today() + timedelta(days=60)

    run = pull_now(far, far, trigger="cli")

    assert run.complete and run.pages == 1 and run.records == 0 and stored_count() == 0
