"""The admin for clinic staff: Flask-Admin pages behind Flask-Security-Too accounts."""


def init_app(app) -> None:
    from web.admin import cli, security, views
    security.init_app(app)
    views.init_app(app)
    cli.init_app(app)
