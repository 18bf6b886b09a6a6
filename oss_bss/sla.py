"""Service level agreements: templates in the catalog, measured per billing period.

A template commits to an availability (percent of the period), and optionally
a time to restore any single outage; each metric missed in a period is a
breach, and each breach credits ``credit_percent`` of the service's monthly
price on the next bill (capped at the whole price). Planned maintenance is
excluded from the measurement: it is downtime the customer was told of.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class SlaTemplate:
    name: str
    availability_percent: Decimal  # e.g. 99.9
    time_to_restore_s: float | None = None  # each unplanned outage restored within this
    credit_percent: Decimal = Decimal("10")  # of the monthly price, per breached metric
    max_latency_ms: float | None = None  # mean latency over the period's busy intervals


@dataclass(frozen=True, slots=True)
class Breach:
    service_id: str
    metric: str  # "availability" or "time_to_restore"
    target: str
    measured: str


@dataclass(slots=True)
class Outage:
    """A span when a service had no service; ``planned`` when maintenance caused it."""

    start: float
    end: float | None
    planned: bool


def unplanned_downtime(outages: list[Outage], begin: float, end: float) -> tuple[float, float]:
    """(seconds without service, longest outage) in [begin, end), planned maintenance left out."""
    down = longest = 0.0
    for outage in outages:
        if outage.planned:
            continue
        stop = end if outage.end is None else outage.end
        overlap = min(stop, end) - max(outage.start, begin)
        if overlap > 0:
            down += overlap
            longest = max(longest, min(stop, end) - outage.start)
    return down, longest


def measure(template: SlaTemplate, outages: list[Outage], live_from: float, start: float, end: float,
            service_id: str, mean_latency_ms: float | None = None) -> list[Breach]:  # fmt: skip
    """The breaches of ``template`` by one service over the period [start, end)."""
    begin = max(start, live_from)
    if end <= begin:
        return []
    down, longest = unplanned_downtime(outages, begin, end)  # maintenance the customer was told of is left out
    breaches: list[Breach] = []
    measured = Decimal(str(round(100.0 * (1.0 - down / (end - begin)), 4)))
    if measured < template.availability_percent:
        breaches.append(Breach(service_id, "availability", f"{template.availability_percent}%", f"{measured}%"))
    if template.time_to_restore_s is not None and longest > template.time_to_restore_s:
        breaches.append(Breach(service_id, "time_to_restore", f"{template.time_to_restore_s / 3600:g} h",
                               f"{longest / 3600:.2f} h"))  # fmt: skip
    if template.max_latency_ms is not None and mean_latency_ms is not None and mean_latency_ms > template.max_latency_ms:
        breaches.append(Breach(service_id, "latency", f"{template.max_latency_ms:g} ms", f"{mean_latency_ms:.2f} ms"))
    return breaches
