"""Lifecycle changes: modify (upgrade, downgrade) and cancel, in the network and on the bill."""

from datetime import datetime
from decimal import Decimal

import networkx as nx
import numpy as np
import pytest

from oss_bss import commands as c
from oss_bss import events as e
from oss_bss.bus import MessageBus
from oss_bss.catalog import Catalog, ProductOffering
from oss_bss.errors import InvalidTransition
from oss_bss.operator import Operator
from sim.network import SimulatedNetwork
from sim.topology import Topology

DAY = 86_400.0


@pytest.fixture
def world():
    g = nx.MultiGraph()
    g.add_edge("gw", "a", key="gw--a", id="gw--a", capacity_bps=1000, latency_s=0.001)
    log = []
    bus = MessageBus(log.append)
    net = SimulatedNetwork(Topology("one", g, ("gw",)), publish=bus.handle)
    catalog = Catalog([
        ProductOffering("s", "Small", 100, Decimal("30.00"), Decimal("1")),
        ProductOffering("l", "Large", 600, Decimal("60.00"), Decimal("2")),
        ProductOffering("xl", "Huge", 2000, Decimal("90.00"), Decimal("0")),
    ])  # fmt: skip
    op = Operator(bus, catalog, net, epoch=datetime(2026, 4, 1), currency="EUR")
    cid = bus.handle(c.RegisterCustomer(0.0, "X", "residential", "x@example.org", "Road", "a"))
    bus.handle(c.SubmitProductOrder(0.0, cid, "s"))
    bus.handle(c.CompleteWorkOrder(0.0, list(op.records.work_orders)[-1]))
    return op, bus, net, log, op.records.services.by_key[0]


def test_an_upgrade_mid_cycle_is_provisioned_and_billed_in_two_prorated_parts(world):
    op, bus, net, log, svc = world
    assert bus.handle(c.ModifyService(10 * DAY + 3600, svc.id, "l"))  # 11 April
    assert net.reserved.tolist() == [600] and svc.bandwidth_bps == 600
    (bill_id,) = bus.handle(c.RunBillCycle(30 * DAY))
    recurring = [x for x in op.records.bills[bill_id].lines if x.kind == "recurring"]
    assert [(x.description, x.quantity, x.amount) for x in recurring] == [
        ("Small at 30.00 a month, 10 of 30 days", 10, Decimal("10.00")),
            ("Large at 60.00 a month, 20 of 30 days", 20, Decimal("40.00"))]
    assert [(x.from_offering_id, x.to_offering_id) for x in log if isinstance(x, e.ServiceModified)] == [("s", "l")]


def test_usage_after_a_change_is_rated_at_the_new_price(world):
    op, bus, net, log, svc = world
    net.carry(np.array([svc.network_ref]), np.array([10**9]), 0.0, 3600.0)
    bus.handle(c.CollectUsage(3600.0))
    bus.handle(c.ModifyService(3600.0, svc.id, "l"))
    net.carry(np.array([svc.network_ref]), np.array([10**9]), 3600.0, 7200.0)
    bus.handle(c.CollectUsage(7200.0))
    (bill_id,) = bus.handle(c.RunBillCycle(30 * DAY))
    (usage,) = [x for x in op.records.bills[bill_id].lines if x.kind == "usage"]
    assert usage.amount == Decimal("3.00")  # 1 GB at 1.00, then 1 GB at 2.00


def test_a_change_the_network_cannot_carry_is_refused_and_nothing_changes(world):
    op, bus, net, log, svc = world
    assert not bus.handle(c.ModifyService(DAY, svc.id, "xl"))
    assert svc.offering_id == "s" and net.reserved.tolist() == [100]
    assert isinstance(log[-1], e.ServiceModificationRefused) and "no path" in log[-1].reason


def test_a_cancelled_service_stops_in_the_network_and_is_billed_to_the_day(world):
    op, bus, net, log, svc = world
    bus.handle(c.CancelService(15 * DAY + 7200, svc.id))  # 16 April
    assert net.reserved.tolist() == [0] and svc.state == "terminated"
    assert net.carry(np.array([svc.network_ref]), np.array([10**9]), 15 * DAY, 16 * DAY).tolist() == [0]
    (bill_id,) = bus.handle(c.RunBillCycle(30 * DAY))
    (recurring,) = [x for x in op.records.bills[bill_id].lines if x.kind == "recurring"]
    assert (recurring.quantity, recurring.amount) == (16, Decimal("16.00"))
    assert bus.handle(c.RunBillCycle(61 * DAY)) == []  # nothing after it ended
    with pytest.raises(InvalidTransition):
        bus.handle(c.ModifyService(20 * DAY, svc.id, "l"))
