"""What on-call should do about each kind of alert: the last paragraph of every e-mail."""

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
    "dead-letters": (
        "Messages gave up after every retry and wait in the dead-letter queue (kept 7 days, "
        "then dropped). Fix the cause, then `flask --app web dead-letters list` and "
        "`flask --app web dead-letters replay [--queue Q] [--id ID]`."),
}
DEFAULT_ADVICE = ("See the alert's key and sample ids in the admin, and the runbook section "
                  "of README for this kind of alert.")


def advice_for(kind: str) -> str:
    return ADVICE.get(kind, DEFAULT_ADVICE)
