"""Failure processes against reliability theory.

For alternating up/down times, the long-run availability of an element is
MTBF / (MTBF + MTTR) whatever the distributions (renewal-reward theorem); a
link whose two end nodes also fail is up only when all three are
(series system: the product of the availabilities).
"""

import networkx as nx
import pytest
import simpy

from sim.faults import FaultInjector
from sim.network import SimulatedNetwork
from sim.rng import RandomStreams
from sim.scenario import Scenario
from sim.stats import mean_ci
from sim.topology import Topology

BASE = {
    "name": "reliability",
    "seed": 1,
    "start": "2026-01-01",
    "duration_days": 1,
    "currency": "EUR",
    "topology": {"builder": {"kind": "linear", "nodes": 2}},
    "catalog": [{"id": "x", "name": "X", "bandwidth_mbps": 1, "monthly_price": "1"}],
    "population": {"customers": 0, "segments": {"residential": {
        "share": 1, "offerings": {"x": 1}, "sessions_per_day": 0, "session_volume": {"median_mb": 1}}}},
    "ordering": {"arrivals_per_day": 1, "install_hours": {"min": 1, "mode": 2, "max": 3}},
}  # fmt: skip


def two_nodes() -> Topology:
    g = nx.MultiGraph()
    g.add_edge("s1", "s2", key="s1--s2", id="s1--s2", capacity_bps=10**9, latency_s=0.001)
    return Topology("pair", g, ("s2",))


def measured(faults: dict, seed: int, hours: float) -> dict:
    spec = Scenario.model_validate({**BASE, "seed": seed, "faults": faults})
    env = simpy.Environment()
    net = SimulatedNetwork(two_nodes())
    FaultInjector(env, net, spec, RandomStreams(seed)).start()
    env.run(until=hours * 3600)
    return net.availability(hours * 3600)


@pytest.mark.parametrize("distribution,shape", [("exponential", 1.0), ("weibull", 0.7), ("weibull", 2.5)])
def test_link_availability_is_mtbf_over_mtbf_plus_mttr(distribution, shape):
    model = {"mtbf": 100, "mttr": 10, "distribution": distribution, "shape": shape}
    values = [measured({"links": model}, seed, hours=50_000)["links"]["s1--s2"] for seed in range(10)]
    mean, low, high = mean_ci(values)
    theory = 100 / 110
    assert low <= theory <= high, f"{theory:.5f} outside [{low:.5f}, {high:.5f}]"
    assert high - low < 0.01


def test_a_link_and_its_two_nodes_fail_as_a_series_system():
    faults = {"links": {"mtbf": "200h", "mttr": "10h"}, "nodes": {"mtbf": "500h", "mttr": "20h"}}
    values = [measured(faults, seed, hours=40_000)["links"]["s1--s2"] for seed in range(10)]
    mean, low, high = mean_ci(values)
    theory = (200 / 210) * (500 / 520) ** 2
    assert low <= theory <= high, f"{theory:.5f} outside [{low:.5f}, {high:.5f}]"


def test_availability_counts_planned_maintenance_too():
    faults = {"maintenance": [{"name": "weekly", "links": ["s1--s2"], "start": "1d 2h", "duration": "4h",
                               "every": "7d"}]}  # fmt: skip
    result = measured(faults, 1, hours=24 * 7 * 10)
    # 10 weeks, the first window a day in: 10 windows of 4 hours.
    assert result["links"]["s1--s2"] == pytest.approx(1 - 40 / (24 * 7 * 10))
