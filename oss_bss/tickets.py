"""Trouble tickets in the TMF621 shape.

A ticket is the customer-facing record of a problem: one per customer and
incident, opened by the operator for customers with an SLA as soon as an
incident hits them (channel ``automatic``), or by a customer who calls
(channel ``customer``). A call about a problem the operator already knows
joins the open incident, and the ticket already open for that customer if
there is one, instead of opening anything new. The ticket follows the
incident: in progress when a technician is dispatched, resolved when the
incident is, closed when the customer confirms.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class TroubleTicket:
    id: str
    customer_id: str
    service_ids: list[str]
    incident_id: str | None
    channel: str  # automatic, customer
    severity: str  # critical for customers with an SLA, major otherwise
    description: str
    created_at: float
    state: str = "acknowledged"
    in_progress_at: float | None = None
    resolved_at: float | None = None
    closed_at: float | None = None
    calls: int = 0  # customer calls about it
    notes: list[tuple[float, str]] = field(default_factory=list)

    @property
    def time_to_restore(self) -> float | None:
        return None if self.resolved_at is None else self.resolved_at - self.created_at
