"""What the run's database holds about one customer, read into the journey's records.

The database (``run.db`` or the URL the run was written to) keeps the records at the end of the
run: the customer, its billing accounts, orders, work orders, services, bills and their lines,
tickets and experience (:func:`read`); the incidents that may have hit its services, their alarms
and repairs (:func:`candidate_incidents`, narrowed once the log is read, see
:mod:`sim.journey.selection`); the resources on its services' paths. Rows become the dataclasses of
:mod:`sim.journey.records`. Ids are asked in chunks (:func:`query_in`) so that a customer with many
bills or a network with many incidents never makes an ``IN (...)`` clause too long for a database.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select

from oss_bss.adapters import sql
from oss_bss.errors import NotFound
from oss_bss.money import CENT
from sim.journey.records import (Account, Alarm, Bill, BillLine, Experience, Incident, ProductOrder, Resource,
                                 Service, ServiceOrder, Ticket, WorkOrder)
from sim.report import data

# The rows of a statement; a database that cannot answer is NotARunFolder naming the folder.
query = data.query
_CHUNK = 500  # ids per IN (...) clause


class UnknownCustomer(NotFound):
    """A customer id the run does not hold."""

    def __init__(self, folder: Path, customer_id: str, first: str | None, last: str | None):
        self.folder, self.kind, self.ident = folder, "Customer", customer_id
        hint = f"its customers are {first} to {last}" if first else "the run has no customer"
        self._say(f"{folder}: no customer {customer_id!r} in this run ({hint})", folder, customer_id, first, last)


def query_in(run: data.Run, statement, column, values) -> list:
    """``statement`` for rows whose ``column`` is one of ``values``, asked in chunks."""
    values = sorted(set(values))
    rows: list = []
    for i in range(0, len(values), _CHUNK):
        rows += query(run, statement.where(column.in_(values[i:i + _CHUNK])))
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


def customer(run: data.Run, customer_id: str):
    """The customer's row; :class:`UnknownCustomer` (naming the run's first and last ids) when there is none."""
    t = sql.customer
    row = query(run, select(t).where(t.c.id == customer_id))
    if not row:
        first, last = query(run, select(func.min(t.c.id), func.max(t.c.id)))[0]
        raise UnknownCustomer(run.folder, customer_id, first, last)
    return row[0]


def offerings(run: data.Run) -> dict[str, str]:
    """The catalogue's names: offering id -> name."""
    t = sql.product_offering
    return dict(query(run, select(t.c.id, t.c.name)))


def resource_rows(run: data.Run) -> list:
    """Every link and node of the network (few rows: the topology)."""
    return query(run, select(sql.resource))


@dataclass
class Records:
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


def read(run: data.Run, customer_id: str, offerings: dict[str, str]) -> Records:
    """The customer's accounts, orders, services, bills, tickets and experience from the database."""
    a, po, so, wo = sql.billing_account, sql.product_order, sql.service_order, sql.work_order
    sv, b, bl, tt, cx = sql.service, sql.customer_bill, sql.bill_line, sql.trouble_ticket, sql.customer_experience
    accounts = [Account(r.id, r.parent_id, r.payment_type, r.bill_cycle_day, r.currency, r.opened_at, r.dunning_state,
                        r.last_billed_at)
                for r in query(run, select(a).where(a.c.customer_id == customer_id))]  # fmt: skip
    accounts.sort(key=lambda x: (x.parent_id is not None, x.id))
    orders = [ProductOrder(r.id, r.offering_id, offerings.get(r.offering_id, r.offering_id), r.billing_account_id,
                           r.state, r.submitted_at, r.completed_at, r.service_order_id,
                           _failure(r.failure_code, r.failure_reason))
              for r in query(run, select(po).where(po.c.customer_id == customer_id).order_by(po.c.id))]  # fmt: skip
    service_orders = [ServiceOrder(r.id, r.product_order_id, r.service_id, r.state, r.created_at, r.completed_at,
                                   r.attempts, _failure(r.failure_code, r.failure_reason))
                      for r in query(run, select(so).where(so.c.customer_id == customer_id).order_by(so.c.id))]
    installs = [_work_order(r) for r in query(run, select(wo).where(wo.c.customer_id == customer_id)
                                                 .order_by(wo.c.id))]  # fmt: skip
    services = [Service(r.id, r.key, r.offering_id, offerings.get(r.offering_id, r.offering_id), r.billing_account_id,
                        r.site, r.state, r.operational_state, r.suspension_reason, r.bandwidth_bps, _listed(r.path),
                        _listed(r.links), r.activated_at, r.terminated_at,
                        tuple((until, oid) for until, oid in _listed(r.offering_history)))
                for r in query(run, select(sv).where(sv.c.customer_id == customer_id).order_by(sv.c.key))]
    bill_rows = query(run, select(b).where(b.c.customer_id == customer_id).order_by(b.c.issued_at, b.c.id))
    lines: dict[str, list[BillLine]] = defaultdict(list)
    for r in query_in(run, select(bl), bl.c.bill_id, [x.id for x in bill_rows]):
        lines[r.bill_id].append(BillLine(r.id, r.service_id, r.kind, r.description, r.quantity, _money_of(r.amount)))
    bills = [Bill(r.id, r.billing_account_id, r.period_start, r.period_end, r.issued_at, r.due_at, r.state,
                  _money_of(r.amount), _money_of(r.paid), r.settled_at, r.reminded_at,
                  tuple(sorted(lines[r.id], key=_line_order)))
             for r in bill_rows]  # fmt: skip
    tickets = [Ticket(r.id, _listed(r.service_ids), r.incident_id, r.channel, r.severity, r.state, r.description,
                      r.created_at, r.resolved_at, r.closed_at, r.calls)
               for r in query(run, select(tt).where(tt.c.customer_id == customer_id).order_by(tt.c.created_at,
                                                                                                  tt.c.id))]
    experience = [Experience(r.billing_account_id, r.period_end, r.index, r.outage_minutes, r.latency_ms, r.loss,
                             r.ticket_hours, bool(r.bill_shock))
                  for r in query(run, select(cx).where(cx.c.customer_id == customer_id)
                                 .order_by(cx.c.period_end, cx.c.billing_account_id))]  # fmt: skip
    return Records(accounts, orders, service_orders, installs, services, bills, tickets, experience)


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


def candidate_incidents(run: data.Run, customer_id: str, rec: Records, nodes: set[str]) -> None:
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
    rows = query(run, select(t).where(t.c.state != "merged", or_(*hits)))
    named = {x.incident_id for x in rec.tickets if x.incident_id}
    named |= {r.incident_id for r in query_in(run, select(al.c.incident_id).where(al.c.alarmed_object_type == "node"),
                                              al.c.alarmed_object, nodes)}  # fmt: skip
    rows += query_in(run, select(t), t.c.id, named - {r.id for r in rows} - {None})
    alarm_ids = {a for r in rows for a in json.loads(r.alarm_ids)}
    rows += query_in(run, select(t).where(t.c.state == "merged"), t.c.root_alarm_id, alarm_ids)
    rec.incidents = {r.id: r for r in rows}
    alarm_ids |= {r.root_alarm_id for r in rows}
    rec.alarms = {r.id: r for r in query_in(run, select(al), al.c.id, alarm_ids)}
    rec.repairs = {r.id: _work_order(r) for r in query_in(run, select(wo), wo.c.incident_id, rec.incidents)}


def resources(rows: list, services: list[Service]) -> tuple[Resource, ...]:
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


def alarms(rec: Records) -> tuple[Alarm, ...]:
    """The alarms that hit the customer's services, in the order they were raised."""
    return tuple(sorted((Alarm(a.id, a.alarmed_object, a.alarmed_object_type, a.perceived_severity, a.probable_cause,
                               a.state, a.raised_time, a.cleared_time, bool(a.is_root_cause), a.parent_id,
                               a.incident_id, bool(a.planned)) for a in rec.alarms.values()),
                        key=lambda a: (a.raised_at, a.id)))


def incidents(rec: Records) -> tuple[Incident, ...]:
    """The incidents that hit the customer's services, in the order they opened, with the services of its they hit."""
    mine = {s.id for s in rec.services}
    out = []
    for i in rec.incidents.values():
        hit = set(json.loads(i.services)) | set(json.loads(i.protected))
        root = rec.alarms.get(i.root_alarm_id)
        out.append(Incident(i.id, i.root_alarm_id, root.alarmed_object if root is not None else "?", i.state,
                            bool(i.planned), i.opened_at, i.resolved_at, len(json.loads(i.services)),
                            len(json.loads(i.customers)), _money_of(i.revenue_at_risk), tuple(sorted(hit & mine))))
    return tuple(sorted(out, key=lambda x: (x.opened_at, x.id)))
