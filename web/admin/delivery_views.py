"""The 99%, drawn: each clinic's daily delivery rate per channel over the last 30 or 365 days,
from the ledger (``actors.accounting.ledger.tallies_between``; the rate is ``Tally.rate``),
as a chart with the target line and the table below it. Counts only: every role sees it."""
from collections import defaultdict
from datetime import timedelta

from flask import current_app, request
from flask_admin import expose

from actors.accounting.ledger import tallies_between
from actors.accounting.tally import Tally, percent
from db import utcnow
from db.statuses import CHANNELS
from web.admin import scope
from web.admin.access import EVERYONE, GuardedView, may_act
from web.admin.clinic_time import clinic_day, zone_of

WIDTH, HEIGHT = 360, 120
PERIODS = (30, 365)


def _chart(points: list[tuple[int, float]], days: int, target: float) -> dict:
    low = min([rate for _, rate in points] + [target - 0.05])
    low = max(0.0, int(low * 20) / 20)  # a round 5% below the worst day

    def y(rate):
        return round(HEIGHT - 4 - (HEIGHT - 8) * (rate - low) / (1 - low or 1), 1)

    def x(index):
        return round(WIDTH * index / max(days - 1, 1), 1)
    return {"width": WIDTH, "height": HEIGHT, "low": percent(low),
            "line": " ".join(f"{x(i)},{y(rate)}" for i, rate in points),
            "dots": [{"x": x(i), "y": y(rate), "below": rate < target} for i, rate in points],
            "target_y": y(target)}


class DeliveryView(GuardedView):
    roles = EVERYONE

    @expose("/")
    def index(self):
        days = request.args.get("days", type=int)
        days = days if days in PERIODS else PERIODS[0]
        target = current_app.config.get("DELIVERY_RATE_TARGET", 0.99)
        clinics = scope.locations()
        today = utcnow().astimezone(zone_of()).date()
        first = today - timedelta(days=days - 1)
        ids = [clinic.id for clinic in clinics]
        summed: dict = defaultdict(Tally)
        if ids:
            for (day, location_id, channel, _), tally in tallies_between(
                    first, today, location_ids=ids).items():
                summed[(location_id, channel, day)] += tally
        panels, table = [], []
        for clinic in clinics:
            for channel in CHANNELS:
                points, period = [], Tally()
                for offset in range(days):
                    day = first + timedelta(days=offset)
                    tally = summed.get((clinic.id, channel, day))
                    if tally is None or tally.rate is None:
                        continue
                    period += tally
                    points.append((offset, tally.rate))
                    table.append({"day": day, "day_words": clinic_day(day), "clinic": clinic,
                                  "channel": channel, "reached": tally.reached,
                                  "judged": tally.judged, "rate": percent(tally.rate),
                                  "below": tally.rate < target})
                panels.append({"clinic": clinic, "channel": channel, "rate": percent(period.rate),
                               "chart": _chart(points, days, target), "days": len(points)})
        table.sort(key=lambda row: (row["day"], row["clinic"].name), reverse=True)
        return self.render("admin/delivery.html", panels=panels, table=table, days=days,
                           periods=PERIODS, target=percent(target), may_act=may_act(),
                           first=clinic_day(first), last=clinic_day(today))
