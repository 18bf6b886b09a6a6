"""Performance management, threshold crossings, the experience index and the customer's view."""

from datetime import datetime
from decimal import Decimal

import networkx as nx
import numpy as np
import pytest

from oss_bss import commands as c
from oss_bss.bus import MessageBus
from oss_bss.catalog import Catalog, ProductOffering
from oss_bss.experience import experience_index
from oss_bss.operator import Operator
from oss_bss.sla import SlaTemplate
from sim.network import SimulatedNetwork
from sim.topology import Topology

DAY = 86_400.0
FAST = SlaTemplate("fast", Decimal("99"), credit_percent=Decimal("5"), max_latency_ms=1500.0)


@pytest.fixture
def world():
    g = nx.MultiGraph()
    # 8 Mbit/s links of 1 s latency each: a busy hour is easy to make.
    for a, b in [("gw", "a"), ("a", "b")]:
        g.add_edge(a, b, key=f"{a}--{b}", id=f"{a}--{b}", capacity_bps=8_000_000, latency_s=1.0)
    bus = MessageBus()
    net = SimulatedNetwork(Topology("line", g, ("gw",)), publish=bus.handle, packet_bytes=1000, buffer_packets=100)
    catalog = Catalog([ProductOffering("biz", "Business", 10, Decimal("100.00"), Decimal("0"), sla=FAST)])
    op = Operator(bus, catalog, net, epoch=datetime(2026, 4, 1), currency="EUR", thresholds=(0.8, 0.7))
    cid = bus.handle(c.RegisterCustomer(0.0, "Acme", "enterprise", "it@acme.example", "1 Main St", "b"))
    bus.handle(c.SubmitProductOrder(0.0, cid, "biz"))
    bus.handle(c.CompleteWorkOrder(1.0, list(op.records.work_orders)[-1]))
    service = op.records.services.by_key[0]

    def hour(h: int, mbps: float):
        """Offer ``mbps`` for hour ``h``, then let the operator collect KPIs and usage."""
        t0, t1 = h * 3600.0, (h + 1) * 3600.0
        net.carry(np.array([service.network_ref]), np.array([int(mbps * 1e6 / 8 * 3600)]), t0, t1)
        bus.handle(c.CollectKpis(t1))
        bus.handle(c.CollectUsage(t1))

    return op, bus, net, cid, service, hour


def test_a_busy_link_raises_a_threshold_alarm_that_clears_with_hysteresis(world):
    op, bus, net, cid, service, hour = world
    hour(0, 2.0)  # 25 %
    assert len(op.assurance.alarms) == 0
    hour(1, 7.0)  # 87.5 %: over 80 %
    alarms = list(op.assurance.alarms)
    assert {a.alarmed_object for a in alarms} == {"gw--a", "a--b"}
    assert {(a.alarm_type, a.probable_cause, a.perceived_severity) for a in alarms} == {
        ("qualityOfServiceAlarm", "thresholdCrossed", "minor")}
    assert op.assurance.incidents == {}  # a QoS alarm is not an outage
    hour(2, 6.0)  # 75 %: under 80 % but not under 70 %: still raised
    assert all(a.active for a in alarms)
    hour(3, 4.0)  # 50 %: cleared
    assert not any(a.active for a in alarms)
    series = op.performance.link_series()
    assert series["utilisation"].shape == (4, 2) and series["utilisation"][1].tolist() == [0.875, 0.875]


def test_service_kpis_feed_a_latency_sla_and_the_customer_view(world):
    op, bus, net, cid, service, hour = world
    for h in range(24):
        hour(h, 7.5 if h % 2 else 1.0)  # every other hour near saturation: queueing delay
    (view,) = op.customer_view(cid)
    assert view["service_id"] == service.id and view["operational_state"] == "up"
    assert view["kpis"]["latency_ms"] == pytest.approx(op.performance.service(service.key).last_latency_ms)
    assert view["sla"]["on_track"] and view["sla"]["availability_percent"] == 100.0
    kpis = op.performance.service(service.key)
    assert kpis.intervals == 24 and 2000 < kpis.mean_latency_ms  # 2 s of propagation alone
    (bill_id,) = bus.handle(c.RunBillCycle(30 * DAY))
    credit = [line for line in op.records.bills[bill_id].lines if line.kind == "sla_credit"]
    assert len(credit) == 1 and "latency" in credit[0].description and credit[0].amount == Decimal("-5.00")
    assert op.performance.service(service.key).intervals == 0  # a new period starts
    (experience,) = op.records.experience
    assert experience.customer_id == cid and experience.latency_ms == pytest.approx(kpis.mean_latency_ms)
    assert experience.index == round(80.0 - experience.loss * 2000, 2)  # latency at its cap, and a little loss


def test_outages_take_the_customer_view_off_track(world):
    op, bus, net, cid, service, hour = world
    hour(0, 1.0)
    net.fail_link("a--b", 3600.0)
    hour(1, 1.0)
    (view,) = op.customer_view(cid)
    assert view["operational_state"] == "down"
    assert view["sla"]["availability_percent"] == pytest.approx(50.0, abs=0.1) and not view["sla"]["on_track"]


@pytest.mark.parametrize(
    "outage,latency,loss,tickets,shock,expected",
    [(0, 10, 0, 0, False, 100.0), (60, 10, 0, 0, False, 96.0), (6000, 10, 0, 0, False, 60.0),
     (0, 45, 0, 0, False, 95.0), (0, 10, 0.005, 0, False, 90.0), (0, 10, 0, 3, True, 87.0),
     (6000, 500, 0.5, 100, True, 0.0)],
)  # fmt: skip
def test_the_experience_index(outage, latency, loss, tickets, shock, expected):
    assert experience_index(outage, latency, loss, tickets, shock) == expected
