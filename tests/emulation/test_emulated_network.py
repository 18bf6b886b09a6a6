"""The emulated network for real: reachability, meters, link events and reroute, usage against iperf3."""

from __future__ import annotations

import json
import time
from datetime import datetime
from decimal import Decimal

import pytest

from controllers import flows as fl
from oss_bss import commands as c
from oss_bss import events as e
from oss_bss.ports import ServiceSpec

pytestmark = pytest.mark.emulation


def reaches(host, ip: str) -> bool:
    for _ in range(3):  # a first packet can race the ARP entry; three tries
        if " 0% packet loss" in host.cmd(f"ping -c 1 -W 1 {ip}"):
            return True
    return False


def iperf_report(path) -> dict:
    for _ in range(100):
        try:
            return json.loads(open(path).read())
        except (OSError, ValueError):
            time.sleep(0.1)
    raise AssertionError(f"no iperf3 report in {path}")


def test_sites_reach_each_other_only_while_the_service_is_active(network):
    spec = ServiceSpec("S1", "a", 10_000_000, z_site="c")
    ref, a_host, _, z_host, _ = network.attach_premises(spec)
    z_ip = fl.cpe_ip(ref, "z")
    assert not reaches(a_host, z_ip)  # connected, not provisioned: the table-miss drops
    result = network.activate(spec, 0.0)
    assert result.ok and result.path == ("a", "c")
    assert reaches(a_host, z_ip) and reaches(z_host, fl.cpe_ip(ref))
    assert not reaches(a_host, fl.gateway_ip(0))  # a private line, not internet access
    network.suspend("S1", 10.0)
    assert not reaches(a_host, z_ip)
    network.resume("S1", 20.0)
    assert reaches(a_host, z_ip)
    network.deactivate("S1", 30.0)


def test_a_meter_holds_the_service_to_its_bandwidth(network, tmp_path):
    assert network.activate(ServiceSpec("S1", "a", 10_000_000), 0.0).ok
    svc = network._services["S1"]
    report = tmp_path / "iperf.json"
    proc = network.send(svc, 30_000_000 * 3 // 8, 30_000_000, report=str(report))  # 3 s offered at 30 Mb/s
    proc.wait(timeout=30)
    end = iperf_report(report)["end"]["sum"]
    received_bps = end["bits_per_second"] * (1 - end["lost_percent"] / 100)
    assert received_bps == pytest.approx(10_000_000, rel=0.15)


def test_a_cut_link_is_reported_within_two_seconds_and_protected_traffic_moves(network):
    assert network.activate(ServiceSpec("P1", "a", 5_000_000, protected=True), 0.0).path == ("a", "b", "gw")
    assert network.activate(ServiceSpec("U1", "a", 5_000_000), 0.0).ok
    protected, unprotected = network._services["P1"], network._services["U1"]
    started = time.perf_counter()
    network.fail_link("a--b", 100.0)
    assert time.perf_counter() - started < 2.0
    assert network.detection_s[-1] < 2.0  # the switches' port-status report, through the controller
    downs = [x for x in network.published if isinstance(x, e.LinkDown)]
    assert [(x.link_id, x.service_ids) for x in downs] == [("a--b", ("U1",))]
    moved = [x for x in network.published if isinstance(x, e.ServiceRerouted)]
    assert [(x.service_id, x.path) for x in moved] == [("P1", ("a", "c", "gw"))]
    assert reaches(protected.host, fl.gateway_ip(0))  # the packets take the new path
    assert not reaches(unprotected.host, fl.gateway_ip(0))
    network.repair_link("a--b", 200.0)
    assert [x.service_ids for x in network.published if isinstance(x, e.LinkUp)] == [("U1",)]
    assert reaches(unprotected.host, fl.gateway_ip(0))


def test_usage_billed_is_what_iperf3_delivered_within_five_percent(network, tmp_path):
    from oss_bss.bus import MessageBus
    from oss_bss.catalog import Catalog, ProductOffering
    from oss_bss.operator import Operator

    bus = MessageBus(lambda event: None)
    network.publish = bus.handle
    catalog = Catalog([ProductOffering("f", "Fibre", 20_000_000, Decimal("30.00"), Decimal("1.00"))])
    op = Operator(bus, catalog, network, epoch=datetime(2026, 4, 1), currency="EUR")
    customer = bus.handle(c.RegisterCustomer(0.0, "X", "residential", "x@example.org", "Road", "b"))
    bus.handle(c.SubmitProductOrder(0.0, customer, "f"))
    bus.handle(c.CompleteWorkOrder(60.0, next(iter(op.records.work_orders))))
    service = op.records.services.by_key[0]
    assert service.state == "active" and service.path == ("b", "gw")
    report = tmp_path / "iperf.json"
    network.send(network._services[service.id], 4_000_000, 8_000_000, report=str(report)).wait(timeout=30)
    end = iperf_report(report)["end"]["sum"]
    delivered = end["bytes"] * (1 - end["lost_percent"] / 100)
    network.quiesce()  # the switches' counters trail the datapath by up to a second
    bus.handle(c.CollectUsage(3600.0))
    (bill_id,) = bus.handle(c.RunBillCycle(30 * 86_400.0))
    usage = [line for line in op.records.bills[bill_id].lines if line.kind == "usage"]
    assert len(usage) == 1
    assert usage[0].quantity == pytest.approx(delivered, rel=0.05)  # frames on the wire vs iperf3's payload
    assert usage[0].amount == (Decimal(usage[0].quantity) / 10**9).quantize(Decimal("0.01"))


def test_the_controller_discovers_the_links_it_was_not_told_about(network):
    wired = {(network.topo.dpids[a.switch], a.number, network.topo.dpids[b.switch], b.number)
             for a, b in network.topo.links.values()}  # fmt: skip
    wired |= {(d, q, c, p) for c, p, d, q in wired}  # LLDP sees each direction
    deadline = time.monotonic() + 40  # os-ken probes each port with LLDP every few seconds
    found = set()
    while time.monotonic() < deadline and found != wired:
        found = {(x["src_dpid"], x["src_port"], x["dst_dpid"], x["dst_port"]) for x in network._api("GET", "/links")}
        time.sleep(0.2)
    assert found == wired
