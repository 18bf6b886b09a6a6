"""Which of the candidate events are the customer's, and which incidents, alarms and repairs hit it.

:data:`~sim.journey.etom.ETOM` names, per event type, the fields that tie an event to a customer
(``keys``). An event is a step when one of them names the customer, one of its services, a work
order done for it, or an incident or alarm that hit its services: the incidents whose impact lists
one of its services (cut or rerouted), that its tickets name, or with an alarm raised by a failure
that cut one of its services; of their alarms, the root cause and those on a link or node its
services crossed (then or ever); and incidents merged into them whose root alarm is one of those. A
network event (``LinkDown``) is a step when it names one of the customer's services, and shows only
those. ``UsageRated`` and ``BillRunCompleted`` concern the whole network
(:data:`~sim.journey.etom.NETWORK_WIDE`): they are in no table entry, so never a step.

The candidates come from :mod:`sim.journey.log` (every line holding one of the ids searched for),
the incidents, alarms and repairs from :func:`sim.journey.database.candidate_incidents`; each
candidate event is checked here against the fields of the table, and the incidents, alarms and
repairs are narrowed to those that hit the customer.
"""

from __future__ import annotations

import json

from sim.journey.database import Records
from sim.journey.etom import ETOM
from sim.journey.records import Service


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


def own_events(customer_id: str, rec: Records, events: list[dict], link_of: dict[frozenset, str]) -> list[dict]:
    """The customer's events among the candidates; narrows the incidents, alarms and repairs to those that hit it.

    A standing incident hit the customer when its impact lists the customer or one of its services, its
    tickets name it, or one of its alarms was raised by a failure the network reported with one of the
    customer's services (a service at a node with no link is missing from the impact, see
    :func:`sim.journey.database.candidate_incidents`).
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
