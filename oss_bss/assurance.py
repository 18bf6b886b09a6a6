"""Trouble to resolve, first part: alarms, root cause, incidents and their impact.

Network events become alarms (:mod:`oss_bss.alarms`). Correlation ties
symptoms to their root cause with the operator's own records of the plant:

* a node down explains the alarms of its links (the network reports the node
  first, then each link);
* two or more links of one shared-risk group going down together (within
  ``window`` seconds) are explained by the group: a cable or duct cut.

Each root cause opens one incident. From the service inventory, an incident
lists the services whose path crosses its failed resources, their customers,
and the monthly recurring revenue at risk; protected services the network
moved around the failure are listed apart. An incident is resolved when its
last alarm clears.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from dataclasses import dataclass, field
from decimal import Decimal

from oss_bss import commands as c
from oss_bss import events as e
from oss_bss.alarms import CABLE_CUT, EQUIPMENT_MALFUNCTION, LOSS_OF_SIGNAL, THRESHOLD_CROSSED, Alarm, AlarmList
from oss_bss.bus import MessageBus
from oss_bss.catalog import Catalog
from oss_bss.lifecycle import TROUBLE_TICKET, WORK_ORDER
from oss_bss.money import ZERO
from oss_bss.ordering import WorkOrder
from oss_bss.ports import KpiBatch, NetworkTopology
from oss_bss.records import Records, get
from oss_bss.tickets import TroubleTicket


@dataclass(slots=True)
class Incident:
    id: str
    root_alarm_id: str
    opened_at: float
    planned: bool
    alarm_ids: list[str] = field(default_factory=list)
    resources: set[str] = field(default_factory=set)  # failed links
    services: set[str] = field(default_factory=set)  # impacted: lost service
    protected: set[str] = field(default_factory=set)  # crossed the failure, rerouted around it
    customers: set[str] = field(default_factory=set)
    slas: set[str] = field(default_factory=set)  # impacted services with an SLA
    revenue_at_risk: Decimal = ZERO  # monthly recurring revenue of the impacted services
    state: str = "open"
    resolved_at: float | None = None
    merged_into: str | None = None
    work_order_id: str | None = None  # the repair dispatched for it


class Assurance:
    """Alarm management, correlation and incident management on the bus."""

    def __init__(self, bus: MessageBus, records: Records, catalog: Catalog, topology: NetworkTopology,
                 window: float = 60.0, thresholds: tuple[float, float] = (0.8, 0.7)):  # fmt: skip
        self.bus, self.records, self.catalog, self.window = bus, records, catalog, window
        self.raise_at, self.clear_below = thresholds  # link utilisation, with hysteresis
        self.alarms = AlarmList()
        self.incidents: dict[str, Incident] = {}
        self.tickets: dict[str, TroubleTicket] = {}
        self._ticket_of: dict[tuple[str, str], str] = {}  # (customer, incident) -> ticket
        self._srlgs_of: dict[str, list[str]] = defaultdict(list)
        self._srlg_links = {g.name: g.links for g in topology.srlgs}
        self._link_index = {link.id: i for i, link in enumerate(topology.links)}
        for group in topology.srlgs:
            for link in group.links:
                self._srlgs_of[link].append(group.name)
        bus.subscribe(e.NodeDown, self._node_down)
        bus.subscribe(e.NodeUp, self._node_up)
        bus.subscribe(e.LinkDown, self._link_down)
        bus.subscribe(e.LinkUp, self._link_up)
        bus.subscribe(e.ServiceRerouted, self._rerouted)
        bus.subscribe(e.WorkOrderStarted, self._repair_started)
        bus.subscribe(e.ServiceStateChanged, self._service_changed)
        bus.register(c.ReportTrouble, self.report_trouble)
        bus.register(c.CloseTroubleTicket, self.close_ticket)

    # -- alarms ----------------------------------------------------------

    def _raise(self, at: float, obj: str, kind: str, cause: str, severity: str, problem: str, planned: bool) -> Alarm:
        active = self.alarms.active(obj, cause)
        if active is not None:
            active.repeat(at)
            return active
        alarm_type = "equipmentAlarm" if kind == "node" else "communicationsAlarm"
        alarm = Alarm(self.records.new_id("ALM"), obj, kind, alarm_type, "warning" if planned else severity,
                      cause, problem, at, planned)  # fmt: skip
        self.alarms.add(alarm)
        self.bus.emit(e.AlarmRaised(at, alarm.id, obj, kind, alarm.perceived_severity, cause, planned))
        return alarm

    def _clear(self, at: float, obj: str, cause: str) -> None:
        alarm = self.alarms.clear(obj, cause, at)
        if alarm is None:
            return
        self.bus.emit(e.AlarmCleared(at, alarm.id, obj))
        incident = self.incidents.get(alarm.incident_id or "")
        if incident is not None and incident.state == "open":
            if all(not self.alarms.all[a].active for a in incident.alarm_ids):
                incident.state, incident.resolved_at = "resolved", at
                self.bus.emit(e.IncidentResolved(at, incident.id, at - incident.opened_at))
                self._cancel_repair(incident, at, "incident resolved")
                for ticket in self.tickets.values():
                    if ticket.incident_id == incident.id and ticket.state in ("acknowledged", "inProgress"):
                        self._move(ticket, "resolved", at)

    # -- threshold crossings --------------------------------------------

    def check_thresholds(self, batch: KpiBatch) -> None:
        """A link over ``raise_at`` utilisation raises a QoS alarm; it clears under ``clear_below``."""
        for i in np.flatnonzero(batch.utilisation >= self.raise_at):
            link = batch.link_ids[i]
            if self.alarms.active(link, THRESHOLD_CROSSED) is None:
                severity = "major" if batch.utilisation[i] >= 1.0 else "minor"
                alarm = self._raise(batch.end, link, "link", THRESHOLD_CROSSED, severity,
                                    f"utilisation {batch.utilisation[i]:.0%} over {self.raise_at:.0%}", False)  # fmt: skip
                alarm.alarm_type = "qualityOfServiceAlarm"
        for (obj, cause), alarm in list(self.alarms.active_items()):
            if cause == THRESHOLD_CROSSED:
                i = self._link_index.get(obj)
                if i is not None and batch.utilisation[i] < self.clear_below:
                    self._clear(batch.end, obj, THRESHOLD_CROSSED)

    # -- network events --------------------------------------------------

    def _node_down(self, event: e.NodeDown) -> None:
        alarm = self._raise(event.at, event.node, "node", EQUIPMENT_MALFUNCTION, "critical",
                            f"node {event.node} unreachable", event.planned)  # fmt: skip
        if alarm.incident_id is None:
            self._open_incident(alarm, event.at)

    def _node_up(self, event: e.NodeUp) -> None:
        self._clear(event.at, event.node, EQUIPMENT_MALFUNCTION)

    def _link_down(self, event: e.LinkDown) -> None:
        at, link = event.at, event.link_id
        alarm = self._raise(at, link, "link", LOSS_OF_SIGNAL, "critical", f"loss of signal on {link}", event.planned)
        if alarm.count > 1:
            return
        parent = self._node_cause(link)
        if parent is None:
            parent = self._srlg_cause(link, at, event.planned)
        if parent is not None:
            alarm.correlate(parent, at)
            self.bus.emit(e.AlarmCorrelated(at, alarm.id, parent.id))
            self._join(self.incidents[parent.incident_id], alarm, at)
        else:
            self._open_incident(alarm, at)

    def _link_up(self, event: e.LinkUp) -> None:
        self._clear(event.at, event.link_id, LOSS_OF_SIGNAL)
        for group in self._srlgs_of.get(event.link_id, ()):
            if all(self.alarms.active(link, LOSS_OF_SIGNAL) is None for link in self._srlg_links[group]):
                self._clear(event.at, group, CABLE_CUT)

    def _rerouted(self, event: e.ServiceRerouted) -> None:
        for incident in self.incidents.values():
            if incident.state == "open" and event.service_id in incident.services:
                incident.services.discard(event.service_id)
                incident.protected.add(event.service_id)
                self._price(incident)

    # -- correlation -----------------------------------------------------

    def _node_cause(self, link: str) -> Alarm | None:
        resource = self.records.resources.get(link)
        for node in (resource.a, resource.b) if resource else ():
            alarm = self.alarms.active(node, EQUIPMENT_MALFUNCTION)
            if alarm is not None:
                return alarm
        return None

    def _srlg_cause(self, link: str, at: float, planned: bool) -> Alarm | None:
        for group in self._srlgs_of.get(link, ()):
            existing = self.alarms.active(group, CABLE_CUT)
            if existing is not None:
                return existing
            together = [
                a for other in self._srlg_links[group] if other != link
                if (a := self.alarms.active(other, LOSS_OF_SIGNAL)) is not None and at - a.raised_time <= self.window
            ]  # fmt: skip
            if not together:
                continue
            root = self._raise(at, group, "srlg", CABLE_CUT, "critical",
                               f"shared-risk group {group}: {len(together) + 1} links lost together", planned)  # fmt: skip
            incident = self._open_incident(root, at)
            for symptom in together:  # the links that went first were their own incidents until now
                previous = self.incidents.get(symptom.incident_id or "")
                symptom.correlate(root, at)
                self.bus.emit(e.AlarmCorrelated(at, symptom.id, root.id))
                if previous is not None and previous.root_alarm_id == symptom.id:
                    self._merge(previous, incident, at)
                else:
                    self._join(incident, symptom, at)
            return root
        return None

    # -- incidents and impact -------------------------------------------

    def _open_incident(self, root: Alarm, at: float) -> Incident:
        incident = Incident(self.records.new_id("INC"), root.id, at, root.planned)
        self.incidents[incident.id] = incident
        root.incident_id = incident.id
        incident.alarm_ids.append(root.id)
        if root.alarmed_object_type == "link":
            self._impact(incident, [root.alarmed_object])
        self.bus.emit(e.IncidentOpened(at, incident.id, root.id, root.alarmed_object, incident.planned))
        self._report(incident, at)
        if not incident.planned:
            self._dispatch_repair(incident, root.alarmed_object, at)
        return incident

    def _join(self, incident: Incident, alarm: Alarm, at: float) -> None:
        alarm.incident_id = incident.id
        incident.alarm_ids.append(alarm.id)
        if alarm.alarmed_object_type == "link":
            self._impact(incident, [alarm.alarmed_object])
            self._report(incident, at)

    def _merge(self, old: Incident, into: Incident, at: float) -> None:
        """A link's own incident turns out to be part of a bigger one."""
        for alarm_id in old.alarm_ids:
            self.alarms.all[alarm_id].incident_id = into.id
            into.alarm_ids.append(alarm_id)
        self._impact(into, list(old.resources))
        old.state, old.resolved_at, old.merged_into = "merged", at, into.id
        self.bus.emit(e.IncidentMerged(at, old.id, into.id))
        self._cancel_repair(old, at, f"merged into {into.id}")
        for (customer, incident_id), ticket_id in list(self._ticket_of.items()):
            if incident_id == old.id:
                self.tickets[ticket_id].incident_id = into.id
                self._ticket_of[(customer, into.id)] = ticket_id
        self._report(into, at)

    def _impact(self, incident: Incident, links: list[str]) -> None:
        """Services on the failed links, from the inventory, and what they are worth a month."""
        services = self.records.services
        for link in links:
            incident.resources.add(link)
            for service_id in self.records.services_on_link.get(link, ()):
                if service_id not in incident.protected:
                    incident.services.add(service_id)
        incident.customers = {services.get(s).customer_id for s in incident.services}
        self._price(incident)

    def _price(self, incident: Incident) -> None:
        services = self.records.services
        offerings = {s: self.catalog.get(services.get(s).offering_id) for s in incident.services}
        incident.revenue_at_risk = sum((o.monthly_price for o in offerings.values()), ZERO)
        incident.customers = {services.get(s).customer_id for s in incident.services}
        incident.slas = {s for s, o in offerings.items() if o.sla is not None}

    def _report(self, incident: Incident, at: float) -> None:
        self.bus.emit(e.IncidentImpactAssessed(
            at, incident.id, len(incident.services), len(incident.customers), len(incident.slas),
            incident.revenue_at_risk,
        ))  # fmt: skip
        if not incident.planned:
            self._open_sla_tickets(incident, at)

    # -- repair and trouble tickets ---------------------------------------

    def _dispatch_repair(self, incident: Incident, obj: str, at: float) -> None:
        """Workforce management: a repair work order for the root cause."""
        r = self.records
        work = WorkOrder(r.new_id("WO"), None, None, obj, "repair", at, incident_id=incident.id)
        r.work_orders[work.id] = work
        incident.work_order_id = work.id
        self.bus.emit(e.WorkOrderIssued(at, work.id, None, None, obj, "repair", incident.id))

    def _cancel_repair(self, incident: Incident, at: float, why: str) -> None:
        work = self.records.work_orders.get(incident.work_order_id or "")
        if work is not None and work.state == "issued":
            WORK_ORDER.move(work, "cancelled")
            work.completed_at = at
            self.bus.emit(e.WorkOrderCancelled(at, work.id, why))

    def _repair_started(self, event: e.WorkOrderStarted) -> None:
        """The NOC owns the incident: its alarms are acknowledged, its tickets in progress."""
        incident = self.incidents.get(event.incident_id or "")
        for alarm_id in incident.alarm_ids if incident else ():
            alarm = self.alarms.all[alarm_id]
            if alarm.active and alarm.ack_state != "acknowledged":
                alarm.acknowledge(event.at)
                self.bus.emit(e.AlarmAcknowledged(event.at, alarm.id, alarm.alarmed_object))
        for ticket in self.tickets.values():
            if ticket.incident_id == event.incident_id and ticket.state == "acknowledged":
                self._move(ticket, "inProgress", event.at)

    def _open_sla_tickets(self, incident: Incident, at: float) -> None:
        """Customers with an SLA get a ticket the moment an incident hits them."""
        services = self.records.services
        hit: dict[str, list[str]] = defaultdict(list)
        for service_id in sorted(incident.services):
            service = services.get(service_id)
            if self.catalog.get(service.offering_id).sla is not None:
                hit[service.customer_id].append(service_id)
        for customer_id, service_ids in sorted(hit.items()):
            if (customer_id, incident.id) not in self._ticket_of:
                self._new_ticket(customer_id, service_ids, incident, "automatic", "critical", at)

    def _new_ticket(self, customer_id, service_ids, incident, channel, severity, at) -> TroubleTicket:
        what = f"service lost: {incident.id} on {self.alarms.all[incident.root_alarm_id].alarmed_object}" if incident else "service lost"
        ticket = TroubleTicket(self.records.new_id("TT"), customer_id, list(service_ids),
                               incident.id if incident else None, channel, severity, what, at)  # fmt: skip
        self.tickets[ticket.id] = ticket
        if incident is not None:
            self._ticket_of[(customer_id, incident.id)] = ticket.id
            work = self.records.work_orders.get(incident.work_order_id or "")
            if work is not None and work.state == "inProgress":
                self._move(ticket, "inProgress", at)
        self.bus.emit(e.TroubleTicketCreated(at, ticket.id, customer_id, tuple(service_ids), ticket.incident_id, channel))
        return ticket

    def _move(self, ticket: TroubleTicket, state: str, at: float) -> None:
        TROUBLE_TICKET.move(ticket, state)
        setattr(ticket, {"inProgress": "in_progress_at", "resolved": "resolved_at", "closed": "closed_at"}[state], at)
        self.bus.emit(e.TroubleTicketStateChanged(at, ticket.id, ticket.customer_id, state))

    def _incident_of(self, service_id: str) -> Incident | None:
        for incident in self.incidents.values():
            if incident.state == "open" and service_id in incident.services:
                return incident
        return None

    def report_trouble(self, cmd: c.ReportTrouble) -> str:
        """Problem handling: a customer's call joins what is known, or opens a ticket."""
        service = self.records.services.get(cmd.service_id)
        customer = get(self.records.customers, "Customer", cmd.customer_id)
        incident = self._incident_of(service.id)
        if incident is not None and (customer.id, incident.id) in self._ticket_of:
            ticket = self.tickets[self._ticket_of[(customer.id, incident.id)]]
            ticket.calls += 1
            ticket.notes.append((cmd.at, "customer called"))
            self.bus.emit(e.TroubleTicketLinked(cmd.at, ticket.id, customer.id, incident.id))
            return ticket.id
        severity = "critical" if self.catalog.get(service.offering_id).sla is not None else "major"
        ticket = self._new_ticket(customer.id, [service.id], incident, "customer", severity, cmd.at)
        ticket.calls = 1
        if incident is not None:
            self.bus.emit(e.TroubleTicketLinked(cmd.at, ticket.id, customer.id, incident.id))
        return ticket.id

    def _service_changed(self, event: e.ServiceStateChanged) -> None:
        """A ticket with no incident behind it is resolved when its service is back."""
        if event.operational_state != "up":
            return
        for ticket in self.tickets.values():
            if ticket.incident_id is None and ticket.state in ("acknowledged", "inProgress") and event.service_id in ticket.service_ids:
                self._move(ticket, "resolved", event.at)

    def close_ticket(self, cmd: c.CloseTroubleTicket) -> None:
        self._move(get(self.tickets, "TroubleTicket", cmd.ticket_id), "closed", cmd.at)

    def impact_of(self, links: list[str]) -> tuple[set[str], set[str], Decimal]:
        """What losing ``links`` would hit: services, customers, monthly revenue (for what-if)."""
        probe = Incident("probe", "", 0.0, False)
        self._impact(probe, links)
        return probe.services, probe.customers, probe.revenue_at_risk

