"""Dead letters: messages Dramatiq gave up on, read from RabbitMQ's ``<queue>.XQ``.

Everyone may list them (ids, actor, last error line); staff and admin replay one after a
confirmation, and the replay is audited. The dev mode's StubBroker keeps none.
"""
from flask import current_app, flash, redirect, request, url_for
from flask_admin import expose
from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import DataRequired

from actors.broker import QUEUES
from actors.dead_letters import list_dead_letters, replay_dead_letters
from db import db
from web.admin.access import EVERYONE, GuardedView, may_act, require_act
from web.admin.audit import record

LIST_LIMIT = 200


class ReplayForm(FlaskForm):
    queue = HiddenField(validators=[DataRequired()])
    message_id = HiddenField(validators=[DataRequired()])


class DeadLetterView(GuardedView):
    roles = EVERYONE

    @expose("/")
    def index(self):
        broker_url = current_app.config["BROKER_URL"]
        letters = list_dead_letters(broker_url, limit=LIST_LIMIT) if broker_url else []
        return self.render("admin/dead_letters.html", letters=letters,
                           broker=bool(broker_url), may_act=may_act(), limit=LIST_LIMIT)

    @expose("/replay", methods=["GET", "POST"])
    def replay(self):
        require_act()
        form = ReplayForm(request.form if request.method == "POST" else request.args)
        if form.queue.data not in QUEUES or not form.message_id.data:
            flash("Choose a dead letter to replay.", "error")
            return redirect(url_for(".index"))
        if request.method == "GET" or not form.validate_on_submit():
            return self.render("admin/dead_letter_replay.html", form=form)
        replayed = replay_dead_letters(current_app.config["BROKER_URL"], queue=form.queue.data,
                                       wanted=form.message_id.data)
        for letter in replayed:
            record("replay", "dead_letter", letter.message_id,
                   detail=f"queue {letter.queue}, actor {letter.actor_name}, "
                          f"notification {letter.notification_id}")
        db.session.commit()
        flash(f"Replayed {len(replayed)} message(s)." if replayed
              else "Nothing replayed: that message is no longer dead.",
              "success" if replayed else "info")
        return redirect(url_for(".index"))
