"""Every setting, read from the environment in one place (docs/architecture.md, rule 6).

Each setting has a default and a line in README's settings table; a test keeps the two
in step. Nothing else in the code base reads ``os.environ``.
"""
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import click

DEV_WEBHOOK_SECRET = "whsec_ZGV2LW9ubHktd2ViaG9vay1zZWNyZXQtY2hhbmdlLW1l"
DEV_SECRET_KEY = "dev-only-secret-key-change-me"
DEV_PASSWORD_SALT = "dev-only-password-salt-change-me"


class ConfigError(click.ClickException, ValueError):
    """A setting has a value the system cannot run with.

    A ClickException too, so that a ``flask --app web ...`` command refused while loading
    the app says so in one line (``Error: DATABASE_URL: ...``) instead of a traceback."""


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected true or false")


def _positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise ValueError("expected a positive whole number")
    return number


def _reminders_per_message(value: str) -> int:
    number = _positive_int(value)
    if number > 100:  # a message's sends run one after another: keep a message short
        raise ValueError("expected a whole number from 1 to 100")
    return number


def _positive_float(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise ValueError("expected a positive number")
    return number


def _choice(*options: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if value not in options:
            raise ValueError(f"expected one of {', '.join(options)}")
        return value
    return parse


def _providers(*options: str) -> Callable[[str], str]:
    """A comma-separated list of providers, in order, each once."""
    def parse(value: str) -> str:
        names = [name.strip() for name in value.split(",") if name.strip()]
        if not names or len(set(names)) != len(names) or set(names) - set(options):
            raise ValueError(f"expected a comma-separated order of {', '.join(options)}")
        return ",".join(names)
    return parse


def _daily_window(value: str) -> str:
    """``HH:MM-HH:MM`` within one day (reminder windows never cross midnight)."""
    try:
        start, end = (part.strip() for part in value.split("-"))
        (h1, m1), (h2, m2) = (map(int, start.split(":")), map(int, end.split(":")))
    except ValueError:
        raise ValueError("expected HH:MM-HH:MM, e.g. 09:00-12:00") from None
    if not (0 <= h1 < 24 and 0 <= m1 < 60 and 0 <= h2 <= 24 and 0 <= m2 < 60):
        raise ValueError("expected HH:MM-HH:MM with real times")
    if (h2, m2) <= (h1, m1) or (h2 == 24 and m2):
        raise ValueError("the window must end after it starts, on the same day")
    return f"{h1:02d}:{m1:02d}-{h2:02d}:{m2:02d}"


def _fraction(value: str) -> float:
    number = float(value)
    if not 0 <= number < 1:
        raise ValueError("expected a fraction from 0 up to (not including) 1")
    return number


def _versioned_keys(value: str) -> dict[str, str]:
    """``2=new-key,1=old-key`` as Flask-Security's ``SECURITY_TOTP_SECRETS`` dict."""
    keys = {}
    for part in value.split(","):
        version, _, key = part.strip().partition("=")
        if not version.isdigit() or int(version) < 1 or len(key) < 16:
            raise ValueError("expected VERSION=KEY pairs, comma-separated, e.g. 2=...,1=... "
                             "(versions are whole numbers from 1, keys 16 characters or more)")
        if str(int(version)) in keys:
            raise ValueError(f"version {version} is given twice")
        keys[str(int(version))] = key
    return keys


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    parse: Callable[[str], Any] = str
    doc: str = ""


SETTINGS: list[Setting] = [
    # --- Core: storage, broker, intake ---
    Setting("DATABASE_URL", None,
            doc="postgresql:// URL of the database; required when BROKER_URL is set; unset "
                "in dev mode: an embedded PostgreSQL in instance/pgdata (pgserver)"),
    Setting("BROKER_URL", None,
            doc="amqp:// URL of RabbitMQ; unset runs the in-process dev mode (StubBroker)"),
    Setting("BROKER_HEARTBEAT_SECONDS", 60, _positive_int,
            doc="AMQP heartbeat, explicit so idle connections are noticed"),
    Setting("WEBHOOK_SECRET", DEV_WEBHOOK_SECRET,
            doc="Standard Webhooks secret (whsec_...) of the appointment system"),
    Setting("WEBHOOK_SECRET_PREVIOUS", None,
            doc="the secret being rotated out; signatures made with either are accepted"),
    Setting("NOTIFY_ON_CREATE", False, _bool,
            doc="also notify patients when an appointment is first booked"),
    Setting("PUBLIC_BASE_URL", "http://127.0.0.1:5000",
            doc="the URL the outside world reaches the web app at (provider callbacks)"),
    Setting("TRUSTED_PROXY_HOPS", 0, int,
            doc="proxies in front of web whose X-Forwarded-For/-Proto are believed (1 behind "
                "the ingress); the audit log's IP comes from there"),
    # --- Channels ---
    Setting("SMS_CHANNEL", "console", _choice("twilio", "console"),
            doc="how SMS is sent"),
    Setting("EMAIL_CHANNEL", "console", _choice("ses", "smtp", "console"),
            doc="how e-mail is sent"),
    Setting("SMS_PROVIDERS", None, _providers("twilio", "sns"),
            doc="SMS providers in order of preference, e.g. twilio,sns: while the first is "
                "failing (provider-failing alert open) retryable failures go to the next; "
                "unset: SMS_CHANNEL alone"),
    Setting("EMAIL_PROVIDERS", None, _providers("ses", "smtp"),
            doc="e-mail providers in order of preference, e.g. ses,smtp (as SMS_PROVIDERS); "
                "unset: EMAIL_CHANNEL alone"),
    Setting("AWS_ENDPOINT_URL_SNS", None,
            doc="points the SNS client (SMS through AWS SNS) at another endpoint (tests)"),
    Setting("FAILOVER_CHECK_SECONDS", 10.0, _positive_float,
            doc="how long a worker reuses its look at which providers are failing"),
    Setting("FAILOVER_PROBE_SECONDS", 30.0, _positive_float,
            doc="while the first provider's circuit is open, each worker process sends one "
                "attempt through it this often (a probe), so it can be seen healthy again"),
    Setting("FAILOVER_RECOVERY_SENDS", 3, _positive_int,
            doc="sends the failing first provider must carry in the provider window (its "
                "probes) before its circuit closes and traffic returns to it"),
    Setting("SNS_RATE_PER_SECOND", 20.0, _positive_float,
            doc="SMS per second the workers send through SNS when it is not the first "
                "provider (the account's SNS SMS limit); the first keeps SMS_RATE_PER_SECOND"),
    Setting("SMTP_RATE_PER_SECOND", 5.0, _positive_float,
            doc="e-mails per second the workers send through SMTP when it is not the first "
                "provider (the relay's limit); the first keeps EMAIL_RATE_PER_SECOND"),
    Setting("SEND_WORKER_PROCESSES", 1, _positive_int,
            doc="worker processes that send on one channel, all pods together; without "
                "REDIS_URL each keeps 1/this of a second provider's rate"),
    Setting("EMAIL_FROM", "reminders@clinic.example", doc="sender address of every e-mail"),
    Setting("TWILIO_ACCOUNT_SID", None, doc="Twilio account SID"),
    Setting("TWILIO_AUTH_TOKEN", None, doc="Twilio auth token"),
    Setting("TWILIO_FROM_NUMBER", None, doc="sending number (E.164)"),
    Setting("TWILIO_MESSAGING_SERVICE_SID", None,
            doc="messaging service; used instead of TWILIO_FROM_NUMBER when set"),
    Setting("TWILIO_API_BASE_URL", None,
            doc="points the Twilio client at a Twilio-compatible server (tests, benchmarks)"),
    Setting("AWS_REGION", "us-east-1", doc="SES region; AWS_ENDPOINT_URL_SES and the usual "
            "AWS credential variables are read by boto3 itself"),
    Setting("SMTP_HOST", "127.0.0.1", doc="SMTP server"),
    Setting("SMTP_PORT", 25, _positive_int, doc="SMTP port"),
    Setting("SMTP_USERNAME", None, doc="SMTP login, when the server wants one"),
    Setting("SMTP_PASSWORD", None, doc="SMTP password"),
    Setting("SMTP_STARTTLS", False, _bool, doc="upgrade the SMTP connection with STARTTLS"),
    Setting("PROVIDER_TIMEOUT_SECONDS", 10.0, _positive_float,
            doc="connect and read timeout for every provider call"),
    # --- Delivery ---
    Setting("SEND_MAX_RETRIES", 8, int, doc="retries of a retryable provider error"),
    Setting("SEND_LEASE_SECONDS", 90, _positive_int,
            doc="how long a send attempt holds its notification; past it the attempt is "
                "presumed dead and the provider is asked before sending again (keep it above "
                "PROVIDER_TIMEOUT_SECONDS)"),
    Setting("PRIORITY_MIN_BACKOFF_MS", 500, _positive_int,
            doc="first retry delay of an immediate update (doubles, with jitter)"),
    Setting("PRIORITY_MAX_BACKOFF_MS", 30000, _positive_int,
            doc="longest retry delay of an immediate update"),
    Setting("REMINDER_MIN_BACKOFF_MS", 5000, _positive_int,
            doc="first retry delay of a reminder"),
    Setting("REMINDER_MAX_BACKOFF_MS", 300000, _positive_int,
            doc="longest retry delay of a reminder (never past its deadline)"),
    Setting("CLINIC_TIMEZONE", "America/New_York",
            doc="time zone of a location that upstream sends without one"),
    Setting("NOTICE_URGENT_WITHIN_HOURS", 12, _positive_int,
            doc="a change or cancellation notice for an appointment less than this many hours "
                "away goes out at once, even in a clinic's quiet hours (quiet hours are off "
                "unless a clinic turns them on in the admin)"),
    Setting("TEMPLATE_CACHE_SECONDS", 30.0, float,
            doc="how long a worker reuses its lookup of admin-edited templates"),
    # --- Upstream data (ETL) ---
    Setting("UPSTREAM_API_URL", None,
            doc="base URL of the upstream appointment API; unset disables pulls "
                "(dev mode then starts a local simulator)"),
    Setting("UPSTREAM_API_TOKEN", None, doc="bearer token for the upstream API"),
    Setting("UPSTREAM_CONNECT_TIMEOUT_SECONDS", 5.0, _positive_float,
            doc="connect timeout of one upstream request"),
    Setting("UPSTREAM_TIMEOUT_SECONDS", 30.0, _positive_float,
            doc="read timeout of one upstream request (a slower page is retried)"),
    Setting("UPSTREAM_PAGE_RETRIES", 8, int,
            doc="retries of one page (5xx, 429, timeout, reset, bad JSON) before the pull stops"),
    Setting("UPSTREAM_BACKOFF_BASE_SECONDS", 0.5, _positive_float,
            doc="first retry delay of a page (doubles per retry, full jitter)"),
    Setting("UPSTREAM_BACKOFF_MAX_SECONDS", 30.0, _positive_float,
            doc="longest retry delay of a page"),
    Setting("UPSTREAM_RETRY_AFTER_MAX_SECONDS", 60.0, _positive_float,
            doc="longest Retry-After the pull honours"),
    Setting("ETL_INTERVAL_MINUTES", 15, _positive_int,
            doc="a scheduled pull starts when the last one started this long ago"),
    Setting("ETL_PULL_BUDGET_SECONDS", 600.0, _positive_float,
            doc="time one pull may spend; past it the pull stops and is recorded incomplete"),
    Setting("ETL_HORIZON_DAYS", 5, _positive_int,
            doc="days ahead of today a scheduled pull covers (at least REMINDER_DAYS_BEFORE+1)"),
    Setting("ETL_STALE_AFTER_MINUTES", 60, _positive_int,
            doc="raise the etl-stale alert when the last complete pull covering the next "
                "reminder day started longer ago than this"),
    Setting("ETL_INCOMPLETE_ALERT_AFTER", 3, _positive_int,
            doc="raise the etl-incomplete alert after this many incomplete pulls in a row"),
    # --- Reminders ---
    Setting("REMINDER_DAYS_BEFORE", 3, _positive_int,
            doc="an appointment on local date D is reminded on D minus this many days"),
    Setting("REMINDER_WINDOW", "09:00-12:00", _daily_window,
            doc="local clinic time reminders are sent in (HH:MM-HH:MM, same day)"),
    Setting("SMS_RATE_PER_SECOND", 10.0, _positive_float,
            doc="SMS reminders per second planned across all clinics (the provider's rate)"),
    Setting("EMAIL_RATE_PER_SECOND", 14.0, _positive_float,
            doc="e-mail reminders per second planned across all clinics (SES default: 14)"),
    Setting("RETRY_HEADROOM", 0.25, _fraction,
            doc="share of the window kept free for retries; a plan that needs it alerts"),
    Setting("SWEEP_STUCK_AFTER_SECONDS", 600, _positive_int,
            doc="a notification queued or sending this long without progress is re-enqueued"),
    Setting("SWEEP_PRIORITY_STUCK_AFTER_SECONDS", 120, _positive_int,
            doc="the same for change and cancellation notices (the priority queue), whose "
                "message may have been lost while RabbitMQ was away"),
    Setting("DISPATCH_BATCH_SIZE", 1000, _positive_int,
            doc="due reminders moved to queued per transaction by the tick"),
    Setting("DISPATCH_ENQUEUE_THREADS", 4, _positive_int,
            doc="threads the tick publishes reminders with (one broker confirm each at a time)"),
    Setting("REMINDERS_PER_MESSAGE", 10, _reminders_per_message,
            doc="reminders of one channel the tick puts in one broker message (1 to 100; 1 is "
                "a message per reminder), sent one after another by one worker thread"),
    Setting("SCHEDULER_LOCK_RETRY_SECONDS", 5.0, _positive_float,
            doc="how often a standby scheduler tries to take over the scheduler lock"),
    Setting("SCHEDULER_LOCK_CHECK_SECONDS", 5.0, _positive_float,
            doc="how often the scheduler checks that its lock's connection is alive (and "
                "retakes the lock after a database blip)"),
    # --- Replies and self-service ---
    Setting("REPLY_WINDOW_DAYS", 7, _positive_int,
            doc="an SMS reply belongs to the upcoming appointment its number was last "
                "notified about within this many days; else it goes to the staff inbox"),
    Setting("APPOINTMENT_SYSTEM_WEBHOOK_URL", None,
            doc="where confirmations and cancellation requests are POSTed (Standard "
                "Webhooks); unset keeps them in the outbox, undelivered"),
    Setting("APPOINTMENT_SYSTEM_WEBHOOK_SECRET", None,
            doc="Standard Webhooks secret (whsec_...) those POSTs are signed with"),
    Setting("OUTBOUND_WEBHOOK_MAX_HOURS", 24, _positive_int,
            doc="an event not answered 2xx for this long is failed and on-call hears"),
    Setting("OUTBOUND_WEBHOOK_MIN_BACKOFF_SECONDS", 30.0, _positive_float,
            doc="first retry delay of an outgoing event (doubles per try, full jitter)"),
    Setting("OUTBOUND_WEBHOOK_MAX_BACKOFF_SECONDS", 1800.0, _positive_float,
            doc="longest retry delay of an outgoing event"),
    Setting("OUTBOUND_WEBHOOK_TIMEOUT_SECONDS", 10.0, _positive_float,
            doc="connect and read timeout of one POST to the appointment system"),
    # --- Admin for clinic staff ---
    Setting("SECRET_KEY", DEV_SECRET_KEY,
            doc="signs sessions and CSRF tokens; production (BROKER_URL set) refuses the default"),
    Setting("SECURITY_PASSWORD_SALT", DEV_PASSWORD_SALT,
            doc="salt of staff login tokens; production (BROKER_URL set) refuses the default"),
    Setting("SECURITY_TOTP_SECRET", None,
            doc="key that encrypts staff authenticator secrets; defaults to SECRET_KEY"),
    # Rotation (web/rotation.py; docs/operations.md "Rotate every secret").
    Setting("SECRET_KEY_PREVIOUS", None,
            doc="the SECRET_KEY being rotated out: sessions and tokens it signed stay valid"),
    Setting("SECURITY_PASSWORD_SALT_PREVIOUS", None,
            doc="the salt being rotated out: a staff password made under it logs in once "
                "more and is rehashed under SECURITY_PASSWORD_SALT"),
    Setting("SECURITY_TOTP_SECRETS", None, _versioned_keys,
            doc="versioned keys of staff authenticator secrets, VERSION=KEY comma-separated "
                "(2=new,1=old): the highest encrypts, each listed decrypts; replaces "
                "SECURITY_TOTP_SECRET"),
    Setting("ADMIN_LOCKOUT_ATTEMPTS", 10, _positive_int,
            doc="wrong passwords in a row that lock a staff account for a while"),
    Setting("ADMIN_LOCKOUT_MINUTES", 15, _positive_int,
            doc="how long the first lock lasts; each further lock in a row lasts twice as long"),
    Setting("ADMIN_LOCKOUT_MAX_MINUTES", 1440, _positive_int,
            doc="the longest a lock lasts: the account always comes back without an admin"),
    Setting("LOGIN_RATE_PER_ADDRESS", "30/minute",
            doc="login attempts one client address may make (Flask-Limiter syntax); more get 429"),
    Setting("LOGIN_RATE_PER_ACCOUNT", "20/minute",
            doc="login attempts one account may receive from all addresses together"),
    Setting("REDIS_URL", None,
            doc="redis:// URL for login-throttle counters shared by every web process and "
                "the second providers' send rates shared by every worker; unset keeps them "
                "in each process's memory"),
    Setting("ADMIN_REFRESH_SECONDS", 5, _positive_int,
            doc="how often an open Today page fetches fresh counts"),
    # --- Workers ---
    Setting("WORKER_THREADS", 4, _positive_int,
            doc="worker threads of the in-process dev mode"),
    Setting("WORKER_MODEL", "threads", _choice("threads", "gevent"),
            doc="how a Procfile worker runs its --threads: OS threads, or gevent greenlets "
                "(dramatiq-gevent, psycopg2 made cooperative) for slow providers; gevent "
                "wants WORKER_THREADS ~150 and DATABASE_POOL_SIZE ~20 with "
                "DATABASE_MAX_OVERFLOW 0 (docs/operations.md, 'Worker model')"),
    # --- Performance (see README "Performance") ---
    Setting("DATABASE_POOL_SIZE", 5, _positive_int,
            doc="PostgreSQL connections each process keeps open; under gevent, hundreds of "
                "greenlets share them (set to about 20, with DATABASE_MAX_OVERFLOW 0)"),
    Setting("DATABASE_MAX_OVERFLOW", 10, int,
            doc="extra short-lived connections past the pool (each one costs a PostgreSQL "
                "backend start); 0 makes busy threads wait for a pooled one"),
    Setting("PROVIDER_HTTP_CONNECTIONS", 32, _positive_int,
            doc="kept-alive HTTP connections per provider client, at least the worker's "
                "threads (or greenlets) so none is reopened per message"),
    # --- Deployment: worker liveness ---
    Setting("WORKER_HEARTBEAT_FILE", None,
            doc="file a worker touches while its threads can work (the scheduler: on every "
                "enqueue); the pod's liveness probe checks its age (unset: no heartbeat)"),
    Setting("WORKER_HEARTBEAT_INTERVAL_SECONDS", 10.0, _positive_float,
            doc="how often an idle worker touches its heartbeat file"),
    Setting("WORKER_STALL_GRACE_SECONDS", 60.0, _positive_float,
            doc="a message running this long past its actor's time limit stops the heartbeat"),
    # --- Observability ---
    Setting("LOG_LEVEL", "INFO", _choice("DEBUG", "INFO", "WARNING", "ERROR"),
            doc="log level of every process (JSON lines on stderr)"),
    Setting("SENTRY_DSN", None, doc="Sentry DSN; unset disables error reporting"),
    Setting("SENTRY_ENVIRONMENT", "production", doc="Sentry environment tag"),
    # --- Alerts, delivery receipts and metrics ---
    Setting("ALERT_EMAIL_TO", None,
            doc="on-call address(es), comma-separated; unset logs alerts at error level only"),
    Setting("ALERT_THROTTLE_MINUTES", 15, _positive_int,
            doc="least time between two e-mails about the same alert (digests count the rest)"),
    Setting("ALERT_QUIET_MINUTES", 60, _positive_int,
            doc="a failure alert resolves after this long without a new failure"),
    Setting("RUNBOOK_URL", "docs/operations.md",
            doc="where on-call reads docs/operations.md (e.g. its address in the code host); "
                "each alert e-mail links to its kind's section there"),
    Setting("DELIVERY_RATE_TARGET", 0.99, _positive_float,
            doc="alert when a clinic's delivery rate on a channel today falls below this"),
    Setting("DELIVERY_RATE_MIN_VOLUME", 50, _positive_int,
            doc="notifications with an outcome a clinic and channel need today before the "
                "rate is judged"),
    Setting("RECEIPT_TIMEOUT_HOURS", 6, _positive_int,
            doc="a message sent on a provider with receipts and no receipt after this long "
                "counts as unconfirmed (not reached)"),
    Setting("PLAN_GRACE_MINUTES", 15, _positive_int,
            doc="a clinic with due appointments and nothing planned this long after its "
                "window opened raises reminders-missed early"),
    Setting("PROVIDER_FAILURE_WINDOW_MINUTES", 5, _positive_int,
            doc="how far back the 'provider failing most requests' alert looks"),
    Setting("PROVIDER_FAILURE_RATIO", 0.5, _positive_float,
            doc="share of failing sends in that window that raises the alert"),
    Setting("PROVIDER_FAILURE_MIN_REQUESTS", 10, _positive_int,
            doc="sends the window needs before the provider alert is judged"),
    Setting("SNS_CERT_HOSTS", "sns.*.amazonaws.com,sns.*.amazonaws.com.cn",
            doc="hosts (glob patterns) SNS signing certificates may come from; https only, "
                "except 127.0.0.1 which tests may allow-list"),
    Setting("SNS_TOPIC_ARNS", None,
            doc="comma-separated SNS topics accepted at /api/v1/ses/notifications; unset accepts any"),
    Setting("CLINIC_HELP_CONTACT", "your clinic",
            doc="HELP reply for a number no patient has; otherwise the clinic's name and phone"),
    Setting("PROMETHEUS_MULTIPROC_DIR", "/tmp/patient-notifier-prometheus",
            doc="directory the workers' Dramatiq Prometheus middleware shares metrics in"),
    Setting("WORKER_METRICS_PORT", 9191, _positive_int,
            doc="port of the workers' Prometheus exposition server"),
]


def settings_from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """Parse every setting from ``environ``; a bad value is a ConfigError naming it."""
    settings: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = environ.get(setting.name)
        if raw is None or raw == "":
            settings[setting.name] = setting.default
            continue
        try:
            settings[setting.name] = setting.parse(raw)
        except ValueError as error:
            raise ConfigError(f"{setting.name}: {error}") from None
    return settings


def refuse_dev_secrets(settings: dict) -> None:
    """With BROKER_URL set this is a real deployment: the webhook secret printed in this
    repository would let anyone forge appointment changes, so refuse to start with it."""
    if settings.get("BROKER_URL") and settings.get("WEBHOOK_SECRET") == DEV_WEBHOOK_SECRET:
        raise ConfigError("WEBHOOK_SECRET: set the appointment system's secret; the dev "
                          "default is refused when BROKER_URL is set")
    # Unsigned events would be refused by the receiver; without this they would wait in the
    # outbox unnoticed, never tried and so never failed or alerted.
    if settings.get("APPOINTMENT_SYSTEM_WEBHOOK_URL") and not settings.get(
            "APPOINTMENT_SYSTEM_WEBHOOK_SECRET"):
        raise ConfigError("APPOINTMENT_SYSTEM_WEBHOOK_SECRET: set it (whsec_...) when "
                          "APPOINTMENT_SYSTEM_WEBHOOK_URL is set")
