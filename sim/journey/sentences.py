"""One sentence per event: what happened, in the words a trainer reads beside the eTOM process.

:data:`SENTENCES` maps each event type a journey can hold to a function of the event (a line of
``events.jsonl``, parsed) and a :class:`Context` (the run's names for things: offerings, alarmed
objects, the customer's services) that returns the sentence. :func:`describe` gives the sentence of
one event without a run, which is how the table is checked against every event type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from oss_bss.charging import BALANCE_EXHAUSTED
from oss_bss.money import fmt
from oss_bss.periods import Calendar


@dataclass
class Context:
    """What a step's sentence needs besides its event."""

    currency: str
    calendar: Calendar
    offerings: dict[str, str]
    services: set[str]
    alarm_object: dict[str, str]
    work_kind: dict[str, str]
    suspended_for: dict[str, str] = field(default_factory=dict)  # service -> reason of its last suspension


def _money(value, currency: str) -> str:
    return f"{fmt(Decimal(value))} {currency}"


def mbps(bps: int) -> str:
    """A bandwidth in Mbit/s (also in the records' tables)."""
    return f"{bps / 1e6:g} Mbit/s"


def path_text(path) -> str:
    """A path of nodes as text (also in the records' tables)."""
    return " - ".join(path)


def _offering(ctx: Context, offering_id: str) -> str:
    return ctx.offerings.get(offering_id, offering_id)


def own_services(ctx: Context, ids) -> list[str]:
    """Those of ``ids`` that are the customer's services (a network event names every service it hit)."""
    return [s for s in ids or () if s in ctx.services]


def _services_phrase(ids: list[str]) -> str:
    return f"service {ids[0]}" if len(ids) == 1 else "services " + ", ".join(ids)


def _network_event(e: dict, ctx: Context) -> str:
    what = "Link" if e["type"].startswith("Link") else "Node"
    obj = e.get("link_id") or e.get("node")
    down = e["type"].endswith("Down")
    theirs = own_services(ctx, e.get("service_ids"))
    text = f"{what} {obj} {'down' if down else 'up'}"
    if e.get("planned"):
        text += " (planned work)"
    if theirs:
        text += f": {_services_phrase(theirs)} {'down' if down else 'restored'}"
    return text


def _ticket_created(e: dict, ctx: Context) -> str:
    how = "automatically" if e["channel"] == "automatic" else "when the customer called"
    text = f"Trouble ticket {e['ticket_id']} opened {how}"
    if e.get("incident_id"):
        text += f" (incident {e['incident_id']})"
    return text + f" for {_services_phrase(e['service_ids'])}" if e.get("service_ids") else text


_TICKET_STATES = {"inProgress": "in progress", "resolved": "resolved: service restored", "closed": "closed",
                  "acknowledged": "acknowledged", "pending": "pending"}  # fmt: skip


def _resumed(e: dict, ctx: Context) -> str:
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
    "ServiceActivated": lambda e, c: f"Service {e['service_id']} activated on the path {path_text(e['path'])}, "
                                     f"{mbps(e['bandwidth_bps'])} reserved",
    "ServiceModified": lambda e, c: f"Service {e['service_id']} changed from {_offering(c, e['from_offering_id'])} "
                                    f"to {_offering(c, e['to_offering_id'])}, {mbps(e['bandwidth_bps'])} reserved",
    "ServiceModificationRefused": lambda e, c: f"Change of service {e['service_id']} to "
                                               f"{_offering(c, e['to_offering_id'])} refused: {e['reason']}",
    "ServiceMoved": lambda e, c: f"Service {e['service_id']} moved from {e['from_site']} to {e['to_site']}, "
                                 f"new path {path_text(e['path'])}",
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
                                    f"{path_text(e['path'])}",
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
    ctx = Context(currency, calendar or Calendar(datetime(2000, 1, 1, tzinfo=UTC)), {}, set(), {}, {})
    return SENTENCES[event["type"]](event, ctx)
