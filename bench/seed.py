"""Rows for benchmarks, made by PostgreSQL itself (INSERT ... SELECT generate_series).

Numbers are valid US mobiles (+1 312 2xx xxxx), one patient per appointment, so the
provider side can tell every message apart.
"""
from tests.services import pg_connect

PHONE_BASE = 2_000_000  # +1312 then 7 digits starting at 2000000


def phone(i: int) -> str:
    return f"+1312{PHONE_BASE + i}"


def reset(url: str) -> None:
    with pg_connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("TRUNCATE notification_events, notifications, appointments, patients,"
                       " locations RESTART IDENTITY CASCADE")
    connection.close()


def due_sms_reminders(url: str, count: int, *, locations: int = 50, first: int = 0,
                      status: str = "queued") -> None:
    """``count`` booked appointments in 3 days, each with an SMS reminder due now.

    ``status`` 'planned' leaves them for the system's dispatch; 'queued' for a peer's
    publisher. Keys are the planner's (actors.reminders.keys), which the send actor checks.
    """
    with pg_connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("""
            INSERT INTO locations (external_id, name, address, phone, timezone,
                                   created_at, updated_at)
            SELECT 'L-' || i, 'Clinic ' || i, i || ' Main St, Springfield', '+13125550123',
                   'America/New_York', now(), now()
            FROM generate_series(1, %(locations)s) AS i
            ON CONFLICT (external_id) DO NOTHING""", {"locations": locations})
        cursor.execute("""
            INSERT INTO patients (external_id, given_name, family_name, phone, email,
                                  preferred_channel, language, sms_opted_out, email_opted_out,
                                  email_undeliverable, created_at, updated_at)
            SELECT 'P-' || i, 'Pat', 'Ient', '+1312' || (%(base)s + i), NULL, 'sms', 'en',
                   false, false, false, now(), now()
            FROM generate_series(%(first)s, %(last)s) AS i""",
                       {"base": PHONE_BASE, "first": first, "last": first + count - 1})
        cursor.execute("""
            INSERT INTO appointments (external_id, patient_id, location_id, status, starts_at,
                                      local_date, source_updated_at, revision, created_at,
                                      updated_at)
            SELECT 'A-' || p.external_id, p.id,
                   (SELECT id FROM locations ORDER BY id
                    OFFSET (p.id %% %(locations)s) LIMIT 1),
                   'booked', now() + interval '3 days', (now() + interval '3 days')::date,
                   now(), 0, now(), now()
            FROM patients p WHERE p.external_id = ANY(
                SELECT 'P-' || i FROM generate_series(%(first)s, %(last)s) AS i)""",
                       {"locations": locations, "first": first, "last": first + count - 1})
        cursor.execute("""
            INSERT INTO notifications (appointment_id, patient_id, kind, channel, dedupe_key,
                                       revision, status, due_at, deadline_at, queued_at,
                                       attempts, created_at, updated_at)
            SELECT a.id, a.patient_id, 'reminder', 'sms',
                   'reminder:' || a.id || ':' || a.local_date || ':sms', 0, %(status)s,
                   now() - interval '1 second', now() + interval '1 day',
                   CASE WHEN %(status)s = 'queued' THEN now() END, 0, now(), now()
            FROM appointments a JOIN patients p ON p.id = a.patient_id
            WHERE p.external_id = ANY(
                SELECT 'P-' || i FROM generate_series(%(first)s, %(last)s) AS i)""",
                       {"first": first, "last": first + count - 1, "status": status})
    connection.close()


def notification_ids(url: str, status: str = "queued") -> list[int]:
    with pg_connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT id FROM notifications WHERE status = %s ORDER BY id", (status,))
        ids = [row[0] for row in cursor]
    connection.close()
    return ids


def count_status(url: str, status: str, connection=None) -> int:
    own = connection is None
    connection = connection or pg_connect(url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM notifications WHERE status = %s", (status,))
        (count,) = cursor.fetchone()
    if own:
        connection.close()
    return count
