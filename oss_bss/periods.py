"""Calendar arithmetic: scenario seconds <-> UTC datetimes, and bill periods.

Simulated time is seconds from the scenario start; the operator is given the
start as a UTC datetime (its ``epoch``) and derives calendar dates from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

DAY = 86_400.0
HOUR = 3_600.0


@dataclass(frozen=True, slots=True)
class Calendar:
    epoch: datetime  # the UTC instant at simulated time 0

    def __post_init__(self) -> None:
        if self.epoch.tzinfo is None:
            object.__setattr__(self, "epoch", self.epoch.replace(tzinfo=UTC))

    def to_datetime(self, at: float) -> datetime:
        return self.epoch + timedelta(seconds=at)

    def to_seconds(self, when: datetime) -> float:
        return (when - self.epoch).total_seconds()

    def isoformat(self, at: float) -> str:
        return self.to_datetime(at).strftime("%Y-%m-%dT%H:%M:%SZ")

    def previous_cycle_date(self, at: float, cycle_day: int) -> float:
        """The bill cycle date one month before the cycle date ``at`` (cycle days are 1..28)."""
        when = self.to_datetime(at)
        year, month = (when.year, when.month - 1) if when.month > 1 else (when.year - 1, 12)
        start = when.replace(year=year, month=month, day=cycle_day)
        return self.to_seconds(start)

    def day_of_month(self, at: float) -> int:
        return self.to_datetime(at).day

    def day_index(self, origin: float, at: float) -> int:
        """Calendar days from the day holding ``origin`` to the day holding ``at``."""
        return (self.to_datetime(at).date() - self.to_datetime(origin).date()).days

    def whole_days(self, start: float, end: float) -> int:
        """Calendar days from the day holding ``start`` up to (excluding) the day holding ``end``.

        A day is counted if the service was live at any time in it, so a
        service activated at 23:00 pays for that day (proration to the day).
        """
        if end <= start:
            return 0
        first = self.to_datetime(start).date()
        end_dt = self.to_datetime(end)
        last = end_dt.date() if end_dt.time() != datetime.min.time() else end_dt.date() - timedelta(days=1)
        return (last - first).days + 1
