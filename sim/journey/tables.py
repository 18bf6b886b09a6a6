"""The records of a journey by domain, as text tables: one :class:`Section` per domain that holds any.

Each section says where it sits in eTOM (the horizontal grouping and process that keeps the records)
and holds its rows as text, already formatted (times in UTC minutes, money as exact decimal text,
bandwidth in Mbit/s), so that the terminal and the HTML views (:mod:`sim.journey.render`) show the
same cells; ``numeric`` names the columns to right-align.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.journey.records import Journey
from sim.journey.sentences import mbps, path_text
from sim.report.files import exact


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
                       mbps(s.bandwidth_bps), path_text(s.path), w(s.activated_at), w(s.terminated_at),
                       "; ".join(f"{o} until {w(u)}" for u, o in s.offering_history)) for s in j.services), (6,)),
        Section("Resources on the services' paths (resource inventory)", "RM&O: Resource Provisioning",
                ("resource", "kind", "capacity", "latency", "gateway", "used by"),
                tuple((r.id, r.kind, "" if r.capacity_bps is None else mbps(r.capacity_bps),
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
                       f"{i.customers:,}", exact(i.revenue_at_risk), ", ".join(i.customer_services), _yes(i.planned))
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
                       f"{u.volume_bytes:,}", exact(u.charge), _opt(u.bill_id), exact(u.billed)) for u in j.usage),
                (4, 5, 6, 8)),
        Section("Bills", "CRM: Bill Invoice Management",
                ("bill", "account", "from", "to", "issued", "due", "state", f"amount ({j.currency})",
                 f"paid ({j.currency})", "settled", "reminded"),
                tuple((b.id, b.billing_account_id, w(b.period_start), w(b.period_end), w(b.issued_at), w(b.due_at),
                       b.state, exact(b.amount), exact(b.paid), w(b.settled_at), w(b.reminded_at)) for b in j.bills),
                (7, 8)),
        Section("Bill lines", "CRM: Bill Invoice Management",
                ("bill", "service", "kind", "description", "quantity", f"amount ({j.currency})"),
                tuple((b.id, _opt(x.service_id), x.kind, x.description, f"{x.quantity:,}", exact(x.amount))
                      for b in j.bills for x in b.lines), (4, 5)),
        Section("Payments (from the event log)", "CRM: Bill Payments & Receivables Management",
                ("received", "bill", f"amount ({j.currency})"),
                tuple((w(p.at), p.bill_id, exact(p.amount)) for p in j.payments), (2,)),
        Section("Prepaid balances", "CRM: Charging",
                ("account", f"topped up ({j.currency})", f"charged online ({j.currency})",
                 f"balance at the end ({j.currency})"),
                tuple((p.billing_account_id, exact(p.topped_up), exact(p.charged), exact(p.balance))
                      for p in j.prepaid), (1, 2, 3)),
    ]  # fmt: skip
    return [s for s in out if s.rows]
