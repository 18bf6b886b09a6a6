"""What a journey is made of: its steps and the records each domain holds about the customer.

:class:`Journey` is what :func:`sim.journey.trace` returns: the customer's steps (:class:`Step`, one
per event of ``events.jsonl`` that concerns it) and, per domain, the records the run's database held
at the end (accounts, orders, services, resources, alarms, incidents, tickets, experience, bills),
with what no table keeps taken from the log (SLA breaches, payments) or the rated usage (usage per
bill period, prepaid balances). Plain frozen dataclasses, so that the terminal, HTML and JSON views
(:mod:`sim.journey.render`) show the same thing; money stays :class:`~decimal.Decimal`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from oss_bss.periods import Calendar


@dataclass(frozen=True)
class Step:
    """One event of the customer's journey."""

    seq: int  # the event's number in events.jsonl
    at: float  # seconds from the run's start
    time: str  # UTC, as the log has it
    process: str  # eTOM level-2 process
    vertical: str  # its level-1 vertical grouping (Fulfillment, Assurance, Billing & Revenue Management)
    layer: str  # its level-1 horizontal grouping (Customer Relationship / Service / Resource Management ...)
    type: str  # the event type
    text: str  # what happened, in a sentence
    records: tuple[str, ...]  # the ids of the records it touched


@dataclass(frozen=True)
class Account:
    id: str
    parent_id: str | None
    payment_type: str
    bill_cycle_day: int
    currency: str
    opened_at: float
    dunning_state: str
    last_billed_at: float | None


@dataclass(frozen=True)
class ProductOrder:
    id: str
    offering_id: str
    offering: str
    billing_account_id: str | None
    state: str
    submitted_at: float
    completed_at: float | None
    service_order_id: str | None
    failure: str | None


@dataclass(frozen=True)
class ServiceOrder:
    id: str
    product_order_id: str
    service_id: str
    state: str
    created_at: float
    completed_at: float | None
    attempts: int
    failure: str | None


@dataclass(frozen=True)
class WorkOrder:
    id: str
    kind: str  # installation or repair
    site: str
    state: str
    issued_at: float
    started_at: float | None
    completed_at: float | None
    service_order_id: str | None
    incident_id: str | None


@dataclass(frozen=True)
class Service:
    id: str
    key: int  # the service's key in usage/rated.parquet
    offering_id: str
    offering: str
    billing_account_id: str
    site: str
    state: str
    operational_state: str
    suspension_reason: str | None
    bandwidth_bps: int
    path: tuple[str, ...]
    links: tuple[str, ...]
    activated_at: float | None
    terminated_at: float | None
    offering_history: tuple[tuple[float, str], ...]  # (until, earlier offering id), oldest first


@dataclass(frozen=True)
class Resource:
    id: str
    kind: str  # link or node
    capacity_bps: int | None
    latency_s: float | None
    gateway: bool
    services: tuple[str, ...]  # the customer's services whose stored path uses it


@dataclass(frozen=True)
class Alarm:
    id: str
    alarmed_object: str
    object_type: str
    severity: str
    probable_cause: str
    state: str
    raised_at: float
    cleared_at: float | None
    root_cause: bool
    parent_id: str | None
    incident_id: str | None
    planned: bool


@dataclass(frozen=True)
class Incident:
    id: str
    root_alarm_id: str
    root_object: str
    state: str
    planned: bool
    opened_at: float
    resolved_at: float | None
    services: int  # impacted services, all customers
    customers: int
    revenue_at_risk: Decimal
    customer_services: tuple[str, ...]  # this customer's services it hit (lost or rerouted)


@dataclass(frozen=True)
class Ticket:
    id: str
    service_ids: tuple[str, ...]
    incident_id: str | None
    channel: str
    severity: str
    state: str
    description: str
    created_at: float
    resolved_at: float | None
    closed_at: float | None
    calls: int


@dataclass(frozen=True)
class SlaBreach:
    at: float  # the end of the billing period measured
    service_id: str
    metric: str
    target: str
    measured: str


@dataclass(frozen=True)
class Experience:
    billing_account_id: str
    period_end: float
    index: float  # 0-100
    outage_minutes: float
    latency_ms: float
    loss: float
    ticket_hours: float
    bill_shock: bool


@dataclass(frozen=True)
class BillLine:
    id: str
    service_id: str | None
    kind: str
    description: str
    quantity: int
    amount: Decimal


@dataclass(frozen=True)
class Bill:
    id: str
    billing_account_id: str
    period_start: float
    period_end: float
    issued_at: float
    due_at: float | None
    state: str
    amount: Decimal
    paid: Decimal
    settled_at: float | None
    reminded_at: float | None
    lines: tuple[BillLine, ...]


@dataclass(frozen=True)
class Payment:
    at: float
    bill_id: str
    amount: Decimal


@dataclass(frozen=True)
class Usage:
    """A service's rated usage in one bill period: mediation (records, bytes) -> rating (charge) -> bill line.

    Records count in the period their interval starts in. A record rated after its period was billed
    (late) is counted here in its own period, while the bill puts it on a later bill's "Late data usage"
    line; ``billed`` is the period's own usage line.
    """

    service_id: str
    billing_account_id: str
    period_start: float
    period_end: float
    records: int
    volume_bytes: int
    charge: Decimal  # exact, to the micro-unit
    bill_id: str | None  # the bill of the period (None: not billed by the end, or prepaid)
    billed: Decimal | None  # the service's usage line on that bill (rounded to the cent)


@dataclass(frozen=True)
class Prepaid:
    billing_account_id: str
    topped_up: Decimal
    charged: Decimal
    balance: Decimal  # at the end of the run


@dataclass(frozen=True)
class Journey:
    """One customer's journey: its steps in log order, then the records each domain holds at the run's end."""

    folder: str
    run: str  # the scenario's name
    calendar: Calendar = field(repr=False)
    currency: str
    customer_id: str
    name: str
    segment: str
    party_type: str
    site: str
    state: str
    registered_at: float
    steps: tuple[Step, ...]
    accounts: tuple[Account, ...]
    product_orders: tuple[ProductOrder, ...]
    service_orders: tuple[ServiceOrder, ...]
    work_orders: tuple[WorkOrder, ...]
    services: tuple[Service, ...]
    resources: tuple[Resource, ...]
    alarms: tuple[Alarm, ...]
    incidents: tuple[Incident, ...]
    tickets: tuple[Ticket, ...]
    sla_breaches: tuple[SlaBreach, ...]
    experience: tuple[Experience, ...]
    bills: tuple[Bill, ...]
    payments: tuple[Payment, ...]
    usage: tuple[Usage, ...]
    prepaid: tuple[Prepaid, ...]

    @property
    def processes(self) -> tuple[str, ...]:
        """The eTOM processes of the steps, each once, in the order they first appear."""
        return tuple(dict.fromkeys(s.process for s in self.steps))

    def when(self, at: float | None) -> str:
        """An instant of the run as UTC text (minutes), or an empty text for none."""
        return "" if at is None else self.calendar.to_datetime(at).strftime("%Y-%m-%d %H:%M")
