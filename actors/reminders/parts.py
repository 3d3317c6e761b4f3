"""A big group's clinics in parts, when the plan has too few big groups for its connections.

Clinics that share a zone, window and days are one group, one statement
(``actors.reminders.plan``), and groups are planned on ``parallel.CONNECTIONS`` connections
at once. A service in a single zone is one group: its whole day went to one connection
while the other had nothing to do (a million appointments: 13.8 s). So when fewer groups
than connections have more than ``APPOINTMENTS`` appointments on their day, each of those is
split into as many parts as there are connections, of about equal size, whole clinics each,
in clinic order (a single zone of a million: 9.7 s). Not more: every part is a statement,
a count and a transaction of its own, and the same day in ten parts took 11.9 s, five
zones in thirteen parts 11.2-11.6 s against 9.9-10.0 s as five groups.

A part is planned as a group: its sends start after the last one planned before it (the
zone's go out part by part, each part's in appointment order), and it has its own
transaction and overflow check; the zone's overflow alert stays one (its parts raise the same
key, ``db.alerts.raise_condition``). The decision depends on the day's bookings, not on how
a plan is run, so a plan one part after the other gives the same send times.
"""
from collections import defaultdict
from dataclasses import replace

from sqlalchemy import func, select

from db import Appointment, db

#: Appointments on its day above which a group is worth a connection of its own.
APPOINTMENTS = 100_000


def booked(groups) -> dict:
    """Appointments per location on its group's day, one query per day planned."""
    by_day = defaultdict(list)
    for group in groups:
        by_day[group.target].extend(group.ids)
    counts = {}
    for day, location_ids in by_day.items():
        counts.update(db.session.execute(
            select(Appointment.location_id, func.count())
            .where(Appointment.location_id.in_(location_ids), Appointment.local_date == day)
            .group_by(Appointment.location_id)).all())
    return counts


def in_parts(groups: list, connections: int) -> list:
    """``groups`` (``plan.Group``, in send order), the big ones in parts if too few are big."""
    counts = booked(groups)
    big = [g for g in groups if sum(counts.get(i, 0) for i in g.ids) > APPOINTMENTS]
    if not big or len(big) >= connections:
        return groups
    planned = []
    for group in groups:
        split = split_clinics(group.ids, counts, connections) if group in big else [group.ids]
        planned.extend(replace(group, ids=part, part=f"{n} of {len(split)}" if len(split) > 1
                               else "") for n, part in enumerate(split, start=1))
    return planned


def split_clinics(location_ids, counts: dict, parts: int) -> list[tuple]:
    """``location_ids`` in up to ``parts`` consecutive runs of about equal appointments."""
    total = sum(counts.get(i, 0) for i in location_ids)
    share = total / parts
    split, part, so_far = [], [], 0
    for location_id in location_ids:
        part.append(location_id)
        booked_here = counts.get(location_id, 0)
        so_far += booked_here
        # A part ends at the clinic that brings the running total nearest its share's end.
        if so_far >= share * (len(split) + 1) - booked_here / 2 and len(split) < parts - 1:
            split.append(tuple(part))
            part = []
    if part and not any(counts.get(i) for i in part) and split:
        split[-1] += tuple(part)  # nothing booked past the last part's end: they join it
    elif part:
        split.append(tuple(part))
    return split

