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
from dataclasses import dataclass, field
from decimal import Decimal

from oss_bss import events as e
from oss_bss.alarms import CABLE_CUT, EQUIPMENT_MALFUNCTION, LOSS_OF_SIGNAL, Alarm, AlarmList
from oss_bss.bus import MessageBus
from oss_bss.catalog import Catalog
from oss_bss.money import ZERO
from oss_bss.ports import NetworkTopology
from oss_bss.records import Records


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
    revenue_at_risk: Decimal = ZERO  # monthly recurring revenue of the impacted services
    state: str = "open"
    resolved_at: float | None = None


class Assurance:
    """Alarm management, correlation and incident management on the bus."""

    def __init__(self, bus: MessageBus, records: Records, catalog: Catalog, topology: NetworkTopology,
                 window: float = 60.0):  # fmt: skip
        self.bus, self.records, self.catalog, self.window = bus, records, catalog, window
        self.alarms = AlarmList()
        self.incidents: dict[str, Incident] = {}
        self._srlgs_of: dict[str, list[str]] = defaultdict(list)
        self._srlg_links = {g.name: g.links for g in topology.srlgs}
        for group in topology.srlgs:
            for link in group.links:
                self._srlgs_of[link].append(group.name)
        bus.subscribe(e.NodeDown, self._node_down)
        bus.subscribe(e.NodeUp, self._node_up)
        bus.subscribe(e.LinkDown, self._link_down)
        bus.subscribe(e.LinkUp, self._link_up)
        bus.subscribe(e.ServiceRerouted, self._rerouted)

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
        old.state, old.resolved_at = "merged", at
        self.bus.emit(e.IncidentMerged(at, old.id, into.id))
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
        incident.revenue_at_risk = sum(
            (self.catalog.get(services.get(s).offering_id).monthly_price for s in incident.services), ZERO
        )
        incident.customers = {services.get(s).customer_id for s in incident.services}

    def _report(self, incident: Incident, at: float) -> None:
        self.bus.emit(e.IncidentImpactAssessed(
            at, incident.id, len(incident.services), len(incident.customers), incident.revenue_at_risk,
        ))  # fmt: skip

    def impact_of(self, links: list[str]) -> tuple[set[str], set[str], Decimal]:
        """What losing ``links`` would hit: services, customers, monthly revenue (for what-if)."""
        probe = Incident("probe", "", 0.0, False)
        self._impact(probe, links)
        return probe.services, probe.customers, probe.revenue_at_risk

