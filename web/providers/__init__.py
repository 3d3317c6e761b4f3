"""Provider callbacks: Twilio delivery receipts and replies, SES bounces through SNS.

Each provider signs its requests its own way; every endpoint refuses (403) what it cannot
verify before it reads anything, and changes notification status only through
db.transitions.transition, so duplicated and out-of-order callbacks are harmless.
"""


def init_app(app) -> None:
    from web.providers import ses, twilio_inbound, twilio_status
    app.register_blueprint(twilio_status.blp)
    app.register_blueprint(twilio_inbound.blp)
    app.register_blueprint(ses.blp)
