"""Customer experience: one index per customer and billing period, 0 (awful) to 100.

The index starts at 100 and loses points for what a customer lives through
in the period, each part capped so one bad thing cannot hide the others:

* outage: 1 point per 15 unplanned minutes without service, at most 40;
* latency: 1 point per 5 ms of mean latency above 20 ms, at most 20;
* loss: 20 points per 1 % of packets lost, at most 20;
* tickets: 1 point per hour the customer's tickets stayed open, at most 10;
* bill shock: 10 points when the bill is over 1.5 times the previous one
  (or, for a first bill, the monthly prices).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(slots=True)
class Experience:
    customer_id: str
    segment: str
    period_end: float
    index: float
    outage_minutes: float
    latency_ms: float
    loss: float
    ticket_hours: float
    bill_shock: bool
    billing_account_id: str = ""  # an enterprise's sites are measured one account each


def experience_index(outage_minutes: float, latency_ms: float, loss: float, ticket_hours: float,
                     bill_shock: bool) -> float:  # fmt: skip
    penalty = (
        min(40.0, outage_minutes / 15.0)
        + min(20.0, max(0.0, (latency_ms - 20.0) / 5.0))
        + min(20.0, loss * 2000.0)
        + min(10.0, ticket_hours)
        + (10.0 if bill_shock else 0.0)
    )
    return round(max(0.0, 100.0 - penalty), 2)


def shocked(amount: Decimal, reference: Decimal) -> bool:
    return reference > 0 and amount > reference * Decimal("1.5")
