"""Today: what the clinic's batch and updates are doing right now; refreshes itself."""
from flask import current_app, jsonify
from flask_admin import expose

from web.admin import today
from web.admin.access import EVERYONE, GuardedIndexView


class TodayView(GuardedIndexView):
    roles = EVERYONE

    @expose("/")
    def index(self):
        data = today.summary()
        return self.render("admin/today.html", data=data, fields=today.fields(data),
                           buckets=list(today.BUCKETS),
                           refresh_seconds=current_app.config["ADMIN_REFRESH_SECONDS"])

    @expose("/today.json")
    def data(self):
        data = today.summary()
        response = jsonify(fields=today.fields(data), alerts=data["alerts"],
                           locations=[location["id"] for location in data["locations"]])
        response.headers["Cache-Control"] = "no-store"
        return response
