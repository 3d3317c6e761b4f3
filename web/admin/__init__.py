"""The admin for clinic staff: Flask-Admin pages behind Flask-Security-Too accounts."""


def init_app(app) -> None:
    from web.admin import cli, clinic_time, security, views, words
    clinic_time.init_app(app)  # template filters: clinic time, statuses and codes in words
    words.init_app(app)
    security.init_app(app)
    views.init_app(app)
    cli.init_app(app)
