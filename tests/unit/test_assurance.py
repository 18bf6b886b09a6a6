"""Trouble to resolve: alarms, correlation to a root cause, incidents and their impact."""

from datetime import datetime
from decimal import Decimal

import networkx as nx
import pytest

from oss_bss import commands as c
from oss_bss import events as e
from oss_bss.bus import MessageBus
from oss_bss.catalog import Catalog, ProductOffering
from oss_bss.operator import Operator
from oss_bss.ports import SharedRiskGroup
from sim.network import SimulatedNetwork
from sim.topology import Topology


def topology():
    """gw - a - b, gw - c - b; a shared-risk group (the 'duct') holds a--b and c--b."""
    g = nx.MultiGraph()
    for a, b, lat in [("gw", "a", 1.0), ("a", "b", 1.0), ("gw", "c", 2.0), ("c", "b", 2.0)]:
        g.add_edge(a, b, key=f"{a}--{b}", id=f"{a}--{b}", capacity_bps=1000, latency_s=lat)
    return Topology("square", g, ("gw",), (SharedRiskGroup("duct", ("a--b", "c--b")),))


@pytest.fixture
def run():
    log = []
    bus = MessageBus(log.append)
    net = SimulatedNetwork(topology(), publish=bus.handle)
    catalog = Catalog([
        ProductOffering("home", "Home", 10, Decimal("30.00"), Decimal("0")),
        ProductOffering("biz", "Business", 10, Decimal("200.00"), Decimal("0"), protected=True),
    ])  # fmt: skip
    op = Operator(bus, catalog, net, epoch=datetime(2026, 1, 1), currency="EUR")

    def customer(site, offering="home"):
        cid = bus.handle(c.RegisterCustomer(0.0, "X", "residential", "x@example.org", "Road", site))
        bus.handle(c.SubmitProductOrder(0.0, cid, offering))
        wo = list(op.records.work_orders)[-1]
        bus.handle(c.CompleteWorkOrder(1.0, wo))
        return cid

    return op, bus, net, log, customer


def of(log, kind):
    return [x for x in log if isinstance(x, kind)]


def test_a_link_down_raises_one_alarm_repeats_count_and_the_repair_clears_it(run):
    op, bus, net, log, customer = run
    first, second = customer("b"), customer("a")
    net.fail_link("a--b", 100.0)
    (alarm,) = op.assurance.alarms
    assert (alarm.alarmed_object, alarm.probable_cause, alarm.perceived_severity, alarm.alarm_type) == (
        "a--b", "lossOfSignal", "critical", "communicationsAlarm")
    (incident,) = op.assurance.incidents.values()
    assert incident.services == {op.records.services.by_key[0].id} and incident.customers == {first}
    assert incident.revenue_at_risk == Decimal("30.00")
    bus.handle(e.LinkDown(150.0, "a--b", ()))  # the same fault reported again
    assert len(op.assurance.alarms) == 1 and alarm.count == 2
    net.repair_link("a--b", 400.0)
    assert not alarm.active and alarm.cleared_time == 400.0
    assert [what for _, what in alarm.history] == ["raised", "repeated", "cleared"]
    assert incident.state == "resolved" and of(log, e.IncidentResolved)[0].duration_s == 300.0
    assert second not in incident.customers


def test_a_node_down_is_the_root_cause_of_its_links_and_clears_last(run):
    op, bus, net, log, customer = run
    customer("b")
    net.fail_node("a", 10.0)
    alarms = {a.alarmed_object: a for a in op.assurance.alarms}
    node, gw_a, a_b = alarms["a"], alarms["gw--a"], alarms["a--b"]
    assert node.is_root_cause and node.alarm_type == "equipmentAlarm"
    assert gw_a.parent_id == a_b.parent_id == node.id and not gw_a.is_root_cause
    (incident,) = op.assurance.incidents.values()
    assert set(incident.alarm_ids) == {node.id, gw_a.id, a_b.id} and len(incident.services) == 1
    # The network reports the links back before the node: children clear first,
    # the incident stays open until its root cause clears.
    net.repair_node("a", 50.0)
    assert [x.alarmed_object for x in of(log, e.AlarmCleared)] == ["gw--a", "a--b", "a"]
    assert incident.state == "resolved" and incident.resolved_at == 50.0


def test_a_child_cleared_before_its_parent_leaves_the_incident_open(run):
    op, bus, net, log, customer = run
    customer("b")
    net.fail_node("a", 10.0)
    bus.handle(e.LinkUp(20.0, "a--b", ()))  # a symptom clears on its own
    (incident,) = op.assurance.incidents.values()
    assert incident.state == "open"
    bus.handle(e.LinkUp(25.0, "gw--a", ()))
    assert incident.state == "open"
    bus.handle(e.NodeUp(30.0, "a", ("gw--a", "a--b")))
    assert incident.state == "resolved"


def test_links_of_a_shared_risk_group_lost_together_are_one_cable_cut(run):
    op, bus, net, log, customer = run
    customer("b")
    net.hold_links(["a--b", "c--b"], +1, 500.0)
    roots = [a for a in op.assurance.alarms if a.is_root_cause]
    (root,) = roots
    assert (root.alarmed_object, root.alarmed_object_type, root.probable_cause) == ("duct", "srlg", "cableTamper")
    links = [a for a in op.assurance.alarms if a.alarmed_object_type == "link"]
    assert {a.parent_id for a in links} == {root.id}
    open_incidents = [i for i in op.assurance.incidents.values() if i.state == "open"]
    assert len(open_incidents) == 1 and open_incidents[0].root_alarm_id == root.id
    assert open_incidents[0].resources == {"a--b", "c--b"}
    assert [i.state for i in op.assurance.incidents.values()].count("merged") == 1
    net.hold_links(["a--b", "c--b"], -1, 900.0)
    assert not root.active and open_incidents[0].state == "resolved"


def test_links_of_a_group_failing_far_apart_are_separate_faults(run):
    op, bus, net, log, customer = run
    net.fail_link("a--b", 0.0)
    net.fail_link("c--b", 3600.0)
    assert all(a.is_root_cause for a in op.assurance.alarms) and len(op.assurance.incidents) == 2


def test_rerouted_protected_services_leave_the_impact_and_the_revenue_at_risk(run):
    op, bus, net, log, customer = run
    customer("b", "home")
    customer("b", "biz")
    net.fail_link("a--b", 10.0)
    (incident,) = op.assurance.incidents.values()
    assert len(incident.services) == 1 and len(incident.protected) == 1
    assert incident.revenue_at_risk == Decimal("30.00")
    assessed = of(log, e.IncidentImpactAssessed)
    assert assessed[0].revenue_at_risk == Decimal("230.00")  # before the reroute
    assert op.records.services_on_link["c--b"] == {s.id for s in op.records.services if s.offering_id == "biz"}


def test_planned_maintenance_raises_warnings_in_a_planned_incident(run):
    op, bus, net, log, customer = run
    net.fail_link("gw--c", 0.0, planned=True)
    (alarm,) = op.assurance.alarms
    (incident,) = op.assurance.incidents.values()
    assert alarm.planned and alarm.perceived_severity == "warning" and incident.planned


def test_the_operator_keeps_services_up_when_rerouted_and_down_until_their_path_is_whole(run):
    op, bus, net, log, customer = run
    customer("b", "biz")  # protected
    customer("b", "home")
    biz, home = op.records.services.by_key
    net.fail_link("a--b", 10.0)
    assert (biz.operational_state, biz.path) == ("up", ("b", "c", "gw"))
    assert home.operational_state == "down"
    net.fail_link("gw--a", 11.0)
    net.repair_link("a--b", 12.0)
    assert home.operational_state == "down"  # gw--a still cut
    net.repair_link("gw--a", 13.0)
    assert home.operational_state == "up" and biz.operational_state == "up"
