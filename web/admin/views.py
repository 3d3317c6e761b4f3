"""The admin's pages, mounted under /admin, in the order staff use them."""
from flask import Blueprint, redirect, request, url_for
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme

from db import (
    Alert,
    Appointment,
    AuditEntry,
    Notification,
    Patient,
    PatientResponse,
    QuarantinedRecord,
    StaffUser,
    SyncRun,
    db,
)
from web.admin import error_pages
from web.admin.account_views import AuditLogView, StaffAccountView
from web.admin.broadcast_views import BroadcastView
from web.admin.call_list_views import CallListView
from web.admin.clinic_settings_views import ClinicSettingsView
from web.admin.clinic_views import AppointmentView, PatientView
from web.admin.dashboard import TodayView
from web.admin.dead_letter_views import DeadLetterView
from web.admin.delivery_views import DeliveryView
from web.admin.inbox_views import InboxView
from web.admin.notification_views import NotificationView
from web.admin.ops_views import AlertView, QuarantineView, SyncRunView
from web.admin.pause_views import PauseView
from web.admin.template_views import TemplateView

#: Our templates (overriding Flask-Admin's where named alike) and the Today refresher script.
assets = Blueprint("admin_assets", __name__, template_folder="templates",
                   static_folder="static", static_url_path="/admin-assets")


def init_app(app) -> Admin:
    app.register_blueprint(assets)
    admin = Admin(app, name="patient-notifier", url="/admin",
                  index_view=TodayView(name="Today", url="/admin", endpoint="admin"),
                  theme=Bootstrap4Theme(base_template="admin/pn_master.html", fluid=True),
                  csp_nonce_generator=lambda: getattr(request, "csp_nonce", ""))
    session = db  # Flask-Admin 2 takes the Flask-SQLAlchemy object
    admin.add_view(CallListView(name="Call list", endpoint="calls", url="/admin/calls"))
    admin.add_view(BroadcastView(name="Broadcasts", endpoint="broadcasts",
                                 url="/admin/broadcasts"))
    admin.add_view(DeliveryView(name="Delivery", endpoint="delivery", url="/admin/delivery"))
    admin.add_view(AppointmentView(Appointment, session, name="Appointments",
                                   endpoint="appointment"))
    admin.add_view(PatientView(Patient, session, name="Patients", endpoint="patient"))
    admin.add_view(NotificationView(Notification, session, name="Notifications",
                                    endpoint="notification"))
    admin.add_view(InboxView(PatientResponse, session, name="Inbox", endpoint="inbox"))
    admin.add_view(AlertView(Alert, session, name="Alerts", endpoint="alert"))
    admin.add_view(SyncRunView(SyncRun, session, name="Sync runs", endpoint="syncrun",
                               category="Data"))
    admin.add_view(QuarantineView(QuarantinedRecord, session, name="Quarantined records",
                                  endpoint="quarantine", category="Data"))
    admin.add_view(DeadLetterView(name="Dead letters", endpoint="deadletters",
                                  url="/admin/dead-letters", category="Data"))
    admin.add_view(PauseView(name="Pauses", endpoint="pauses", url="/admin/pauses", category="Admin"))
    admin.add_view(TemplateView(name="Templates", endpoint="templates", url="/admin/templates",
                                category="Admin"))
    admin.add_view(ClinicSettingsView(name="Clinic settings", endpoint="clinicsettings",
                                      url="/admin/clinic-settings", category="Admin"))
    admin.add_view(StaffAccountView(StaffUser, session, name="Staff accounts",
                                    endpoint="staffaccount", category="Admin"))
    admin.add_view(AuditLogView(AuditEntry, session, name="Audit log", endpoint="auditlog",
                                category="Admin"))

    error_pages.init_app(app, admin)

    @app.get("/")
    def _front_door():
        return redirect("/admin/")

    @app.get("/favicon.ico")
    def _favicon():  # browsers ask for it at the root whatever the page says
        return redirect(url_for("admin_assets.static", filename="favicon.svg"), code=301)

    return admin
