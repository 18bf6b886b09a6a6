"""One customer's journey through the operator, for a trainer: every step named by its eTOM process.

``trace(folder, customer_id)`` reads a finished run back (nothing is re-run) and returns a
:class:`Journey`: the customer's steps in log order, each named by the eTOM (TM Forum GB921,
Business Process Framework) level-2 Operations process that owns it, with its level-1 groupings
(the vertical: Fulfillment, Assurance, Billing & Revenue Management; the horizontal: Customer
Relationship, Service, Resource Management & Operations), a sentence of what happened and the
records it touched; then the records each domain holds at the end of the run. :func:`render_text`,
:func:`render_html` and :func:`to_json` show the same journey in a terminal, in ``report.html`` and
as JSON. :func:`default_customer` picks the customer whose journey is most instructive.

**Where each part comes from.** The steps from ``events.jsonl``; the records from the run's
database (``run.db`` or the URL the run was written to); usage from ``usage/rated.parquet``,
summed per bill period with NumPy (usage is rated for the whole network each hour, so its events
are not steps: usage -> rating -> bill line is shown per period instead). Two things no table keeps
come from the customer's own events: SLA breaches and payments. A prepaid balance is what was topped
up less what the parquet file charged.

**Modules.** ``etom`` (the process table: which eTOM process owns each event type, and why),
``records`` (the dataclasses a journey is made of), ``database`` (reading them from the run's
database), ``log`` (finding the candidate events in ``events.jsonl`` without parsing it whole),
``selection`` (which candidates are the customer's, which incidents hit it), ``sentences`` (one
sentence per event), ``steps`` (events -> steps), ``usage`` (usage per bill period, prepaid
balances), ``tables`` (the records as text tables), ``render`` (terminal, HTML, JSON). This module
puts them together: :func:`trace` and :func:`default_customer`.
"""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

from sqlalchemy import or_, select

from oss_bss.adapters import sql
from sim.journey import database, log, selection, usage
from sim.journey.database import UnknownCustomer
from sim.journey.etom import ETOM, LAYERS, MARKED_FIELDS, NETWORK_WIDE, PROCESSES, VERTICALS, Stage, stage_of
from sim.journey.records import Journey, Payment, SlaBreach, Step
from sim.journey.render import render_html, render_text, to_json
from sim.journey.sentences import SENTENCES, Context, describe
from sim.journey.steps import steps_of
from sim.journey.tables import Section, sections
from sim.report import data

__all__ = ["trace", "default_customer", "render_text", "render_html", "to_json", "sections", "describe", "stage_of",
           "Journey", "Step", "Stage", "Section", "ETOM", "NETWORK_WIDE", "PROCESSES", "SENTENCES", "VERTICALS",
           "LAYERS", "MARKED_FIELDS", "UnknownCustomer"]  # fmt: skip


def trace(folder: Path, customer_id: str, db_url: str | None = None) -> Journey:
    """The journey of ``customer_id`` in the finished run in ``folder``.

    ``db_url``: the database the run was written to, when not ``run.db`` in the folder. Raises
    :class:`~sim.report.data.NotARunFolder` for a folder that is not a finished run (or misses a part)
    and :class:`UnknownCustomer` for an id the run does not hold.
    """
    with data.open_run(Path(folder), db_url) as run:
        person = database.customer(run, customer_id)
        offerings = database.offerings(run)
        rec = database.read(run, customer_id, offerings)
        resources = database.resource_rows(run)
        events = _events(run, person, rec, {frozenset((x.a, x.b)): x.id for x in resources if x.kind == "link"})
        ctx = Context(run.currency, run.calendar, offerings, {s.id for s in rec.services},
                      {k: a.alarmed_object for k, a in rec.alarms.items()},
                      {w.id: w.kind for w in (*rec.work_orders, *rec.repairs.values())})
        rated = usage.rated(run, rec.services)
        return Journey(
            folder=str(run.folder), run=run.name, calendar=run.calendar, currency=run.currency,
            customer_id=person.id, name=person.name, segment=person.segment, party_type=person.party_type,
            site=person.site, state=person.state, registered_at=person.registered_at, steps=steps_of(events, ctx),
            accounts=tuple(rec.accounts), product_orders=tuple(rec.product_orders),
            service_orders=tuple(rec.service_orders),
            work_orders=tuple(sorted([*rec.work_orders, *rec.repairs.values()], key=lambda w: (w.issued_at, w.id))),
            services=tuple(rec.services), resources=database.resources(resources, rec.services),
            alarms=database.alarms(rec), incidents=database.incidents(rec), tickets=tuple(rec.tickets),
            sla_breaches=tuple(SlaBreach(e["at"], e["service_id"], e["metric"], e["target"], e["measured"])
                               for e in events if e["type"] == "SlaBreached"),
            experience=tuple(rec.experience), bills=tuple(rec.bills),
            payments=tuple(Payment(e["at"], e["bill_id"], Decimal(e["amount"]))
                           for e in events if e["type"] == "PaymentReceived"),
            usage=tuple(usage.usage(run, rec, rated)), prepaid=tuple(usage.prepaid(rec, events, rated)),
        )  # fmt: skip


def _events(run: data.Run, person, rec: database.Records, link_of: dict[frozenset, str]) -> list[dict]:
    """The customer's events in log order: those naming it from its registration on, then, in the windows of
    the incidents that may have hit it, those naming its services, the incidents, alarms and repairs."""
    found = log.customer_events(run, person.id, person.registered_at)
    nodes = {n for s in rec.services for n in s.path} | {n for e in found.values() for n in e.get("path") or ()}
    database.candidate_incidents(run, person.id, rec, nodes)
    found.update(log.incident_events(run, rec))
    return selection.own_events(person.id, rec, [found[k] for k in sorted(found)], link_of)


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
            rare.update(cid for (cid,) in database.query(run, statement))
        incident = sql.incident
        for (customers,) in database.query(run, select(incident.c.customers).where(incident.c.state != "merged")):
            rare.update({cid: 2 for cid in set(json.loads(customers))})
        if rare:
            best = max(rare.values())
            candidates = sorted(cid for cid, n in rare.items() if n == best)[:_CANDIDATES]
        else:
            t = sql.customer
            candidates = [cid for (cid,) in database.query(run, select(t.c.id).order_by(t.c.id).limit(_CANDIDATES))]
        if not candidates:
            return None
        common: Counter[str] = Counter()
        for statement, column in _common_facts():
            common.update(cid for (cid,) in database.query_in(run, statement, column, candidates))
        return min(candidates, key=lambda cid: (-common[cid], cid))
