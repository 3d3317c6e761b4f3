"""Today: what the clinic's batch and updates are doing right now; refreshes itself."""
from flask import current_app, jsonify
from flask_admin import expose

from web.admin import scope, today
from web.admin.access import EVERYONE, GuardedIndexView, may_act


class TodayView(GuardedIndexView):
    roles = EVERYONE

    @expose("/")
    def index(self):
        data = today.summary(location_ids=scope.location_ids())
        return self.render("admin/today.html", data=data, fields=today.fields(data),
                           buckets=list(today.BUCKETS), outcomes=today.outcomes.OUTCOMES,
                           bucket_statuses={name: ",".join(statuses)
                                            for name, statuses in today.BUCKETS.items()},
                           refresh_seconds=current_app.config["ADMIN_REFRESH_SECONDS"],
                           may_act=may_act())  # the call list behind "never planned" is staff's

    @expose("/today.json")
    def data(self):
        data = today.summary(location_ids=scope.location_ids())
        response = jsonify(fields=today.fields(data), alerts=data["alerts"],
                           locations=[location["id"] for location in data["locations"]])
        response.headers["Cache-Control"] = "no-store"
        return response
