"""Broadcasts (staff and admin, their own clinics): compose, preview with the recipients per
channel and the rendered SMS with its segments, confirm, then follow its progress.

The preview stores the broadcast unsent, so the confirm names it by id and pressing confirm
twice creates nothing more (actors.broadcasts). Both steps are in the audit log.
"""
from datetime import date

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from actors.broadcasts import confirm, draft, preview, progress
from db import Broadcast, db, utcnow
from web.admin import scope
from web.admin.access import STAFF, GuardedView, require_act
from web.admin.audit import record
from web.admin.clinic_time import clinic_day, clinic_time

#: The last broadcasts listed on the page; older ones stay in the audit log.
RECENT = 50


class ConfirmForm(FlaskForm):
    """Nothing but the CSRF token: the broadcast is named by the URL."""


def _visible(broadcast_id: int) -> Broadcast:
    broadcast = db.session.get(Broadcast, broadcast_id)
    ids = scope.location_ids()
    if broadcast is None or (ids is not None and broadcast.location_id not in ids):
        abort(404)
    return broadcast


def _recent() -> list[Broadcast]:
    query = select(Broadcast).order_by(Broadcast.id.desc()).limit(RECENT)
    ids = scope.location_ids()
    if ids is not None:
        query = query.where(Broadcast.location_id.in_(ids))
    return list(db.session.scalars(query))


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text or "")
    except ValueError:
        return None


class BroadcastView(GuardedView):
    roles = STAFF

    def _compose(self, error=None, status=200):
        return self.render("admin/broadcasts.html", clinics=scope.locations(),
                           broadcasts=_recent(), form=ConfirmForm(), error=error,
                           values=request.form, clinic_day=clinic_day), status

    @expose("/")
    def index(self):
        return self._compose()

    @expose("/preview", methods=["POST"])
    def make_preview(self):
        require_act()
        if not ConfirmForm().validate_on_submit():
            abort(400)
        form = request.form
        location = scope.location_by_external_id(form.get("clinic"))
        day = _day(form.get("day"))
        if day is None:
            return self._compose("Choose the clinic's day.", 422)
        template = form.get("template") or None
        try:
            broadcast = draft(location, day, template=None if template == "text" else template,
                              text=form.get("text") if template == "text" else None,
                              channels=form.getlist("channel"), account=current_user.email)
        except ValueError as error:
            return self._compose(str(error).capitalize() + ".", 422)
        db.session.flush()
        record("broadcast preview", "broadcast", broadcast.id,
               detail=f"{location.external_id} {day.isoformat()}, {broadcast.template}")
        db.session.commit()
        return redirect(url_for(".detail", broadcast_id=broadcast.id))

    @expose("/<int:broadcast_id>")
    def detail(self, broadcast_id):
        broadcast = _visible(broadcast_id)
        shown = preview(broadcast) if broadcast.confirmed_at is None else None
        counts = progress(broadcast)
        return self.render("admin/broadcast.html", broadcast=broadcast, preview=shown,
                           counts=counts, form=ConfirmForm(), clinic_day=clinic_day,
                           clinic_time=clinic_time)

    @expose("/<int:broadcast_id>/confirm", methods=["POST"])
    def confirm(self, broadcast_id):
        require_act()
        if not ConfirmForm().validate_on_submit():
            abort(400)
        broadcast = _visible(broadcast_id)
        # Locked so that two confirms at once queue each message once between them (the
        # keys would refuse the second's rows anyway; this keeps its count honest).
        db.session.execute(select(Broadcast.id).where(Broadcast.id == broadcast.id)
                           .with_for_update())
        created = confirm(broadcast, account=current_user.email, now=utcnow())
        record("broadcast", "broadcast", broadcast.id,
               detail=f"{broadcast.location.external_id} {broadcast.local_date.isoformat()}, "
                      f"{broadcast.template}, {broadcast.channels}: "
                      f"{len(created)} notifications")
        db.session.commit()
        flash(f"Broadcast {broadcast.id}: {len(created)} messages queued."
              if created else f"Broadcast {broadcast.id} was already sent; nothing added.",
              "success")
        return redirect(url_for(".detail", broadcast_id=broadcast.id))
