"""Events the operator and the network publish, named in the past tense.

Each carries ``at`` and the ids that correlate it (customer, order, service),
so one customer's journey can be read back from the event log alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from oss_bss.bus import Event


@dataclass(frozen=True, slots=True)
class CustomerRegistered(Event):
    customer_id: str
    billing_account_id: str
    segment: str
    site: str


@dataclass(frozen=True, slots=True)
class ProductOrderSubmitted(Event):
    order_id: str
    customer_id: str
    offering_id: str


@dataclass(frozen=True, slots=True)
class ServiceOrderCreated(Event):
    service_order_id: str
    order_id: str
    customer_id: str
    service_id: str


@dataclass(frozen=True, slots=True)
class WorkOrderIssued(Event):
    work_order_id: str
    service_order_id: str | None
    customer_id: str | None
    site: str
    kind: str
    incident_id: str | None = None


@dataclass(frozen=True, slots=True)
class WorkOrderStarted(Event):
    work_order_id: str
    incident_id: str | None


@dataclass(frozen=True, slots=True)
class WorkOrderCompleted(Event):
    work_order_id: str
    service_order_id: str | None
    customer_id: str | None
    kind: str = "installation"


@dataclass(frozen=True, slots=True)
class WorkOrderCancelled(Event):
    work_order_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class ServiceActivated(Event):
    service_id: str
    service_order_id: str
    order_id: str
    customer_id: str
    network_ref: int  # the network's handle on the service's flows (an OpenFlow cookie)
    path: tuple[str, ...]
    bandwidth_bps: int


@dataclass(frozen=True, slots=True)
class ServiceOrderFailed(Event):
    service_order_id: str
    order_id: str
    customer_id: str
    service_id: str
    code: str
    reason: str


@dataclass(frozen=True, slots=True)
class ProductOrderCompleted(Event):
    order_id: str
    customer_id: str


@dataclass(frozen=True, slots=True)
class ProductOrderFailed(Event):
    order_id: str
    customer_id: str
    code: str
    reason: str


@dataclass(frozen=True, slots=True)
class LinkDown(Event):
    """The network lost a link; ``service_ids`` are the services that lost service with it.

    Protected services rerouted around it are not listed (``ServiceRerouted``
    follows); ``planned`` is true for maintenance the operator scheduled.
    """

    link_id: str
    service_ids: tuple[str, ...]
    planned: bool = False


@dataclass(frozen=True, slots=True)
class LinkUp(Event):
    """A link is back; ``service_ids`` are the services whose whole path is up again."""

    link_id: str
    service_ids: tuple[str, ...]
    planned: bool = False


@dataclass(frozen=True, slots=True)
class NodeDown(Event):
    """A node failed; its links follow as ``LinkDown`` events (the symptoms)."""

    node: str
    link_ids: tuple[str, ...]
    service_ids: tuple[str, ...] = ()  # services at the node itself (no links) that lost service
    planned: bool = False


@dataclass(frozen=True, slots=True)
class NodeUp(Event):
    node: str
    link_ids: tuple[str, ...]
    service_ids: tuple[str, ...] = ()
    planned: bool = False


@dataclass(frozen=True, slots=True)
class ServiceRerouted(Event):
    """A protected service moved to a path around a failure."""

    service_id: str
    path: tuple[str, ...]
    links: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ServiceStateChanged(Event):
    """A service's operational state changed (``up`` or ``down``), with the cause."""

    service_id: str
    customer_id: str
    operational_state: str
    cause: str


@dataclass(frozen=True, slots=True)
class UsageRated(Event):
    """One collection of usage was mediated and rated, in bulk."""

    interval_start: float
    interval_end: float
    records: int
    rejected: int
    volume_bytes: int
    amount: Decimal


@dataclass(frozen=True, slots=True)
class CustomerBillIssued(Event):
    bill_id: str
    customer_id: str
    billing_account_id: str
    period_start: float
    period_end: float
    amount: Decimal


@dataclass(frozen=True, slots=True)
class BillRunCompleted(Event):
    bill_cycle_day: int
    bills: int
    amount: Decimal


@dataclass(frozen=True, slots=True)
class AlarmRaised(Event):
    alarm_id: str
    alarmed_object: str
    alarmed_object_type: str
    perceived_severity: str
    probable_cause: str
    planned: bool


@dataclass(frozen=True, slots=True)
class AlarmCleared(Event):
    alarm_id: str
    alarmed_object: str


@dataclass(frozen=True, slots=True)
class AlarmAcknowledged(Event):
    alarm_id: str
    alarmed_object: str


@dataclass(frozen=True, slots=True)
class AlarmCorrelated(Event):
    """``alarm_id`` is a symptom of the root cause ``parent_id``."""

    alarm_id: str
    parent_id: str


@dataclass(frozen=True, slots=True)
class IncidentOpened(Event):
    incident_id: str
    root_alarm_id: str
    root_object: str
    planned: bool


@dataclass(frozen=True, slots=True)
class IncidentImpactAssessed(Event):
    """Who and what an incident hits, from the inventory: assessed again as it grows."""

    incident_id: str
    services: int
    customers: int
    sla_services: int  # impacted services with an SLA
    revenue_at_risk: Decimal  # monthly recurring


@dataclass(frozen=True, slots=True)
class IncidentMerged(Event):
    incident_id: str
    into_incident_id: str


@dataclass(frozen=True, slots=True)
class IncidentResolved(Event):
    incident_id: str
    duration_s: float


@dataclass(frozen=True, slots=True)
class TroubleTicketCreated(Event):
    ticket_id: str
    customer_id: str
    service_ids: tuple[str, ...]
    incident_id: str | None
    channel: str  # "automatic" (the operator saw it first) or "customer" (the customer called)


@dataclass(frozen=True, slots=True)
class TroubleTicketLinked(Event):
    """A customer's call joined the ticket already open for the same incident."""

    ticket_id: str
    customer_id: str
    incident_id: str


@dataclass(frozen=True, slots=True)
class TroubleTicketStateChanged(Event):
    ticket_id: str
    customer_id: str
    state: str


@dataclass(frozen=True, slots=True)
class SlaBreached(Event):
    """A service missed an SLA metric over the billing period ending at ``at``."""

    service_id: str
    customer_id: str
    metric: str
    target: str
    measured: str


@dataclass(frozen=True, slots=True)
class PaymentReceived(Event):
    bill_id: str
    customer_id: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class CustomerBillSettled(Event):
    bill_id: str
    customer_id: str


@dataclass(frozen=True, slots=True)
class DunningReminderSent(Event):
    bill_id: str
    customer_id: str
    overdue_days: float


@dataclass(frozen=True, slots=True)
class ServiceSuspended(Event):
    """The service stopped in the network for a reason (non-payment)."""

    service_id: str
    customer_id: str
    network_ref: int
    reason: str


@dataclass(frozen=True, slots=True)
class ServiceResumed(Event):
    service_id: str
    customer_id: str
    network_ref: int


@dataclass(frozen=True, slots=True)
class ServiceTerminated(Event):
    service_id: str
    customer_id: str
    network_ref: int
    reason: str


@dataclass(frozen=True, slots=True)
class CustomerChurned(Event):
    customer_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class ServiceModified(Event):
    service_id: str
    customer_id: str
    from_offering_id: str
    to_offering_id: str
    bandwidth_bps: int


@dataclass(frozen=True, slots=True)
class BillingAccountOpened(Event):
    customer_id: str
    billing_account_id: str
    parent_id: str | None


@dataclass(frozen=True, slots=True)
class ProductOrderHeld(Event):
    """Fallout: the network refused the activation; the order waits for a retry."""

    order_id: str
    service_order_id: str
    customer_id: str
    code: str
    reason: str
    retry_at: float
    attempt: int


@dataclass(frozen=True, slots=True)
class ProductOrderCancelled(Event):
    order_id: str
    customer_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class ServiceMoved(Event):
    service_id: str
    customer_id: str
    network_ref: int
    from_site: str
    to_site: str
    path: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ServiceMoveRefused(Event):
    service_id: str
    customer_id: str
    to_site: str
    reason: str


@dataclass(frozen=True, slots=True)
class PrepaidBalanceExhausted(Event):
    """Online charging cut the service off: its balance could not pay for the traffic asked."""

    billing_account_id: str
    customer_id: str
    service_id: str
    balance: Decimal


@dataclass(frozen=True, slots=True)
class PrepaidToppedUp(Event):
    billing_account_id: str
    customer_id: str
    amount: Decimal
    balance: Decimal


@dataclass(frozen=True, slots=True)
class ServiceModificationRefused(Event):
    service_id: str
    customer_id: str
    to_offering_id: str
    reason: str
