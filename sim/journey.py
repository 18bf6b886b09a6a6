"""One customer's journey through the operator, for a trainer: every step named by its eTOM process.

``trace(folder, customer_id)`` reads a finished run back (nothing is re-run) and returns a
:class:`Journey`: the customer's steps in log order, each named by the eTOM (TM Forum GB921,
Business Process Framework) level-2 Operations process that owns it, with its level-1 groupings
(the vertical: Fulfillment, Assurance, Billing & Revenue Management; the horizontal: Customer
Relationship, Service, Resource Management & Operations), a sentence of what happened and the
records it touched; then the records each domain holds at the end of the run. :func:`render_text`,
:func:`render_html` and :func:`to_json` show the same journey in a terminal, in ``report.html`` and
as JSON.

**Where each part comes from.** The steps from ``events.jsonl``; the records from the run's
database (``run.db`` or the URL the run was written to); usage from ``usage/rated.parquet``,
summed per bill period with NumPy (usage is rated for the whole network each hour, so its events
are not steps: usage -> rating -> bill line is shown per period instead). Two things no table keeps
come from the customer's own events: SLA breaches and payments. A prepaid balance is what was topped
up less what the parquet file charged.

**Which events are the customer's.** :data:`ETOM` names, per event type, the fields that tie an
event to a customer (``keys``). An event is a step when one of them names the customer, one of its
services, a work order done for it, or an incident or alarm that hit its services: the incidents
whose impact lists one of its services (cut or rerouted), that its tickets name, or with an alarm
raised by a failure that cut one of its services; of their alarms, the root cause and those on a link
or node its services crossed (then or ever); and incidents merged into them whose root alarm is one of
those. A network event (``LinkDown``) is a step when it names one of the customer's services, and
shows only those. ``UsageRated`` and ``BillRunCompleted`` concern the whole network
(:data:`NETWORK_WIDE`).

**How they are found.** ``events.jsonl`` can be gigabytes: it is never parsed whole. Its events are
in time order, so a binary search on their ``"at"`` finds where the customer registered, and where
each of its incidents began and ended. From registration on, the file is searched block by block
for the text ``"<customer id>"`` (every event about a customer, its orders, bills and tickets carries
its id); in the windows of the incidents that may have hit it, for its services', the incidents',
their alarms' and repair work orders' ids (the network's events name services, not customers, and
only while something fails). Only the lines holding one are parsed, and each is checked against the
fields of :data:`ETOM`. On the development machine the search runs at about 2 GB/s per id searched.

**The process names** are the level-2 processes of the eTOM Operations area as published in the
TM Forum Frameworx 16.0 model (GB921, "Frameworx Process" pages, e.g. Problem Handling 1.3.7,
original identifier 1.1.1.6; Service Configuration & Activation 1.4.5 / 1.1.2.2; Resource
Provisioning 1.5.6 / 1.1.3.2; Service Guiding & Mediation 1.4.8 / 1.1.2.5; Charging 1.3.13 /
1.1.1.13). The field workforce is the operator's own (:class:`oss_bss.ordering.WorkOrder`), so
installations are Resource Provisioning and repairs Resource Trouble Management; no
Supplier/Partner process is involved.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow.compute as pc
import pyarrow.dataset as ds
from markupsafe import Markup
from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text
from sqlalchemy import func, or_, select
from sqlalchemy.exc import SQLAlchemyError

from oss_bss.adapters import sql
from oss_bss.adapters.usage_files import FILE as RATED_FILE
from oss_bss.charging import BALANCE_EXHAUSTED
from oss_bss.errors import NotFound
from oss_bss.money import CENT, ZERO, from_micros
from oss_bss.periods import Calendar
from sim.report import data
from sim.report.data import NotARunFolder
from sim.report.files import pages

__all__ = ["trace", "default_customer", "render_text", "render_html", "to_json", "sections", "describe", "stage_of",
           "Journey", "Step", "Stage", "Section", "ETOM", "NETWORK_WIDE", "PROCESSES", "SENTENCES",
           "UnknownCustomer"]  # fmt: skip

# -- the eTOM table ---------------------------------------------------------------------------------------------------

# Level 1, vertical (end-to-end groupings of the Operations area) ...
FULFILLMENT, ASSURANCE, BILLING = "Fulfillment", "Assurance", "Billing & Revenue Management"
SUPPORT = "Operations Support & Readiness"
VERTICALS = (FULFILLMENT, ASSURANCE, BILLING, SUPPORT)
# ... and horizontal (functional groupings).
CRM, SMO = "Customer Relationship Management", "Service Management & Operations"
RMO = "Resource Management & Operations"
SPRM = "Supplier/Partner Relationship Management"
LAYERS = (CRM, SMO, RMO, SPRM)

# Every eTOM level-2 Operations process a journey can name, with its horizontal grouping.
PROCESSES: dict[str, str] = {
    "Customer Management": CRM,
    "Order Handling": CRM,
    "Problem Handling": CRM,
    "Customer QoS/SLA Management": CRM,
    "Retention & Loyalty": CRM,
    "Bill Invoice Management": CRM,
    "Bill Payments & Receivables Management": CRM,
    "Charging": CRM,
    "Service Configuration & Activation": SMO,
    "Service Problem Management": SMO,
    "Service Guiding & Mediation": SMO,
    "Resource Provisioning": RMO,
    "Resource Trouble Management": RMO,
}
# The fields whose ids are searched for in events.jsonl; every Stage's keys are among them.
MARKED_FIELDS = ("customer_id", "service_id", "service_ids", "work_order_id", "incident_id", "alarm_id")


@dataclass(frozen=True)
class Stage:
    """Where an event type sits in eTOM: its level-2 process and vertical, the fields that tie it to a customer."""

    process: str
    vertical: str
    keys: tuple[str, ...]
    reason: str = ""  # why this process, where it is not obvious

    @property
    def layer(self) -> str:
        return PROCESSES[self.process]


def _s(process: str, vertical: str, keys: str, reason: str = "") -> Stage:
    return Stage(process, vertical, tuple(keys.split()), reason)


# Each event type of oss_bss.events that can be in a customer's journey -> its process. A key
# "Type/variant" overrides "Type" for one kind of event (a repair work order, a suspension for debt).
ETOM: dict[str, Stage] = {
    # order to activate
    "CustomerRegistered": _s("Customer Management", FULFILLMENT, "customer_id",
                             "establish the customer relationship: one identity, the party and its first billing "
                             "account"),
    "BillingAccountOpened": _s("Bill Payments & Receivables Management", BILLING, "customer_id",
                               "its Manage Customer Billing (account) process: a child account per site"),
    "ProductOrderSubmitted": _s("Order Handling", FULFILLMENT, "customer_id"),
    "ProductOrderHeld": _s("Order Handling", FULFILLMENT, "customer_id",
                           "fallout: the customer order waits in jeopardy for a retry"),
    "ProductOrderCompleted": _s("Order Handling", FULFILLMENT, "customer_id"),
    "ProductOrderFailed": _s("Order Handling", FULFILLMENT, "customer_id"),
    "ProductOrderCancelled": _s("Order Handling", FULFILLMENT, "customer_id"),
    "ServiceOrderCreated": _s("Service Configuration & Activation", FULFILLMENT, "customer_id",
                              "Issue Service Orders: the product order decomposed into a service order"),
    "ServiceOrderFailed": _s("Service Configuration & Activation", FULFILLMENT, "customer_id"),
    "ServiceActivated": _s("Service Configuration & Activation", FULFILLMENT, "customer_id",
                           "the service goes live in the inventory, with the path and bandwidth the network "
                           "reserved for it"),
    "WorkOrderIssued": _s("Resource Provisioning", FULFILLMENT, "work_order_id",
                          "an installation: the operator's technicians install and commission the access at the "
                          "customer's site"),
    "WorkOrderStarted": _s("Resource Provisioning", FULFILLMENT, "work_order_id"),
    "WorkOrderCompleted": _s("Resource Provisioning", FULFILLMENT, "work_order_id"),
    "WorkOrderCancelled": _s("Resource Provisioning", FULFILLMENT, "work_order_id"),
    "WorkOrderIssued/repair": _s("Resource Trouble Management", ASSURANCE, "work_order_id",
                                 "a repair: technicians dispatched to the failed resource (Track & Manage Resource "
                                 "Trouble)"),
    "WorkOrderStarted/repair": _s("Resource Trouble Management", ASSURANCE, "work_order_id"),
    "WorkOrderCompleted/repair": _s("Resource Trouble Management", ASSURANCE, "work_order_id"),
    "WorkOrderCancelled/repair": _s("Resource Trouble Management", ASSURANCE, "work_order_id",
                                    "no longer needed: the fault cleared first, or the incident merged into "
                                    "another with its own repair"),
    # lifecycle changes
    "ServiceModified": _s("Service Configuration & Activation", FULFILLMENT, "service_id",
                          "a change: the service re-configured with the new offering's bandwidth"),
    "ServiceModificationRefused": _s("Service Configuration & Activation", FULFILLMENT, "service_id"),
    "ServiceMoved": _s("Service Configuration & Activation", FULFILLMENT, "service_id",
                       "a move: the service re-designed and activated from the new site"),
    "ServiceMoveRefused": _s("Service Configuration & Activation", FULFILLMENT, "service_id"),
    "ServiceSuspended": _s("Service Configuration & Activation", FULFILLMENT, "service_id",
                           "the customer asked for a pause"),
    "ServiceResumed": _s("Service Configuration & Activation", FULFILLMENT, "service_id"),
    "ServiceTerminated": _s("Service Configuration & Activation", FULFILLMENT, "service_id",
                            "the customer cancelled: the service is deactivated and its resources released"),
    "ServiceSuspended/non-payment": _s("Bill Payments & Receivables Management", BILLING, "service_id",
                                       "debt collection (dunning) has the service suspended in the network"),
    "ServiceResumed/non-payment": _s("Bill Payments & Receivables Management", BILLING, "service_id",
                                     "the overdue bills are paid: collections has the service resumed"),
    "ServiceTerminated/non-payment": _s("Bill Payments & Receivables Management", BILLING, "service_id",
                                        "the end of the dunning ladder"),
    f"ServiceSuspended/{BALANCE_EXHAUSTED}": _s("Charging", BILLING, "service_id",
                                                "online charging: the balance cannot pay, the service is cut off"),
    f"ServiceResumed/{BALANCE_EXHAUSTED}": _s("Charging", BILLING, "service_id",
                                              "a top-up made the balance positive again"),
    "CustomerChurned": _s("Retention & Loyalty", FULFILLMENT, "customer_id",
                          "the customer's last service ended: the relationship ends (churn)"),
    "CustomerChurned/terminated for non-payment": _s("Retention & Loyalty", BILLING, "customer_id",
                                                     "churn at the end of the dunning ladder"),
    # trouble to resolve
    "LinkDown": _s("Resource Trouble Management", ASSURANCE, "service_ids",
                   "the network reports a failed resource and the services it cut"),
    "LinkUp": _s("Resource Trouble Management", ASSURANCE, "service_ids"),
    "NodeDown": _s("Resource Trouble Management", ASSURANCE, "service_ids"),
    "NodeUp": _s("Resource Trouble Management", ASSURANCE, "service_ids"),
    "AlarmRaised": _s("Resource Trouble Management", ASSURANCE, "alarm_id"),
    "AlarmCleared": _s("Resource Trouble Management", ASSURANCE, "alarm_id"),
    "AlarmAcknowledged": _s("Resource Trouble Management", ASSURANCE, "alarm_id"),
    "AlarmCorrelated": _s("Resource Trouble Management", ASSURANCE, "alarm_id",
                          "root-cause analysis of resource alarms (a node, a shared-risk group)"),
    "IncidentOpened": _s("Service Problem Management", ASSURANCE, "incident_id",
                         "one root cause, its impacted services and customers found in the service inventory"),
    "IncidentImpactAssessed": _s("Service Problem Management", ASSURANCE, "incident_id"),
    "IncidentMerged": _s("Service Problem Management", ASSURANCE, "incident_id"),
    "IncidentResolved": _s("Service Problem Management", ASSURANCE, "incident_id"),
    "ServiceStateChanged": _s("Service Problem Management", ASSURANCE, "service_id",
                              "the service's operational state follows the network"),
    "ServiceRerouted": _s("Service Problem Management", ASSURANCE, "service_id",
                          "restoration: a protected service moved onto a path around the failure"),
    "TroubleTicketCreated": _s("Problem Handling", ASSURANCE, "customer_id"),
    "TroubleTicketLinked": _s("Problem Handling", ASSURANCE, "customer_id"),
    "TroubleTicketStateChanged": _s("Problem Handling", ASSURANCE, "customer_id"),
    "SlaBreached": _s("Customer QoS/SLA Management", ASSURANCE, "customer_id",
                      "the period's measurements against the customer's SLA; the credit follows on the bill"),
    # usage to bill to cash
    "CustomerBillIssued": _s("Bill Invoice Management", BILLING, "customer_id"),
    "PaymentReceived": _s("Bill Payments & Receivables Management", BILLING, "customer_id"),
    "CustomerBillSettled": _s("Bill Payments & Receivables Management", BILLING, "customer_id"),
    "DunningReminderSent": _s("Bill Payments & Receivables Management", BILLING, "customer_id",
                              "debt collection: the first step of the dunning ladder"),
    "PrepaidBalanceExhausted": _s("Charging", BILLING, "customer_id",
                                  "online charging could not grant the hour's traffic from the balance"),
    "PrepaidToppedUp": _s("Bill Payments & Receivables Management", BILLING, "customer_id",
                          "a payment into the prepaid balance"),
}  # fmt: skip
# Events about the whole network, never one customer's step (usage is summarised per bill period instead).
NETWORK_WIDE = frozenset({"UsageRated", "BillRunCompleted"})


def stage_of(kind: str, variant: str | None = None) -> Stage:
    """The eTOM stage of an event type, or of one of its variants when the table names it."""
    return ETOM.get(f"{kind}/{variant}") or ETOM[kind]


# -- errors ----------------------------------------------------------------------------------------------------------


class UnknownCustomer(NotFound):
    """A customer id the run does not hold."""

    def __init__(self, folder: Path, customer_id: str, first: str | None, last: str | None):
        self.folder, self.kind, self.ident = folder, "Customer", customer_id
        hint = f"its customers are {first} to {last}" if first else "the run has no customer"
        self._say(f"{folder}: no customer {customer_id!r} in this run ({hint})", folder, customer_id, first, last)


# -- the journey -----------------------------------------------------------------------------------------------------


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


# -- reading the run -------------------------------------------------------------------------------------------------

_BLOCK = 1 << 20  # bytes of events.jsonl searched at a time
_CHUNK = 500  # ids per IN (...) clause
_AT = re.compile(rb'"at":([-+0-9.eE]+)')


def _first_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _select(run: data.Run, statement) -> list:
    """The rows of ``statement``; a database that cannot answer is NotARunFolder naming the folder."""
    try:
        with run.engine.connect() as conn:
            return conn.execute(statement).all()
    except SQLAlchemyError as exc:
        raise NotARunFolder(run.folder, f"cannot read the run's database ({_first_line(exc)})") from None


def _select_in(run: data.Run, statement, column, values) -> list:
    """``statement`` for rows whose ``column`` is one of ``values``, asked in chunks."""
    values = sorted(set(values))
    rows: list = []
    for i in range(0, len(values), _CHUNK):
        rows += _select(run, statement.where(column.in_(values[i:i + _CHUNK])))
    return rows


def _money_of(value) -> Decimal | None:
    """Money as the database gave it, in one form whatever the store: PostgreSQL's NUMERIC(18, 6) says
    7.280000 where SQLite kept the text 7.28; both are 7.28 (to the cent, more digits only where they count)."""
    if value is None:
        return None
    amount = Decimal(value)
    cents = amount.quantize(CENT)
    return cents if cents == amount else amount.normalize()


def _listed(text: str | None) -> tuple:
    return tuple(json.loads(text)) if text else ()


def _customer(run: data.Run, customer_id: str):
    t = sql.customer
    row = _select(run, select(t).where(t.c.id == customer_id))
    if not row:
        first, last = _select(run, select(func.min(t.c.id), func.max(t.c.id)))[0]
        raise UnknownCustomer(run.folder, customer_id, first, last)
    return row[0]


def _offerings(run: data.Run) -> dict[str, str]:
    t = sql.product_offering
    return dict(_select(run, select(t.c.id, t.c.name)))


@dataclass
class _Records:
    """What the database holds about one customer, as read before the log is searched."""

    accounts: list[Account]
    product_orders: list[ProductOrder]
    service_orders: list[ServiceOrder]
    work_orders: list[WorkOrder]  # installations; repairs are added once the incidents are known
    services: list[Service]
    bills: list[Bill]
    tickets: list[Ticket]
    experience: list[Experience]
    incidents: dict[str, Any] = field(default_factory=dict)  # candidates: id -> incident row
    alarms: dict[str, Any] = field(default_factory=dict)  # their alarms: id -> alarm row
    repairs: dict[str, WorkOrder] = field(default_factory=dict)  # their repair work orders


def _read(run: data.Run, customer_id: str, offerings: dict[str, str]) -> _Records:
    """The customer's accounts, orders, services, bills, tickets and experience from the database."""
    a, po, so, wo = sql.billing_account, sql.product_order, sql.service_order, sql.work_order
    sv, b, bl, tt, cx = sql.service, sql.customer_bill, sql.bill_line, sql.trouble_ticket, sql.customer_experience
    accounts = [Account(r.id, r.parent_id, r.payment_type, r.bill_cycle_day, r.currency, r.opened_at, r.dunning_state,
                        r.last_billed_at)
                for r in _select(run, select(a).where(a.c.customer_id == customer_id))]  # fmt: skip
    accounts.sort(key=lambda x: (x.parent_id is not None, x.id))
    orders = [ProductOrder(r.id, r.offering_id, offerings.get(r.offering_id, r.offering_id), r.billing_account_id,
                           r.state, r.submitted_at, r.completed_at, r.service_order_id,
                           _failure(r.failure_code, r.failure_reason))
              for r in _select(run, select(po).where(po.c.customer_id == customer_id).order_by(po.c.id))]  # fmt: skip
    service_orders = [ServiceOrder(r.id, r.product_order_id, r.service_id, r.state, r.created_at, r.completed_at,
                                   r.attempts, _failure(r.failure_code, r.failure_reason))
                      for r in _select(run, select(so).where(so.c.customer_id == customer_id).order_by(so.c.id))]
    installs = [_work_order(r) for r in _select(run, select(wo).where(wo.c.customer_id == customer_id)
                                                  .order_by(wo.c.id))]  # fmt: skip
    services = [Service(r.id, r.key, r.offering_id, offerings.get(r.offering_id, r.offering_id), r.billing_account_id,
                        r.site, r.state, r.operational_state, r.suspension_reason, r.bandwidth_bps, _listed(r.path),
                        _listed(r.links), r.activated_at, r.terminated_at,
                        tuple((until, oid) for until, oid in _listed(r.offering_history)))
                for r in _select(run, select(sv).where(sv.c.customer_id == customer_id).order_by(sv.c.key))]
    bill_rows = _select(run, select(b).where(b.c.customer_id == customer_id).order_by(b.c.issued_at, b.c.id))
    lines: dict[str, list[BillLine]] = defaultdict(list)
    for r in _select_in(run, select(bl), bl.c.bill_id, [x.id for x in bill_rows]):
        lines[r.bill_id].append(BillLine(r.id, r.service_id, r.kind, r.description, r.quantity, _money_of(r.amount)))
    bills = [Bill(r.id, r.billing_account_id, r.period_start, r.period_end, r.issued_at, r.due_at, r.state,
                  _money_of(r.amount), _money_of(r.paid), r.settled_at, r.reminded_at,
                  tuple(sorted(lines[r.id], key=_line_order)))
             for r in bill_rows]  # fmt: skip
    tickets = [Ticket(r.id, _listed(r.service_ids), r.incident_id, r.channel, r.severity, r.state, r.description,
                      r.created_at, r.resolved_at, r.closed_at, r.calls)
               for r in _select(run, select(tt).where(tt.c.customer_id == customer_id).order_by(tt.c.created_at,
                                                                                                    tt.c.id))]
    experience = [Experience(r.billing_account_id, r.period_end, r.index, r.outage_minutes, r.latency_ms, r.loss,
                             r.ticket_hours, bool(r.bill_shock))
                  for r in _select(run, select(cx).where(cx.c.customer_id == customer_id)
                                   .order_by(cx.c.period_end, cx.c.billing_account_id))]  # fmt: skip
    return _Records(accounts, orders, service_orders, installs, services, bills, tickets, experience)


def _failure(code: str | None, reason: str | None) -> str | None:
    return None if not code and not reason else f"{reason} ({code})" if code else reason


def _line_order(line: BillLine) -> tuple:
    """Bill lines in the order they were made (``BILL-000001-10`` after ``-9``)."""
    head, _, number = line.id.rpartition("-")
    return (head, int(number)) if number.isdigit() else (line.id, 0)


def _work_order(r) -> WorkOrder:
    return WorkOrder(r.id, r.kind, r.site, r.state, r.issued_at, r.started_at, r.completed_at, r.service_order_id,
                     r.incident_id)


def _quoted(ident: str) -> str:
    return f'%"{ident}"%'


def _candidate_incidents(run: data.Run, customer_id: str, rec: _Records, nodes: set[str]) -> None:
    """The incidents that may have hit the customer, their alarms and repairs (narrowed once the log is read).

    Standing incidents whose impact lists the customer or one of its services (lost or rerouted), that
    its tickets name, or with an alarm on a node of its services' paths (a service at a node with no
    link is named only by the network's ``NodeDown``, not in the incident's impact); and incidents
    merged into them (their root alarm joined the survivor's alarms).
    """
    t, al, wo = sql.incident, sql.alarm, sql.work_order
    hits = [t.c.customers.like(_quoted(customer_id))]
    for s in rec.services:
        hits += [t.c.services.like(_quoted(s.id)), t.c.protected.like(_quoted(s.id))]
    rows = _select(run, select(t).where(t.c.state != "merged", or_(*hits)))
    named = {x.incident_id for x in rec.tickets if x.incident_id}
    named |= {r.incident_id for r in _select_in(run, select(al.c.incident_id).where(al.c.alarmed_object_type == "node"),
                                                al.c.alarmed_object, nodes)}  # fmt: skip
    rows += _select_in(run, select(t), t.c.id, named - {r.id for r in rows} - {None})
    alarm_ids = {a for r in rows for a in json.loads(r.alarm_ids)}
    rows += _select_in(run, select(t).where(t.c.state == "merged"), t.c.root_alarm_id, alarm_ids)
    rec.incidents = {r.id: r for r in rows}
    alarm_ids |= {r.root_alarm_id for r in rows}
    rec.alarms = {r.id: r for r in _select_in(run, select(al), al.c.id, alarm_ids)}
    rec.repairs = {r.id: _work_order(r) for r in _select_in(run, select(wo), wo.c.incident_id, rec.incidents)}


def _incident_window(rec: _Records, incident) -> tuple[float, float | None]:
    """From the first to the last moment an incident, its alarms or its repair made an event (None: to the end)."""
    times = [incident.opened_at]
    end: list[float | None] = [incident.resolved_at]
    for alarm_id in set(json.loads(incident.alarm_ids)) | {incident.root_alarm_id}:
        alarm = rec.alarms.get(alarm_id)
        if alarm is not None:
            history = [at for at, _ in json.loads(alarm.history)] or [alarm.raised_time]
            times.append(min(history))
            end.append(max(history) if alarm.cleared_time is not None else None)
    for work in rec.repairs.values():
        if work.incident_id == incident.id:
            moments = [x for x in (work.issued_at, work.started_at, work.completed_at) if x is not None]
            times.append(min(moments))
            end.append(max(moments) if work.state in ("completed", "cancelled") else None)
    return min(times), (None if any(x is None for x in end) else max(end))  # type: ignore[type-var]


# -- searching events.jsonl ------------------------------------------------------------------------------------------


def _line_start(stream, pos: int) -> int:
    """The offset of the first line that starts at or after ``pos``."""
    if pos <= 0:
        return 0
    stream.seek(pos - 1)
    stream.readline()
    return stream.tell()


def _at(stream, pos: int) -> float:
    stream.seek(pos)
    found = _AT.search(stream.readline())
    return float(found.group(1)) if found else float("inf")


def _offset(stream, size: int, at: float, after: bool = False) -> int:
    """The offset of the first line whose event is at ``at`` or later (``after``: later than ``at``).

    Events are logged in time order, so this is a binary search over byte offsets: about 30 short reads
    for a log of gigabytes.
    """
    lo, hi = 0, size
    while lo < hi:
        mid = (lo + hi) // 2
        start = _line_start(stream, mid)
        when = _at(stream, start) if start < size else float("inf")
        if (when > at) if after else (when >= at):
            hi = mid
        else:
            lo = mid + 1
    return _line_start(stream, lo)


def _search(path: Path, start: int, stop: int, markers: list[bytes], found: dict[int, dict]) -> None:
    """Parse into ``found`` (by seq) the lines of ``path[start:stop]`` that hold one of ``markers``.

    ``start`` and ``stop`` are line starts. The range is read in blocks of 1 MB cut at a line end;
    each block is searched for each marker and only the lines holding one are parsed.
    """
    rest = b""
    with open(path, "rb") as stream:
        stream.seek(start)
        left = stop - start
        while True:
            block = stream.read(min(_BLOCK, left)) if left > 0 else b""
            left -= len(block)
            chunk = rest + block
            cut = chunk.rfind(b"\n") + 1 if block else len(chunk)
            rest, chunk = chunk[cut:], chunk[:cut]
            lines: set[tuple[int, int]] = set()
            for marker in markers:
                i = chunk.find(marker)
                while i >= 0:
                    begin = chunk.rfind(b"\n", 0, i) + 1
                    end = chunk.find(b"\n", i)
                    end = len(chunk) if end < 0 else end
                    lines.add((begin, end))
                    i = chunk.find(marker, end)
            for begin, end in lines:
                event = orjson.loads(chunk[begin:end])
                found[event["seq"]] = event
            if not block:
                return


def _windows(spans: list[tuple[float, float | None]]) -> list[tuple[float, float | None]]:
    """Time spans merged where they overlap (None: to the end)."""
    merged: list[tuple[float, float | None]] = []
    for start, end in sorted(spans, key=lambda s: s[0]):
        if merged and (merged[-1][1] is None or start <= merged[-1][1]):
            last = merged[-1]
            merged[-1] = (last[0], None if end is None or last[1] is None else max(last[1], end))
        else:
            merged.append((start, end))
    return merged


def _log(run: data.Run) -> Path:
    path = run.folder / "events.jsonl"
    if not path.is_file():
        raise NotARunFolder(run.folder, "no events.jsonl (the event log, where a journey's steps are)")
    return path


def _searched(run: data.Run, path: Path, ranges: list[tuple[int, int]], markers: list[bytes]) -> dict[int, dict]:
    found: dict[int, dict] = {}
    try:
        for a, b in ranges:
            _search(path, a, b, markers, found)
    except orjson.JSONDecodeError as exc:
        raise NotARunFolder(run.folder, f"events.jsonl holds a line that is not JSON ({exc})") from None
    return found


def _customer_events(run: data.Run, customer_id: str, registered_at: float) -> dict[int, dict]:
    """The events that name the customer (orders, services, bills, tickets ...), from its registration on."""
    path = _log(run)
    size = path.stat().st_size
    with open(path, "rb") as stream:
        begin = _offset(stream, size, registered_at - 1.0)
    return _searched(run, path, [(begin, size)], [f'"{customer_id}"'.encode()])


def _incident_events(run: data.Run, rec: _Records) -> dict[int, dict]:
    """The events in the windows of the candidate incidents that name the customer's services, the incidents,
    their alarms or their repairs (the network's events name services, not customers)."""
    path = _log(run)
    size = path.stat().st_size
    spans = _windows([_incident_window(rec, i) for i in rec.incidents.values()])
    with open(path, "rb") as stream:
        ranges = [(_offset(stream, size, a - 1.0), size if b is None else _offset(stream, size, b + 1.0, True))
                  for a, b in spans]  # fmt: skip
    ids = [s.id for s in rec.services] + list(rec.incidents) + list(rec.alarms) + list(rec.repairs)
    return _searched(run, path, ranges, [f'"{x}"'.encode() for x in ids])


def _names(event: dict, keys: tuple[str, ...]) -> set[str]:
    """The ids an event's ``keys`` fields hold."""
    out: set[str] = set()
    for key in keys:
        value = event.get(key)
        if isinstance(value, list):
            out.update(value)
        elif value is not None:
            out.add(value)
    return out


def _concerns(event: dict, ids: set[str]) -> bool:
    stage = ETOM.get(event.get("type", ""))
    return stage is not None and not _names(event, stage.keys).isdisjoint(ids)


def _links_of(path: tuple[str, ...] | list[str], link_of: dict[frozenset, str]) -> set[str]:
    return {link_of[k] for k in (frozenset(p) for p in zip(path, path[1:])) if k in link_of}


def _crossed(services: list[Service], events: list[dict], link_of: dict[frozenset, str]) -> set[str]:
    """The links and nodes the customer's services crossed: their stored paths, and every path or failed
    resource their events name (activations, moves, reroutes, link and node failures)."""
    used: set[str] = set()
    for s in services:
        used.update(s.path, s.links)
    for e in events:
        path = e.get("path") or ()
        used.update(path, _links_of(path, link_of), e.get("links") or ())
        if e["type"] in ("LinkDown", "LinkUp", "NodeDown", "NodeUp"):
            used.add(e.get("link_id") or e["node"])
    return used


def _select_events(customer_id: str, rec: _Records, events: list[dict], link_of: dict[frozenset, str]) -> list[dict]:
    """The customer's events among the candidates; narrows the incidents, alarms and repairs to those that hit it.

    A standing incident hit the customer when its impact lists the customer or one of its services, its
    tickets name it, or one of its alarms was raised by a failure the network reported with one of the
    customer's services (a service at a node with no link is missing from the impact, see
    :func:`_candidate_incidents`).
    """
    services = {s.id for s in rec.services}
    own = {customer_id} | services | {w.id for w in rec.work_orders}
    mine = [e for e in events if _concerns(e, own)]
    used = _crossed(rec.services, mine, link_of)
    downs = [(e.get("link_id") or e.get("node"), e["at"]) for e in mine if e["type"] in ("LinkDown", "NodeDown")]
    named = {t.incident_id for t in rec.tickets}

    def struck(alarm) -> bool:
        """Whether a failure that cut one of the customer's services raised ``alarm``."""
        cleared = alarm.cleared_time if alarm.cleared_time is not None else float("inf")
        return any(obj == alarm.alarmed_object and alarm.raised_time <= at <= cleared for obj, at in downs)

    def hit(r) -> bool:
        return (r.id in named or customer_id in json.loads(r.customers)
                or not services.isdisjoint(json.loads(r.services)) or not services.isdisjoint(json.loads(r.protected))
                or any(a in rec.alarms and struck(rec.alarms[a]) for a in json.loads(r.alarm_ids)))

    standing = {k: r for k, r in rec.incidents.items() if r.state != "merged" and hit(r)}
    roots = {r.root_alarm_id for r in standing.values()}
    theirs = {a for r in standing.values() for a in json.loads(r.alarm_ids)} | roots
    alarms = {k: r for k, r in rec.alarms.items() if k in theirs and (k in roots or r.alarmed_object in used)}
    incidents = {**standing, **{k: r for k, r in rec.incidents.items()
                                if r.state == "merged" and r.root_alarm_id in alarms}}  # fmt: skip
    repairs = {k: w for k, w in rec.repairs.items() if w.incident_id in incidents}
    rec.incidents, rec.alarms, rec.repairs = incidents, alarms, repairs
    ids = own | set(incidents) | set(alarms) | set(repairs)
    return [e for e in events if _concerns(e, ids)]


# -- steps: the sentences --------------------------------------------------------------------------------------------


@dataclass
class _Context:
    """What a step's sentence needs besides its event."""

    currency: str
    calendar: Calendar
    offerings: dict[str, str]
    services: set[str]
    alarm_object: dict[str, str]
    work_kind: dict[str, str]
    suspended_for: dict[str, str] = field(default_factory=dict)  # service -> reason of its last suspension


def _money(value, currency: str) -> str:
    return f"{format(Decimal(value), 'f')} {currency}"


def _mbps(bps: int) -> str:
    return f"{bps / 1e6:g} Mbit/s"


def _path(path) -> str:
    return " - ".join(path)


def _offering(ctx: _Context, offering_id: str) -> str:
    return ctx.offerings.get(offering_id, offering_id)


def _theirs(ctx: _Context, ids) -> list[str]:
    return [s for s in ids or () if s in ctx.services]


def _services_phrase(ids: list[str]) -> str:
    return f"service {ids[0]}" if len(ids) == 1 else "services " + ", ".join(ids)


def _network_event(e: dict, ctx: _Context) -> str:
    what = "Link" if e["type"].startswith("Link") else "Node"
    obj = e.get("link_id") or e.get("node")
    down = e["type"].endswith("Down")
    theirs = _theirs(ctx, e.get("service_ids"))
    text = f"{what} {obj} {'down' if down else 'up'}"
    if e.get("planned"):
        text += " (planned work)"
    if theirs:
        text += f": {_services_phrase(theirs)} {'down' if down else 'restored'}"
    return text


def _ticket_created(e: dict, ctx: _Context) -> str:
    how = "automatically" if e["channel"] == "automatic" else "when the customer called"
    text = f"Trouble ticket {e['ticket_id']} opened {how}"
    if e.get("incident_id"):
        text += f" (incident {e['incident_id']})"
    return text + f" for {_services_phrase(e['service_ids'])}" if e.get("service_ids") else text


_TICKET_STATES = {"inProgress": "in progress", "resolved": "resolved: service restored", "closed": "closed",
                  "acknowledged": "acknowledged", "pending": "pending"}  # fmt: skip


def _resumed(e: dict, ctx: _Context) -> str:
    why = {"non-payment": " after the overdue bills were paid", BALANCE_EXHAUSTED: " after a top-up",
           "customer request": " at the customer's request"}.get(ctx.suspended_for.get(e["service_id"], ""), "")
    return f"Service {e['service_id']} resumed in the network{why}"


# Each event type -> the sentence of what happened (the context gives names: offerings, alarmed objects).
SENTENCES = {
    "CustomerRegistered": lambda e, c: f"Customer {e['customer_id']} ({e['segment']}) registered at the site "
                                       f"{e['site']}, billing account {e['billing_account_id']}",
    "BillingAccountOpened": lambda e, c: f"Billing account {e['billing_account_id']} opened"
                                         + (f" under {e['parent_id']}" if e.get("parent_id") else ""),
    "ProductOrderSubmitted": lambda e, c: f"Product order {e['order_id']} for {_offering(c, e['offering_id'])} "
                                          "submitted",
    "ProductOrderHeld": lambda e, c: f"Product order {e['order_id']} held (fallout, attempt {e['attempt']}): "
                                     f"{e['reason']}; retry at {c.calendar.isoformat(e['retry_at'])[:16]}",
    "ProductOrderCompleted": lambda e, c: f"Product order {e['order_id']} completed",
    "ProductOrderFailed": lambda e, c: f"Product order {e['order_id']} failed: {e['reason']}",
    "ProductOrderCancelled": lambda e, c: f"Product order {e['order_id']} cancelled: {e['reason']}",
    "ServiceOrderCreated": lambda e, c: f"Product order {e['order_id']} decomposed into service order "
                                        f"{e['service_order_id']} for service {e['service_id']}",
    "ServiceOrderFailed": lambda e, c: f"Service order {e['service_order_id']} failed: {e['reason']} ({e['code']})",
    "WorkOrderIssued": lambda e, c: (f"Installation work order {e['work_order_id']} issued for the site {e['site']}"
                                     if e["kind"] == "installation" else
                                     f"Repair work order {e['work_order_id']} issued for {e['site']}"
                                     + (f" (incident {e['incident_id']})" if e.get("incident_id") else "")),
    "WorkOrderStarted": lambda e, c: f"Technician started work order {e['work_order_id']}"
                                     + (f" (incident {e['incident_id']})" if e.get("incident_id") else ""),
    "WorkOrderCompleted": lambda e, c: f"Work order {e['work_order_id']} completed: "
                                       f"{'installation' if e.get('kind') == 'installation' else 'repair'} done",
    "WorkOrderCancelled": lambda e, c: f"Work order {e['work_order_id']} cancelled: {e['reason']}",
    "ServiceActivated": lambda e, c: f"Service {e['service_id']} activated on the path {_path(e['path'])}, "
                                     f"{_mbps(e['bandwidth_bps'])} reserved",
    "ServiceModified": lambda e, c: f"Service {e['service_id']} changed from {_offering(c, e['from_offering_id'])} "
                                    f"to {_offering(c, e['to_offering_id'])}, {_mbps(e['bandwidth_bps'])} reserved",
    "ServiceModificationRefused": lambda e, c: f"Change of service {e['service_id']} to "
                                               f"{_offering(c, e['to_offering_id'])} refused: {e['reason']}",
    "ServiceMoved": lambda e, c: f"Service {e['service_id']} moved from {e['from_site']} to {e['to_site']}, "
                                 f"new path {_path(e['path'])}",
    "ServiceMoveRefused": lambda e, c: f"Move of service {e['service_id']} to {e['to_site']} refused: {e['reason']}",
    "ServiceSuspended": lambda e, c: f"Service {e['service_id']} suspended in the network: {e['reason']}",
    "ServiceResumed": _resumed,
    "ServiceTerminated": lambda e, c: f"Service {e['service_id']} terminated: {e['reason']}",
    "CustomerChurned": lambda e, c: f"Customer {e['customer_id']} churned: {e['reason']}",
    "LinkDown": _network_event,
    "LinkUp": _network_event,
    "NodeDown": _network_event,
    "NodeUp": _network_event,
    "ServiceRerouted": lambda e, c: f"Service {e['service_id']} rerouted around the failure onto the path "
                                    f"{_path(e['path'])}",
    "ServiceStateChanged": lambda e, c: f"Service {e['service_id']} {e['operational_state']}: {e['cause']}",
    "AlarmRaised": lambda e, c: f"Alarm {e['alarm_id']} raised on {e['alarmed_object_type']} {e['alarmed_object']}: "
                                f"{e['perceived_severity']}, {e['probable_cause']}"
                                + (" (planned work)" if e.get("planned") else ""),
    "AlarmCleared": lambda e, c: f"Alarm {e['alarm_id']} on {e['alarmed_object']} cleared",
    "AlarmAcknowledged": lambda e, c: f"Alarm {e['alarm_id']} on {e['alarmed_object']} acknowledged",
    "AlarmCorrelated": lambda e, c: f"Alarm {e['alarm_id']} ({c.alarm_object.get(e['alarm_id'], '?')}) correlated "
                                    f"to the root cause {e['parent_id']} ({c.alarm_object.get(e['parent_id'], '?')})",
    "IncidentOpened": lambda e, c: f"Incident {e['incident_id']} opened: root cause {e['root_object']} "
                                   f"(alarm {e['root_alarm_id']})" + (", planned work" if e.get("planned") else ""),
    "IncidentImpactAssessed": lambda e, c: f"Incident {e['incident_id']} hits {e['services']:,} services of "
                                           f"{e['customers']:,} customers ({e['sla_services']:,} with an SLA), "
                                           f"{_money(e['revenue_at_risk'], c.currency)} monthly revenue at risk",
    "IncidentMerged": lambda e, c: f"Incident {e['incident_id']} merged into {e['into_incident_id']}",
    "IncidentResolved": lambda e, c: f"Incident {e['incident_id']} resolved after {e['duration_s'] / 3600:.2f} h",
    "TroubleTicketCreated": _ticket_created,
    "TroubleTicketLinked": lambda e, c: f"The customer called: the call joined trouble ticket {e['ticket_id']} "
                                        f"(incident {e['incident_id']})",
    "TroubleTicketStateChanged": lambda e, c: f"Trouble ticket {e['ticket_id']} "
                                              f"{_TICKET_STATES.get(e['state'], e['state'])}",
    "SlaBreached": lambda e, c: f"SLA breached on service {e['service_id']}: {e['metric']} {e['measured']} "
                                f"against {e['target']}",
    "CustomerBillIssued": lambda e, c: f"Bill {e['bill_id']} issued: {_money(e['amount'], c.currency)} "
                                       f"(account {e['billing_account_id']}, "
                                       f"{c.calendar.isoformat(e['period_start'])[:10]} to "
                                       f"{c.calendar.isoformat(e['period_end'])[:10]})",
    "PaymentReceived": lambda e, c: f"Payment of {_money(e['amount'], c.currency)} received for bill {e['bill_id']}",
    "CustomerBillSettled": lambda e, c: f"Bill {e['bill_id']} settled",
    "DunningReminderSent": lambda e, c: f"Reminder sent for bill {e['bill_id']}, {e['overdue_days']:g} days overdue",
    "PrepaidBalanceExhausted": lambda e, c: f"Prepaid balance of account {e['billing_account_id']} cannot pay the "
                                            f"traffic ({_money(e['balance'], c.currency)} left): service "
                                            f"{e['service_id']} cut off",
    "PrepaidToppedUp": lambda e, c: f"Prepaid balance of account {e['billing_account_id']} topped up by "
                                    f"{_money(e['amount'], c.currency)}, now {_money(e['balance'], c.currency)}",
}  # fmt: skip

def describe(event: dict, currency: str = "", calendar: Calendar | None = None) -> str:
    """The sentence of one logged event (a line of events.jsonl, parsed), without the run's names for things."""
    ctx = _Context(currency, calendar or Calendar(datetime(2000, 1, 1, tzinfo=UTC)), {}, set(), {}, {})
    return SENTENCES[event["type"]](event, ctx)


# Fields naming a resource (not a record id) that a step touched.
_RESOURCE_FIELDS = ("link_id", "node", "alarmed_object", "root_object")


def _touched(event: dict, ctx: _Context) -> tuple[str, ...]:
    """The ids of the records an event touched: its *_id fields, the customer's services it names, the resource."""
    out: list[str] = []
    for key, value in event.items():
        if key == "service_ids":
            out += _theirs(ctx, value)
        elif key.endswith("_id") and isinstance(value, str):
            out.append(value)
        elif key in _RESOURCE_FIELDS and isinstance(value, str):
            out.append(value)
    return tuple(dict.fromkeys(out))


def _variant(event: dict, ctx: _Context) -> str | None:
    kind = event["type"]
    if kind.startswith("WorkOrder"):
        return "repair" if ctx.work_kind.get(event["work_order_id"]) == "repair" else None
    if kind in ("ServiceSuspended", "ServiceTerminated", "CustomerChurned"):
        return event.get("reason")
    if kind == "ServiceResumed":
        return ctx.suspended_for.get(event["service_id"])
    return None


def _steps(events: list[dict], ctx: _Context) -> tuple[Step, ...]:
    steps = []
    for e in events:
        stage = stage_of(e["type"], _variant(e, ctx))
        steps.append(Step(e["seq"], e["at"], e["time"], stage.process, stage.vertical, stage.layer, e["type"],
                          SENTENCES[e["type"]](e, ctx), _touched(e, ctx)))  # fmt: skip
        if e["type"] == "ServiceSuspended":
            ctx.suspended_for[e["service_id"]] = e["reason"]
    return tuple(steps)


# -- usage and balances ----------------------------------------------------------------------------------------------


def _periods(account: Account, bills: list[Bill], calendar: Calendar, end: float) -> np.ndarray:
    """The bounds of an account's bill periods: opened, each cycle date (and bill end) up to the run's end, the end."""
    bounds = {account.opened_at, end} | {b.period_end for b in bills if b.billing_account_id == account.id}
    for _, start in data.month_starts(calendar, account.opened_at, end):
        cycle = start + (account.bill_cycle_day - 1) * 86_400.0
        if account.opened_at < cycle <= end:
            bounds.add(cycle)
    return np.array(sorted(bounds), dtype=np.float64)


_RATED_COLUMNS = ("service_key", "start", "volume_bytes", "charge_micros")


def _rated(run: data.Run, services: list[Service]) -> dict[str, np.ndarray]:
    """The rated records of ``services``, as columns: pyarrow filters the file, nothing per record here.

    The file has a row group per day, so records before the first activation are skipped by the row
    groups' statistics; the service keys are compared in every other row group (about 1 s per 70 million
    records on the development machine).
    """
    path = run.folder / "usage" / RATED_FILE
    if not path.is_file():
        raise NotARunFolder(run.folder, f"no usage/{RATED_FILE} (the rated usage)")
    live = [s for s in services if s.activated_at is not None]
    if not live:
        return {name: np.zeros(0, dtype=np.float64 if name == "start" else np.int64) for name in _RATED_COLUMNS}
    since = min(s.activated_at for s in live) - 3_600.0  # the hour it went live in
    wanted = (pc.field("start") >= since) & pc.field("service_key").isin([s.key for s in live])
    try:
        table = ds.dataset(path, format="parquet").to_table(columns=list(_RATED_COLUMNS), filter=wanted)
    except (OSError, ValueError) as exc:  # pyarrow's errors derive from these
        raise NotARunFolder(run.folder, f"usage/{RATED_FILE} cannot be read ({_first_line(exc)})") from None
    return {name: table.column(name).to_numpy() for name in _RATED_COLUMNS}


def _usage(run: data.Run, rec: _Records, rated: dict[str, np.ndarray]) -> list[Usage]:
    """Each service's records, bytes and charge per bill period of its account, and the usage line billed for it."""
    by_account = {a.id: a for a in rec.accounts}
    bill_of = {(b.billing_account_id, b.period_end): b for b in rec.bills}
    out: list[Usage] = []
    for s in rec.services:
        account = by_account.get(s.billing_account_id)
        if account is None:
            continue
        bounds = _periods(account, rec.bills, run.calendar, run.duration)
        mine = rated["service_key"] == s.key
        which = np.searchsorted(bounds, rated["start"][mine], side="right") - 1
        which = np.clip(which, 0, len(bounds) - 2)
        periods = len(bounds) - 1
        records = np.bincount(which, minlength=periods)
        volume = _sum_by(which, rated["volume_bytes"][mine], periods)
        charge = _sum_by(which, rated["charge_micros"][mine], periods)
        for i in range(periods):
            if not records[i] and not _live(s, float(bounds[i]), float(bounds[i + 1])):
                continue
            bill = bill_of.get((account.id, float(bounds[i + 1])))
            billed = None
            if bill is not None:
                parts = [x.amount for x in bill.lines if x.kind == "usage" and x.service_id == s.id
                         and not x.description.startswith("Late")]
                billed = sum(parts, ZERO) if parts else ZERO
            out.append(Usage(s.id, account.id, float(bounds[i]), float(bounds[i + 1]), int(records[i]), int(volume[i]),
                             from_micros(int(charge[i])), bill.id if bill else None, billed))  # fmt: skip
    return out


def _live(service: Service, start: float, end: float) -> bool:
    """Whether the service was active at some time in [start, end)."""
    stopped = service.terminated_at if service.terminated_at is not None else float("inf")
    return service.activated_at is not None and service.activated_at < end and stopped > start


def _sum_by(which: np.ndarray, values: np.ndarray, size: int) -> list[int]:
    """Exact integer sums of ``values`` per group (bincount would go through floats)."""
    sums = np.zeros(size, dtype=np.int64)
    np.add.at(sums, which, values.astype(np.int64))
    return sums.tolist()


def _prepaid(rec: _Records, steps: list[dict], rated: dict[str, np.ndarray]) -> list[Prepaid]:
    """Each prepaid account's balance at the end: what was topped up less what was charged online (exact)."""
    out = []
    for account in rec.accounts:
        if account.payment_type != "prepaid":
            continue
        topped = sum((Decimal(e["amount"]) for e in steps
                      if e["type"] == "PrepaidToppedUp" and e["billing_account_id"] == account.id), ZERO)
        keys = [s.key for s in rec.services if s.billing_account_id == account.id]
        charged = from_micros(int(rated["charge_micros"][np.isin(rated["service_key"], keys)].sum()))
        out.append(Prepaid(account.id, topped, charged, topped - charged))
    return out


# -- trace -----------------------------------------------------------------------------------------------------------


def trace(folder: Path, customer_id: str, db_url: str | None = None) -> Journey:
    """The journey of ``customer_id`` in the finished run in ``folder``.

    ``db_url``: the database the run was written to, when not ``run.db`` in the folder. Raises
    :class:`~sim.report.data.NotARunFolder` for a folder that is not a finished run (or misses a part)
    and :class:`UnknownCustomer` for an id the run does not hold.
    """
    with data.open_run(Path(folder), db_url) as run:
        person = _customer(run, customer_id)
        offerings = _offerings(run)
        rec = _read(run, customer_id, offerings)
        resources = _select(run, select(sql.resource))
        events = _events(run, person, rec, {frozenset((x.a, x.b)): x.id for x in resources if x.kind == "link"})
        ctx = _Context(run.currency, run.calendar, offerings, {s.id for s in rec.services},
                       {k: a.alarmed_object for k, a in rec.alarms.items()},
                       {w.id: w.kind for w in (*rec.work_orders, *rec.repairs.values())})
        rated = _rated(run, rec.services)
        return Journey(
            folder=str(run.folder), run=run.name, calendar=run.calendar, currency=run.currency,
            customer_id=person.id, name=person.name, segment=person.segment, party_type=person.party_type,
            site=person.site, state=person.state, registered_at=person.registered_at, steps=_steps(events, ctx),
            accounts=tuple(rec.accounts), product_orders=tuple(rec.product_orders),
            service_orders=tuple(rec.service_orders),
            work_orders=tuple(sorted([*rec.work_orders, *rec.repairs.values()], key=lambda w: (w.issued_at, w.id))),
            services=tuple(rec.services), resources=_resources(resources, rec.services),
            alarms=tuple(_alarms(rec)), incidents=tuple(_incidents(rec)), tickets=tuple(rec.tickets),
            sla_breaches=tuple(SlaBreach(e["at"], e["service_id"], e["metric"], e["target"], e["measured"])
                               for e in events if e["type"] == "SlaBreached"),
            experience=tuple(rec.experience), bills=tuple(rec.bills),
            payments=tuple(Payment(e["at"], e["bill_id"], Decimal(e["amount"]))
                           for e in events if e["type"] == "PaymentReceived"),
            usage=tuple(_usage(run, rec, rated)), prepaid=tuple(_prepaid(rec, events, rated)),
        )  # fmt: skip


def _events(run: data.Run, person, rec: _Records, link_of: dict[frozenset, str]) -> list[dict]:
    """The customer's events in log order: those naming it from its registration on, then, in the windows of
    the incidents that may have hit it, those naming its services, the incidents, alarms and repairs."""
    found = _customer_events(run, person.id, person.registered_at)
    nodes = {n for s in rec.services for n in s.path} | {n for e in found.values() for n in e.get("path") or ()}
    _candidate_incidents(run, person.id, rec, nodes)
    found.update(_incident_events(run, rec))
    return _select_events(person.id, rec, [found[k] for k in sorted(found)], link_of)


def _resources(rows: list, services: list[Service]) -> tuple[Resource, ...]:
    """The links and nodes on the stored paths of the customer's services, path order first."""
    users: dict[str, list[str]] = defaultdict(list)
    for s in services:
        for obj in (*s.path, *s.links):
            if s.id not in users[obj]:
                users[obj].append(s.id)
    by_id = {r.id: r for r in rows}
    order = {obj: i for i, obj in enumerate(users)}
    return tuple(Resource(r.id, r.kind, r.capacity_bps, r.latency_s, bool(r.gateway), tuple(users[r.id]))
                 for r in sorted((by_id[o] for o in users if o in by_id), key=lambda r: (r.kind, order[r.id])))


def _alarms(rec: _Records) -> list[Alarm]:
    return sorted((Alarm(a.id, a.alarmed_object, a.alarmed_object_type, a.perceived_severity, a.probable_cause,
                         a.state, a.raised_time, a.cleared_time, bool(a.is_root_cause), a.parent_id, a.incident_id,
                         bool(a.planned)) for a in rec.alarms.values()), key=lambda a: (a.raised_at, a.id))


def _incidents(rec: _Records) -> list[Incident]:
    mine = {s.id for s in rec.services}
    out = []
    for i in rec.incidents.values():
        hit = set(json.loads(i.services)) | set(json.loads(i.protected))
        root = rec.alarms.get(i.root_alarm_id)
        out.append(Incident(i.id, i.root_alarm_id, root.alarmed_object if root is not None else "?", i.state,
                            bool(i.planned), i.opened_at, i.resolved_at, len(json.loads(i.services)),
                            len(json.loads(i.customers)), _money_of(i.revenue_at_risk), tuple(sorted(hit & mine))))
    return sorted(out, key=lambda x: (x.opened_at, x.id))


# -- the most instructive customer -----------------------------------------------------------------------------------

_CANDIDATES = 200  # customers whose common processes are counted


def _rare_facts() -> list:
    """Per rarer process, the customers with a record of it (few rows, even for a million customers)."""
    tt, b, bl, a, c = sql.trouble_ticket, sql.customer_bill, sql.bill_line, sql.billing_account, sql.customer
    return [
        select(tt.c.customer_id).distinct(),  # Problem Handling
        select(b.c.customer_id).distinct().join(bl, bl.c.bill_id == b.c.id)
        .where(bl.c.kind == "sla_credit"),  # Customer QoS/SLA Management
        select(a.c.customer_id).distinct().where(a.c.payment_type == "prepaid"),  # Charging
        select(c.c.id).where(c.c.state == "churned"),  # Retention & Loyalty
    ]


def _common_facts() -> list:
    """Per common process, the statement and column that find its customers (asked for candidates only)."""
    po, so, wo, b = sql.product_order, sql.service_order, sql.work_order, sql.customer_bill
    return [
        (select(po.c.customer_id).distinct(), po.c.customer_id),  # Order Handling
        (select(so.c.customer_id).distinct(), so.c.customer_id),  # Service Configuration & Activation
        (select(wo.c.customer_id).distinct(), wo.c.customer_id),  # Resource Provisioning (installations)
        (select(b.c.customer_id).distinct(), b.c.customer_id),  # Bill Invoice Management
        (select(b.c.customer_id).distinct().where(or_(b.c.settled_at.is_not(None), b.c.reminded_at.is_not(None))),
         b.c.customer_id),  # Bill Payments & Receivables Management
    ]  # fmt: skip


def default_customer(folder: Path, db_url: str | None = None) -> str | None:
    """The customer whose journey is most instructive for a trainer; None when the run has no customer.

    Judged from the database, not the log, so that it stays cheap on a million customers: first the
    rarer processes a customer's records show (a trouble ticket, an SLA credit, an incident that hit
    its services, which counts for Service Problem and Resource Trouble Management, a prepaid
    account, churn); among those with the most, the common ones (an order, a service order, an
    installation, a bill, a payment or reminder); the smallest id among equals.
    """
    with data.open_run(Path(folder), db_url) as run:
        rare: Counter[str] = Counter()
        for statement in _rare_facts():
            rare.update(cid for (cid,) in _select(run, statement))
        for (customers,) in _select(run, select(sql.incident.c.customers).where(sql.incident.c.state != "merged")):
            rare.update({cid: 2 for cid in set(json.loads(customers))})
        if rare:
            best = max(rare.values())
            candidates = sorted(cid for cid, n in rare.items() if n == best)[:_CANDIDATES]
        else:
            t = sql.customer
            candidates = [cid for (cid,) in _select(run, select(t.c.id).order_by(t.c.id).limit(_CANDIDATES))]
        if not candidates:
            return None
        common: Counter[str] = Counter()
        for statement, column in _common_facts():
            common.update(cid for (cid,) in _select_in(run, statement, column, candidates))
        return min(candidates, key=lambda cid: (-common[cid], cid))


# -- showing it ------------------------------------------------------------------------------------------------------

ABBREVIATIONS = {CRM: "CRM", SMO: "SM&O", RMO: "RM&O", SPRM: "S/PRM"}


@dataclass(frozen=True)
class Section:
    """A table of records one domain holds, ready to show: a title, where it sits in eTOM, headers, rows of text."""

    title: str
    where: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[int, ...] = ()  # columns to right-align


def _yes(flag: bool) -> str:
    return "yes" if flag else ""


def _opt(value) -> str:
    return "" if value is None else str(value)


def _dec(value: Decimal | None) -> str:
    return "" if value is None else format(value, "f")


def sections(j: Journey) -> list[Section]:
    """The records of the journey by domain, as text tables (shared by the terminal and the HTML views)."""
    w = j.when
    out = [
        Section("Customer", "CRM: Customer Management", ("id", "name", "segment", "party", "site", "state",
                                                         "registered"),
                ((j.customer_id, j.name, j.segment, j.party_type, j.site, j.state, w(j.registered_at)),)),
        Section("Billing accounts", "CRM: Bill Payments & Receivables Management (Manage Customer Billing)",
                ("account", "parent", "payment", "cycle day", "opened", "dunning", "last billed"),
                tuple((a.id, a.parent_id or "(top)", a.payment_type, str(a.bill_cycle_day), w(a.opened_at),
                       a.dunning_state, w(a.last_billed_at)) for a in j.accounts), (3,)),
        Section("Product orders", "CRM: Order Handling",
                ("order", "offering", "account", "state", "submitted", "completed", "service order", "failure"),
                tuple((o.id, o.offering, _opt(o.billing_account_id), o.state, w(o.submitted_at), w(o.completed_at),
                       _opt(o.service_order_id), _opt(o.failure)) for o in j.product_orders)),
        Section("Service orders", "SM&O: Service Configuration & Activation",
                ("service order", "product order", "service", "state", "created", "completed", "attempts", "failure"),
                tuple((o.id, o.product_order_id, o.service_id, o.state, w(o.created_at), w(o.completed_at),
                       str(o.attempts), _opt(o.failure)) for o in j.service_orders), (6,)),
        Section("Work orders", "RM&O: Resource Provisioning (installations), Resource Trouble Management (repairs)",
                ("work order", "kind", "site", "state", "issued", "started", "completed", "for"),
                tuple((x.id, x.kind, x.site, x.state, w(x.issued_at), w(x.started_at), w(x.completed_at),
                       x.service_order_id or x.incident_id or "") for x in j.work_orders)),
        Section("Services (service inventory)", "SM&O: Service Configuration & Activation",
                ("service", "offering", "account", "site", "state", "operational", "bandwidth", "path", "activated",
                 "terminated", "earlier offerings"),
                tuple((s.id, s.offering, s.billing_account_id, s.site,
                       s.state + (f" ({s.suspension_reason})" if s.suspension_reason else ""), s.operational_state,
                       _mbps(s.bandwidth_bps), _path(s.path), w(s.activated_at), w(s.terminated_at),
                       "; ".join(f"{o} until {w(u)}" for u, o in s.offering_history)) for s in j.services), (6,)),
        Section("Resources on the services' paths (resource inventory)", "RM&O: Resource Provisioning",
                ("resource", "kind", "capacity", "latency", "gateway", "used by"),
                tuple((r.id, r.kind, "" if r.capacity_bps is None else _mbps(r.capacity_bps),
                       "" if r.latency_s is None else f"{r.latency_s * 1000:.2f} ms", _yes(r.gateway),
                       ", ".join(r.services)) for r in j.resources), (2, 3)),
        Section("Alarms that hit its services", "RM&O: Resource Trouble Management",
                ("alarm", "object", "severity", "cause", "root cause", "raised", "cleared", "incident", "planned"),
                tuple((a.id, f"{a.object_type} {a.alarmed_object}", a.severity, a.probable_cause,
                       "yes" if a.root_cause else f"no ({_opt(a.parent_id)})", w(a.raised_at), w(a.cleared_at),
                       _opt(a.incident_id), _yes(a.planned)) for a in j.alarms)),
        Section("Incidents that hit its services", "SM&O: Service Problem Management",
                ("incident", "root cause", "state", "opened", "resolved", "services", "customers",
                 f"revenue at risk ({j.currency})", "its services", "planned"),
                tuple((i.id, i.root_object, i.state, w(i.opened_at), w(i.resolved_at), f"{i.services:,}",
                       f"{i.customers:,}", _dec(i.revenue_at_risk), ", ".join(i.customer_services), _yes(i.planned))
                      for i in j.incidents), (5, 6, 7)),
        Section("Trouble tickets", "CRM: Problem Handling",
                ("ticket", "services", "incident", "channel", "severity", "state", "created", "resolved", "closed",
                 "calls"),
                tuple((t.id, ", ".join(t.service_ids), _opt(t.incident_id), t.channel, t.severity, t.state,
                       w(t.created_at), w(t.resolved_at), w(t.closed_at), str(t.calls)) for t in j.tickets), (9,)),
        Section("SLA breaches (from the event log)", "CRM: Customer QoS/SLA Management",
                ("period end", "service", "metric", "target", "measured"),
                tuple((w(b.at), b.service_id, b.metric, b.target, b.measured) for b in j.sla_breaches)),
        Section("Customer experience per bill period", "CRM: Customer QoS/SLA Management",
                ("account", "period end", "index", "outage min", "latency ms", "loss", "ticket h", "bill shock"),
                tuple((x.billing_account_id, w(x.period_end), f"{x.index:.2f}", f"{x.outage_minutes:.1f}",
                       f"{x.latency_ms:.2f}", f"{x.loss:.2%}", f"{x.ticket_hours:.2f}", _yes(x.bill_shock))
                      for x in j.experience), (2, 3, 4, 5, 6)),
        Section("Usage per bill period", "SM&O: Service Guiding & Mediation -> CRM: Charging -> "
                                         "CRM: Bill Invoice Management",
                ("service", "account", "from", "to", "records", "bytes", f"rated ({j.currency})", "bill",
                 f"usage line ({j.currency})"),
                tuple((u.service_id, u.billing_account_id, w(u.period_start), w(u.period_end), f"{u.records:,}",
                       f"{u.volume_bytes:,}", _dec(u.charge), _opt(u.bill_id), _dec(u.billed)) for u in j.usage),
                (4, 5, 6, 8)),
        Section("Bills", "CRM: Bill Invoice Management",
                ("bill", "account", "from", "to", "issued", "due", "state", f"amount ({j.currency})",
                 f"paid ({j.currency})", "settled", "reminded"),
                tuple((b.id, b.billing_account_id, w(b.period_start), w(b.period_end), w(b.issued_at), w(b.due_at),
                       b.state, _dec(b.amount), _dec(b.paid), w(b.settled_at), w(b.reminded_at)) for b in j.bills),
                (7, 8)),
        Section("Bill lines", "CRM: Bill Invoice Management",
                ("bill", "service", "kind", "description", "quantity", f"amount ({j.currency})"),
                tuple((b.id, _opt(x.service_id), x.kind, x.description, f"{x.quantity:,}", _dec(x.amount))
                      for b in j.bills for x in b.lines), (4, 5)),
        Section("Payments (from the event log)", "CRM: Bill Payments & Receivables Management",
                ("received", "bill", f"amount ({j.currency})"),
                tuple((w(p.at), p.bill_id, _dec(p.amount)) for p in j.payments), (2,)),
        Section("Prepaid balances", "CRM: Charging",
                ("account", f"topped up ({j.currency})", f"charged online ({j.currency})",
                 f"balance at the end ({j.currency})"),
                tuple((p.billing_account_id, _dec(p.topped_up), _dec(p.charged), _dec(p.balance)) for p in j.prepaid),
                (1, 2, 3)),
    ]  # fmt: skip
    return [s for s in out if s.rows]


def _stage_label(step: Step) -> str:
    return f"{step.vertical} · {ABBREVIATIONS.get(step.layer, step.layer)}"


def _natural_width(section: Section) -> int:
    """The width a section's table takes unwrapped (cells, padding, borders)."""
    widths = [max([len(h)] + [len(row[i]) for row in section.rows]) for i, h in enumerate(section.headers)]
    return sum(widths) + 3 * len(widths)


def _section_table(section: Section, width: int) -> Table:
    """A section as a table when it fits ``width``; otherwise one record a row, its fields as ``name value`` text."""
    table = Table(title=Text(f"{section.title} — {section.where}"), title_justify="left", box=box.SIMPLE_HEAD,
                  pad_edge=False)
    if _natural_width(section) <= width:
        for i, header in enumerate(section.headers):
            table.add_column(Text(header), justify="right" if i in section.numeric else "left", overflow="fold")
        for row in section.rows:
            table.add_row(*(Text(cell) for cell in row))
        return table
    table.add_column(Text(section.headers[0]), no_wrap=True)
    table.add_column(Text("; ".join(section.headers[1:])), overflow="fold", ratio=1)
    for row in section.rows:
        rest = Text()
        for header, value in zip(section.headers[1:], row[1:]):
            if value:
                rest.append(f"{header} " if rest.plain == "" else f"; {header} ", style="dim")
                rest.append(value)
        table.add_row(Text(row[0]), rest)
    table.show_header = False
    return table


def render_text(journey: Journey, width: int = 100) -> Group:
    """The journey for a terminal of ``width`` columns (also without colour, or piped): the timeline of steps
    (time, eTOM process, what happened, records touched), then the records each domain holds at the end."""
    j = journey
    head = Text()
    head.append(f"{j.name} ({j.customer_id})", style="bold")
    head.append(f": {j.segment}, {j.party_type}, site {j.site}, {j.state} at the end of the run {j.run!r}\n")
    head.append(f"{len(j.steps)} steps through {len(j.processes)} eTOM level-2 processes: " + ", ".join(j.processes))
    timeline = Table(title=Text("Journey (events.jsonl, in log order)"), title_justify="left", box=box.SIMPLE_HEAD,
                     pad_edge=False)
    timeline.add_column(Text("#"), justify="right", style="dim", no_wrap=True)
    timeline.add_column(Text("time (UTC)"), no_wrap=True)
    timeline.add_column(Text("eTOM process"), width=27)
    timeline.add_column(Text("what happened [records touched]"), ratio=1)
    for s in j.steps:
        process = Text(s.process, style="bold")
        process.append(f"\n{_stage_label(s)}", style="dim")
        what = Text(s.text)
        if s.records:
            what.append(f"\n[{', '.join(s.records)}]", style="dim")
        timeline.add_row(Text(str(s.seq)), Text(s.time.replace("T", " ")[:16]), process, what)
    return Group(head, timeline, *(_section_table(section, width) for section in sections(j)))


VERTICAL_COLOURS = {FULFILLMENT: "#2f6fb3", ASSURANCE: "#c0392b", BILLING: "#2e8b57", SUPPORT: "#7f8c8d"}


def render_html(journey: Journey) -> Markup:
    """The journey as an HTML fragment for ``report.html`` (``sim/templates/journey.html``; autoescaped, inline
    styles only, nothing loaded from elsewhere)."""
    j = journey
    steps = [{"seq": s.seq, "time": s.time.replace("T", " ").rstrip("Z"), "process": s.process,
              "vertical": s.vertical, "layer": ABBREVIATIONS.get(s.layer, s.layer), "type": s.type, "text": s.text,
              "records": ", ".join(s.records), "colour": VERTICAL_COLOURS.get(s.vertical, "#555")}
             for s in j.steps]  # fmt: skip
    return Markup(pages.get_template("journey.html").render(
        j=j, steps=steps, sections=sections(j), processes=j.processes,
        colours={v: c for v, c in VERTICAL_COLOURS.items() if any(s.vertical == v for s in j.steps)}))


def _plain(value):
    """A record's value as JSON: Decimal as exact text, tuples and dataclasses unpacked."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def to_json(journey: Journey) -> dict:
    """The journey as plain JSON (money as decimal text, times as seconds from the start and UTC text)."""
    out = {f.name: _plain(getattr(journey, f.name)) for f in fields(journey) if f.name != "calendar"}
    out["start"] = journey.calendar.epoch.isoformat().replace("+00:00", "Z")
    out["processes"] = list(journey.processes)
    return out

