"""The definition: which outcome a notification counts as, and the delivery rate.

* not due: cancelled, suppressed, skipped (a recorded decision not to send);
* reached: delivered (a receipt), or sent on a provider that gives no receipts ("accepted");
* not reached: failed, undelivered, expired; sent with no receipt after
  ``RECEIPT_TIMEOUT_HOURS`` ("unconfirmed"); a reminder never planned;
* pending (counted apart, and only until its deadline): planned, queued, sending, and sent
  while a receipt may still come.

rate = reached / (due + never planned - pending).
"""
from dataclasses import dataclass, fields

from db.ledger import COUNTS
from db.statuses import NOT_DUE, PENDING, Status


def classify(status: str, *, receipts: bool, receipt_overdue: bool,
             deadline_passed: bool) -> str | None:
    """The ledger column a notification counts in; None when it was not due."""
    if status in NOT_DUE:
        return None
    if status in PENDING:
        return "expired" if deadline_passed else "pending"
    if status == Status.SENT:
        if not receipts:
            return "accepted"
        return "unconfirmed" if receipt_overdue else "pending"
    return str(status)  # delivered, failed, undelivered, expired


@dataclass
class Tally:
    """Counts of one slice (a clinic day, a channel, a kind, or any sum of them)."""

    due: int = 0  # every due notification, pending included; never planned is apart
    delivered: int = 0
    accepted: int = 0
    unconfirmed: int = 0
    failed: int = 0
    undelivered: int = 0
    expired: int = 0
    never_planned: int = 0
    pending: int = 0

    def count(self, column: str | None, number: int = 1) -> None:
        if column is None:
            return
        if column != "never_planned":
            self.due += number
        setattr(self, column, getattr(self, column) + number)

    def values(self) -> tuple[int, ...]:
        """The counts in ledger column order (``db.ledger.COUNTS``)."""
        return (self.due, self.delivered, self.accepted, self.unconfirmed, self.failed,
                self.undelivered, self.expired, self.never_planned, self.pending)

    def __add__(self, other: "Tally") -> "Tally":
        return Tally(**{name: getattr(self, name) + getattr(other, name) for name in COUNTS})

    @property
    def reached(self) -> int:
        return self.delivered + self.accepted

    @property
    def not_reached(self) -> int:
        return (self.unconfirmed + self.failed + self.undelivered + self.expired
                + self.never_planned)

    @property
    def judged(self) -> int:
        """What the rate is judged on: everything due that has an outcome."""
        return self.due - self.pending + self.never_planned

    @property
    def rate(self) -> float | None:
        """Reached / judged, or None when nothing has an outcome yet."""
        return self.reached / self.judged if self.judged else None

    def as_dict(self) -> dict:
        return {**{f.name: getattr(self, f.name) for f in fields(self)}, "rate": self.rate}


def total(tallies) -> Tally:
    return sum(tallies, Tally())


def percent(rate: float | None) -> str:
    """How people read a rate: one decimal, or a dash when there is nothing to judge."""
    return "–" if rate is None else f"{100 * rate:.1f}%"
