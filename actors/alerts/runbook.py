"""What on-call should do about each kind of alert: the last paragraph of every e-mail.

Each kind has a short advice here and a full section in docs/operations.md ("Runbooks: the
app's alerts", one heading per kind, the kind itself as the heading), which the e-mail links
to. ``RUNBOOK_URL`` says where on-call opens that page; tests/actors/alerts/test_runbook.py
fails when a kind that ``raise_condition`` is called with has no advice or no section.
"""
from flask import current_app, has_app_context

ADVICE = {
    "send-failed": (
        "Look up the sample notification ids in the admin (status, error code, history). "
        "A provider code (e.g. Twilio 21211/21614/30006, SES MessageRejected) means the "
        "patient's contact is wrong: staff should correct it in the booking system. Many "
        "different patients with the same code at once points at our configuration."),
    "send-failed-technical": (
        "The provider kept failing until retries ran out. Check the provider's status page "
        "and our credentials, then list and replay the dead letters: "
        "`flask --app web dead-letters list` / `dead-letters replay`."),
    "delivery-rate": (
        "Fewer messages than the target reached patients over the last 24 hours. Open the "
        "send-failed alerts of the same channel for the error codes behind it."),
    "provider-failing": (
        "Most sends to this provider failed over the last minutes; messages are being "
        "retried until their deadline. Check the provider's status page, our account "
        "(balance, suspension) and network egress. Immediate updates are at risk first."),
    "provider-failover": (
        "The first provider of the channel is failing, so its traffic now goes to the next "
        "one (SMS_PROVIDERS / EMAIL_PROVIDERS); workers probe the first now and then, and a "
        "RESOLVED e-mail says traffic came back once the probes succeeded. Nothing to do for "
        "the patients; follow the provider-failing alert of the first provider."),
    "dead-letters": (
        "Messages gave up after every retry and wait in the dead-letter queue (kept 7 days, "
        "then dropped). Fix the cause, then `flask --app web dead-letters list` and "
        "`flask --app web dead-letters replay [--queue Q] [--id ID]`."),
    "reminder-overflow": (
        "A day's planned reminders do not fit the window at the provider's rate and still "
        "leave room for retries. Raise SMS_RATE_PER_SECOND / EMAIL_RATE_PER_SECOND if the "
        "provider allows it, and watch the day with `flask --app web reminders status`."),
    "reminder-expired": (
        "Reminders reached the end of their window unsent (workers stopped, a backlog, a "
        "provider outage or a pause). Find why they waited; staff may call the patients: "
        "`flask --app web report call-list --date DAY`."),
    "reminders-missed": (
        "A clinic's window closed (or is well open) with due reminders never planned or "
        "never sent. Check the reminder tick and upstream data, and give staff the call list "
        "the summary names."),
    "missing-from-source": (
        "A complete upstream pull no longer lists some appointments; their reminders are "
        "held back. Ask the booking system's owners whether they were deleted on purpose; "
        "the admin's appointment list filters them."),
    "etl-stale": (
        "No complete upstream pull covers the next reminder day: reminders are planned from "
        "old data. Check the upstream API, UPSTREAM_API_TOKEN and the ETL's log lines; "
        "`flask --app web etl pull` tries one now."),
    "etl-incomplete": (
        "Several upstream pulls in a row stopped early. The run ids are the samples; their "
        "error summaries say why (timeouts, 5xx, the time budget)."),
    "outbound-webhook-failed": (
        "Patients' answers could not be delivered to the appointment system for the whole "
        "retry period. Check its endpoint and our signing secret, then retry the failed "
        "events: `flask --app web outbox retry`."),
}
DEFAULT_ADVICE = ("See the alert's key and sample ids in the admin, and the runbooks in "
                  "docs/operations.md.")
DEFAULT_RUNBOOK_URL = "docs/operations.md"


def section_anchor(kind: str) -> str:
    """The anchor of the kind's heading (``### <kind>``) as GitHub and GitLab make it."""
    return kind.lower()


def runbook_url(kind: str) -> str:
    base = DEFAULT_RUNBOOK_URL
    if has_app_context():
        base = current_app.config.get("RUNBOOK_URL") or DEFAULT_RUNBOOK_URL
    return f"{base}#{section_anchor(kind)}"


def advice_for(kind: str) -> str:
    """The advice and, on its own line, the link to the kind's runbook section."""
    return f"{ADVICE.get(kind, DEFAULT_ADVICE)}\nRunbook: {runbook_url(kind)}"
