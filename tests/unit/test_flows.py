"""The pure flow logic against a simulated flow table: no switch needed."""

import pytest

from controllers.flows import (
    EmulatedTopology, FlowTable, cpe_ip, gateway_ip, mac_of, meter_ids, service_flows,
)  # fmt: skip

LINKS = [("a--b", "a", "b"), ("b--gw", "b", "gw"), ("a--c", "a", "c"), ("c--gw", "c", "gw")]


@pytest.fixture
def topo():
    return EmulatedTopology.build(["a", "b", "c", "gw"], LINKS, ["gw"])


def test_ports_are_numbered_per_switch_in_order(topo):
    assert topo.switches == {"a": "s1", "b": "s2", "c": "s3", "gw": "s4"}
    assert topo.end_at("a--b", "a").number == 1 and topo.end_at("a--c", "a").number == 2
    assert topo.end_at("c--gw", "gw").number == 2 and topo.gateway_ports == {"gw": 3}
    assert topo.host_port("a").number == 3 and topo.host_port("a").number == 4


def test_before_activation_nothing_passes_after_it_both_directions_do_and_only_for_that_service(topo):
    table = FlowTable(topo)
    p1, p2 = topo.host_port("a").number, topo.host_port("a").number
    table.attach("a", p1, cpe_ip(1))
    table.attach("a", p2, cpe_ip(2))
    gw = gateway_ip(0)
    assert table.deliver(cpe_ip(1), gw) is None
    table.install(service_flows(topo, 1, p1, ("a", "b", "gw"), ("a--b", "b--gw"), 10_000_000))
    assert table.deliver(cpe_ip(1), gw) == ["s1", "s2", "s4"]
    assert table.deliver(gw, cpe_ip(1)) == ["s4", "s2", "s1"]
    assert table.deliver(cpe_ip(2), gw) is None  # another customer's service is not active
    assert table.deliver(cpe_ip(1), cpe_ip(2)) is None  # customers cannot reach each other
    table.remove(1)  # suspended or deactivated
    assert table.deliver(cpe_ip(1), gw) is None


def test_a_reroute_replaces_the_path(topo):
    table = FlowTable(topo)
    port = topo.host_port("a").number
    table.attach("a", port, cpe_ip(7))
    table.install(service_flows(topo, 7, port, ("a", "b", "gw"), ("a--b", "b--gw"), 10**6))
    table.remove(7)
    table.install(service_flows(topo, 7, port, ("a", "c", "gw"), ("a--c", "c--gw"), 10**6))
    assert table.deliver(cpe_ip(7), gateway_ip(0)) == ["s1", "s3", "s4"]


def test_meters_hold_the_bandwidth_at_the_edges_and_usage_is_counted_where_it_arrives(topo):
    port = topo.host_port("a").number
    flows = service_flows(topo, 5, port, ("a", "b", "gw"), ("a--b", "b--gw"), 25_000_000)
    up, down = meter_ids(5)
    assert [(m.switch, m.meter_id, m.rate_kbps) for m in flows.meters] == [("s1", up, 25_000), ("s4", down, 25_000)]
    metered = {(r.switch, r.ipv4_src): r.meter_id for r in flows.rules if r.meter_id}
    assert metered == {("s1", cpe_ip(5)): up, ("s4", gateway_ip(0)): down}
    arrive_gw, arrive_cpe = flows.counting
    assert (arrive_gw.switch, arrive_gw.out_port) == ("s4", topo.gateway_ports["gw"])
    assert (arrive_cpe.switch, arrive_cpe.out_port) == ("s1", port)
    assert {r.cookie for r in flows.rules} == {5}


def test_a_customer_at_the_gateway_node_is_one_switch(topo):
    table = FlowTable(topo)
    port = topo.host_port("gw").number
    table.attach("gw", port, cpe_ip(3))
    table.install(service_flows(topo, 3, port, ("gw",), (), 10**6))
    assert table.deliver(cpe_ip(3), gateway_ip(0)) == ["s4"]


def test_addresses_are_distinct_and_bad_input_is_refused(topo):
    assert len({cpe_ip(r) for r in range(1, 2000)}) == 1999
    assert mac_of("10.1.0.5") == "02:00:0a:01:00:05"
    with pytest.raises(ValueError):
        cpe_ip(0)
    with pytest.raises(ValueError):
        service_flows(topo, 1, 9, ("a", "b"), ("a--b",), 1)  # b is not a gateway
    with pytest.raises(ValueError):
        service_flows(topo, 1, 9, ("a", "b", "gw"), ("a--b",), 1)


def test_a_site_to_site_service_joins_its_two_ends_and_nothing_else(topo):
    table = FlowTable(topo)
    a, z = topo.host_port("b").number, topo.host_port("c").number
    table.attach("b", a, cpe_ip(9))
    table.attach("c", z, cpe_ip(9, "z"))
    assert table.deliver(cpe_ip(9), cpe_ip(9, "z")) is None
    flows = service_flows(topo, 9, a, ("b", "gw", "c"), ("b--gw", "c--gw"), 10**6, z_port=z)
    table.install(flows)
    assert table.deliver(cpe_ip(9), cpe_ip(9, "z")) == ["s2", "s4", "s3"]
    assert table.deliver(cpe_ip(9, "z"), cpe_ip(9)) == ["s3", "s4", "s2"]
    assert table.deliver(cpe_ip(9), gateway_ip(0)) is None  # the internet is not part of it
    assert [m.switch for m in flows.meters] == ["s2", "s3"]
