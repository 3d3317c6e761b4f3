"""The Flask app factory: every process (web, workers, scheduler, CLI) starts here."""
import os

from flask import Flask

from web.cli_errors import one_line_errors
from web.config import ConfigError, refuse_dev_secrets, settings_from_env


@one_line_errors  # flask --app web …: a refused setting or a service down is one line
def create_app(config: dict | None = None) -> Flask:
    """Build the app from the environment, with ``config`` overriding it (tests)."""
    app = Flask(__name__, instance_relative_config=True)
    settings = settings_from_env(os.environ)
    settings.update(config or {})
    refuse_dev_secrets(settings)
    app.config.update(settings)
    app.config.update(_derived(app))

    from web.observability import init_logging, init_sentry
    init_logging(app)
    init_sentry(app, transport=app.config.get("SENTRY_TRANSPORT"))

    from flask_migrate import Migrate

    from db import db
    db.init_app(app)
    Migrate(app, db, directory=os.path.join(os.path.dirname(__file__), "..", "db", "migrations"))

    import actors.alerts
    import actors.batches  # reminders several to a message
    import actors.delivery
    import actors.etl
    import actors.outbound_webhook
    import actors.reminders.tick  # noqa: F401  (the per-minute reminder tick)
    from actors.broker import init_broker
    init_broker(app)

    from web import cli, errors, health, intake
    errors.init_app(app)
    intake.init_app(app)
    health.init_app(app)
    cli.init_app(app)
    from web import metrics, providers
    providers.init_app(app)  # Twilio receipts and replies, SES notices through SNS
    from web import self_service
    self_service.init_app(app)  # the patients' pages: /r/ answer links, /u/ preferences
    metrics.init_app(app)  # /metrics
    from web import admin
    admin.init_app(app)  # staff admin: accounts, CSRF, security headers, /admin pages
    hops = app.config["TRUSTED_PROXY_HOPS"]
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    return app


def _pool_options(config) -> dict:
    return {"pool_size": config["DATABASE_POOL_SIZE"],
            "max_overflow": config["DATABASE_MAX_OVERFLOW"]}


def _database_url(app: Flask) -> str:
    """DATABASE_URL, or in dev mode (no BROKER_URL) the embedded server in instance/."""
    url = app.config["DATABASE_URL"]
    if not url:
        if app.config["BROKER_URL"]:
            raise ConfigError("DATABASE_URL: set it to the deployment's postgresql:// URL; "
                              "the embedded dev database is refused when BROKER_URL is set")
        from web.devdb import embedded_database_url
        url = embedded_database_url(app.instance_path)
    for scheme in ("postgres://", "postgresql://"):
        if url.startswith(scheme):  # SQLAlchemy 2.1 defaults to psycopg 3; we ship psycopg2
            url = "postgresql+psycopg2://" + url[len(scheme):]
    return url


def _derived(app: Flask) -> dict:
    url = _database_url(app)
    return {
        "SQLALCHEMY_DATABASE_URI": url,
        # Bound parameters (names, phones, addresses) must never reach a log or Sentry
        # through an exception's text.
        "SQLALCHEMY_ENGINE_OPTIONS": {"hide_parameters": True, "pool_pre_ping": True,
                                      **_pool_options(app.config)},
        "API_TITLE": "patient-notifier",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.1.0",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
    }
