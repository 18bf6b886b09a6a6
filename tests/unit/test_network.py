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


def test_overlapping_causes_keep_a_link_down_until_the_last_is_repaired():
    published = []
    net = SimulatedNetwork(square(), publish=published.append)
    net.fail_link("a--b", 1.0)
    net.hold_links(["a--b", "c--b"], +1, 2.0)  # a shared-risk group cut on top
    net.repair_link("a--b", 3.0)
    assert [type(x).__name__ for x in published] == ["LinkDown", "LinkDown"]  # a--b once, c--b once
    net.hold_links(["a--b", "c--b"], -1, 5.0)
    assert [(type(x).__name__, x.link_id, x.at) for x in published[2:]] == [("LinkUp", "a--b", 5.0), ("LinkUp", "c--b", 5.0)]
    assert net.availability(10.0)["links"]["a--b"] == pytest.approx(0.6)


def test_a_node_failure_is_published_before_its_links_and_stops_their_services():
    published = []
    net = SimulatedNetwork(square(), publish=published.append)
    act = net.activate(ServiceSpec("s1", "b", 10), 0.0)
    net.fail_node("a", 10.0)
    names = [(type(x).__name__, getattr(x, "link_id", getattr(x, "node", None))) for x in published]
    assert names == [("NodeDown", "a"), ("LinkDown", "gw--a"), ("LinkDown", "a--b")]
    assert published[0].link_ids == ("gw--a", "a--b")
    assert net.carry(np.array([act.network_ref]), np.array([5])).tolist() == [0]
    net.fail_node("a", 11.0, planned=True)  # a second cause (maintenance) while down: nothing new yet
    assert len(published) == 3
    net.repair_node("a", 15.0)  # one cause repaired, the other still holds the node down
    assert len(published) == 3
    net.repair_node("a", 20.0)
    assert [type(x).__name__ for x in published[3:]] == ["LinkUp", "LinkUp", "NodeUp"]
    assert published[3].service_ids == ("s1",) and published[4].service_ids == ()  # both links back at once
    assert net.availability(40.0)["services"] == pytest.approx(0.75)


def test_protected_services_are_rerouted_the_others_wait_for_the_repair():
    published = []
    net = SimulatedNetwork(square(100), publish=published.append)
    plain = net.activate(ServiceSpec("plain", "b", 30), 0.0)
    safe = net.activate(ServiceSpec("safe", "b", 30, protected=True), 0.0)
    big = net.activate(ServiceSpec("big", "b", 40, protected=True), 0.0)
    assert plain.path == safe.path == big.path == ("b", "a", "gw")
    net.fail_link("a--b", 1.0)
    (down,) = [x for x in published if isinstance(x, e.LinkDown)]
    assert down.service_ids == ("plain",)  # only the service that lost service
    assert [type(x).__name__ for x in published] == ["LinkDown", "ServiceRerouted", "ServiceRerouted"]
    rerouted = [x for x in published if isinstance(x, e.ServiceRerouted)]
    # The detour has 100: "safe" (30) and "big" (40) fit; "plain" is not protected.
    assert [(x.service_id, x.path) for x in rerouted] == [("safe", ("b", "c", "gw")), ("big", ("b", "c", "gw"))]
    refs = np.array([plain.network_ref, safe.network_ref, big.network_ref])
    assert net.carry(refs, np.array([1, 1, 1])).tolist() == [0, 1, 1]
    reserved = dict(zip(net.link_ids, net.reserved.tolist()))
    assert reserved == {"gw--a": 30, "a--b": 30, "gw--c": 70, "c--b": 70}
    net.repair_link("a--b", 2.0)
    assert net.carry(refs, np.array([1, 1, 1])).tolist() == [1, 1, 1]


def test_a_protected_service_with_no_way_round_waits_like_the_rest():
    net = SimulatedNetwork(square(100))
    act = net.activate(ServiceSpec("safe", "b", 80, protected=True), 0.0)
    net.activate(ServiceSpec("filler", "c", 50), 0.0)  # the detour has only 50 left
    net.fail_link("a--b", 1.0)
    assert net.carry(np.array([act.network_ref]), np.array([9])).tolist() == [0]
    net.repair_link("a--b", 2.0)
    assert net.carry(np.array([act.network_ref]), np.array([9])).tolist() == [9]


def test_sessions_are_admitted_while_capacity_lasts_and_blocked_at_the_bottleneck():
    net = SimulatedNetwork(square(100))
    first, _ = net.admit("b", "gw", 60, 0.0)
    second, _ = net.admit("b", "gw", 60, 0.0)  # over the detour
    third, blocker = net.admit("b", "gw", 60, 0.0)
    assert first and second and third is None and blocker == "a--b"
    net.release(first, 10.0)
    assert net.admit("b", "gw", 60, 10.0)[0] is not None


def test_measure_turns_an_intervals_traffic_into_link_load_and_service_kpis():
    net = SimulatedNetwork(square(capacity=8_000_000), packet_bytes=1000, buffer_packets=10**6)
    ref = net.activate(ServiceSpec("s1", "b", 10), 0.0).network_ref
    net.carry(np.array([ref]), np.array([1_800_000_000]))  # 4 Mbit/s over an hour
    m = net.collect_kpis(3600.0)
    util = dict(zip(net.link_ids, m.utilisation.tolist()))
    assert util == {"gw--a": 0.5, "a--b": 0.5, "gw--c": 0.0, "c--b": 0.0}
    mu = 8_000_000 / 8000  # packets per second
    assert m.service_refs.tolist() == [ref]
    assert m.service_latency_s[0] == pytest.approx(2 * (1.0 + 1 / (mu - 0.5 * mu)))  # 2 links: propagation + M/M/1
    assert m.service_throughput_bps[0] == pytest.approx(4e6)
    assert net.collect_kpis(7200.0).utilisation.max() == 0.0


def test_traffic_of_an_interval_is_carried_for_the_share_the_path_was_up():
    net = SimulatedNetwork(square())
    ref = net.activate(ServiceSpec("s1", "b", 10), 0.0).network_ref
    refs, volume = np.array([ref]), np.array([3600])
    assert net.carry(refs, volume, 0.0, 3600.0).tolist() == [3600]
    net.fail_link("a--b", 3600.0 + 1800)  # cut half way through the next hour
    assert net.carry(refs, volume, 3600.0, 7200.0).tolist() == [1800]
    assert net.carry(refs, volume, 7200.0, 10800.0).tolist() == [0]  # down all hour
    net.repair_link("a--b", 10800.0 + 900)  # back after a quarter of an hour
    assert net.carry(refs, volume, 10800.0, 14400.0).tolist() == [2700]
    net.fail_link("a--b", 14400.0 + 600)  # a short outage inside one hour
    net.repair_link("a--b", 14400.0 + 1200)
    assert net.carry(refs, volume, 14400.0, 18000.0).tolist() == [3000]
    net.suspend("s1", 18000.0)
    assert net.carry(refs, volume, 18000.0, 21600.0).tolist() == [0]



def test_a_service_at_a_gateway_goes_down_with_its_node():
    published = []
    net = SimulatedNetwork(square(), publish=published.append)
    ref = net.activate(ServiceSpec("s", "gw", 10), 0.0).network_ref
    net.fail_node("gw", 1800.0)
    assert published[0].service_ids == ("s",)
    assert net.carry(np.array([ref]), np.array([3600]), 0.0, 3600.0).tolist() == [1800]
    net.repair_node("gw", 5400.0)
    assert published[-1].service_ids == ("s",) and type(published[-1]).__name__ == "NodeUp"
    assert net.availability(7200.0)["services"] == pytest.approx(0.5)


def test_link_up_lists_only_services_whose_whole_path_is_back():
    published = []
    net = SimulatedNetwork(square(), publish=published.append)
    net.activate(ServiceSpec("s1", "b", 10), 0.0)
    net.fail_link("gw--a", 1.0)
    net.fail_link("a--b", 2.0)
    assert [x.service_ids for x in published] == [("s1",), ()]  # lost with the first link
    net.repair_link("gw--a", 3.0)
    assert published[-1].service_ids == ()  # a--b still down
    net.repair_link("a--b", 4.0)
    assert published[-1].service_ids == ("s1",)


def test_a_service_activated_mid_interval_carries_only_its_share():
    net = SimulatedNetwork(square())
    ref = net.activate(ServiceSpec("s1", "b", 10), 2700.0).network_ref  # 15 minutes before the hour ends
    assert net.carry(np.array([ref]), np.array([4000]), 0.0, 3600.0).tolist() == [1000]
    assert net.carry(np.array([ref]), np.array([4000]), 3600.0, 7200.0).tolist() == [4000]


def test_the_incremental_path_index_matches_the_services_through_growth_and_compaction():
    rng = np.random.default_rng(3)
    net = SimulatedNetwork(square(10**9))
    live: list[str] = []
    for step in range(6000):
        if live and rng.random() < 0.45:
            net.deactivate(live.pop(int(rng.integers(len(live)))), float(step))
        else:
            sid = f"s{step}"
            assert net.activate(ServiceSpec(sid, ["a", "b", "c", "gw"][step % 4], 1), float(step)).ok
            live.append(sid)
        if step % 7 == 0 and live:  # a reroute moves entries too
            net.fail_link("a--b", float(step))
            net.repair_link("a--b", float(step))
    refs, links = net._incidence_arrays()
    got = sorted(zip(refs.tolist(), links.tolist()))
    want = sorted((net._services[s].ref, i) for s in live for i in net._services[s].links)
    assert got == want and len(net._inc_ref) >= net._inc_n
