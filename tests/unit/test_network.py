"""The simulated network as a NetworkPort: paths, capacity, link state, counters."""

import networkx as nx
import numpy as np
import pytest

from oss_bss import events as e
from oss_bss.ports import NetworkPort, ServiceSpec
from sim.network import SimulatedNetwork
from sim.topology import Topology


def square(capacity=100):
    """gw - a - b with a slower detour gw - c - b (latencies 1+1 vs 2+2)."""
    g = nx.MultiGraph()
    for a, b, lat in [("gw", "a", 1.0), ("a", "b", 1.0), ("gw", "c", 2.0), ("c", "b", 2.0)]:
        g.add_edge(a, b, key=f"{a}--{b}", id=f"{a}--{b}", capacity_bps=capacity, latency_s=lat)
    return Topology("square", g, ("gw",))


def test_it_is_a_network_port():
    assert isinstance(SimulatedNetwork(square()), NetworkPort)


def test_shortest_path_by_latency_then_reroute_when_full_then_refuse():
    net = SimulatedNetwork(square(100))
    first = net.activate(ServiceSpec("s1", "b", 60), 0.0)
    assert first.ok and first.path == ("b", "a", "gw") and first.latency_s == 2.0
    second = net.activate(ServiceSpec("s2", "b", 60), 0.0)
    assert second.ok and second.path == ("b", "c", "gw")
    third = net.activate(ServiceSpec("s3", "b", 60), 0.0)
    assert not third.ok and third.code == "no_capacity" and "b" in third.reason
    assert net.reserved.tolist() == [60, 60, 60, 60]
    net.deactivate("s1", 1.0)
    assert net.activate(ServiceSpec("s3", "b", 60), 2.0).ok


def test_unknown_site_is_refused():
    assert SimulatedNetwork(square()).activate(ServiceSpec("s", "mars", 1), 0).code == "unknown_site"


def test_link_down_stops_the_services_across_it_and_is_published():
    published = []
    net = SimulatedNetwork(square(), publish=published.append)
    a = net.activate(ServiceSpec("s1", "b", 10), 0.0)
    net.activate(ServiceSpec("s2", "gw", 10), 0.0)  # at the gateway: no links
    net.set_link_state("a--b", False, 5.0)
    assert published == [e.LinkDown(5.0, "a--b", ("s1",))]
    carried = net.carry(np.array([a.network_ref, 2]), np.array([1000, 500]))
    assert carried.tolist() == [0, 500]
    # New activations route around the failed link.
    assert net.activate(ServiceSpec("s3", "b", 10), 6.0).path == ("b", "c", "gw")
    net.set_link_state("a--b", True, 9.0)
    assert published[-1] == e.LinkUp(9.0, "a--b", ("s1",))
    assert net.carry(np.array([a.network_ref]), np.array([7])).tolist() == [7]


def test_counters_are_collected_per_interval_and_reset():
    net = SimulatedNetwork(square())
    ref = net.activate(ServiceSpec("s1", "b", 10), 0.0).network_ref
    net.carry(np.array([ref, ref]), np.array([100, 50]))
    batch = net.collect_usage(3600.0)
    assert batch.network_ref.tolist() == [ref] and batch.volume_bytes.tolist() == [150]
    assert (batch.start.tolist(), batch.end.tolist()) == ([0.0], [3600.0])
    net.suspend("s1", 3600.0)
    net.carry(np.array([ref]), np.array([100]))
    assert len(net.collect_usage(7200.0)) == 0
    net.resume("s1", 7200.0)
    net.carry(np.array([ref]), np.array([1]))
    assert net.collect_usage(10800.0).start.tolist() == [7200.0]


def test_modify_keeps_the_old_reservation_when_the_new_bandwidth_does_not_fit():
    net = SimulatedNetwork(square(100))
    net.activate(ServiceSpec("s1", "b", 40), 0.0)
    assert net.modify("s1", 90, 1.0).ok
    expected = {"gw--a": 90, "a--b": 90, "gw--c": 0, "c--b": 0}
    assert dict(zip(net.link_ids, net.reserved.tolist())) == expected
    assert not net.modify("s1", 101, 2.0).ok
    assert dict(zip(net.link_ids, net.reserved.tolist())) == expected


@pytest.mark.parametrize("site", ["a", "b", "c"])
def test_paths_start_at_the_site_and_end_at_the_gateway(site):
    act = SimulatedNetwork(square()).activate(ServiceSpec("s", site, 1), 0.0)
    assert act.path[0] == site and act.path[-1] == "gw" and len(act.links) == len(act.path) - 1
