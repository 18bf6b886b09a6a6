"""The capacity and queueing models against teletraffic theory.

Each check runs seeded replications and asserts that the theoretical value
lies inside the 95 % confidence interval of the replications' mean: a
model that is off by more than its noise fails, whatever the seed.
"""

import networkx as nx
import numpy as np
import pytest
import simpy

from sim.network import SimulatedNetwork
from sim.queueing import erlang_b, link_delay_and_loss, mm1k, simulate_fifo
from sim.rng import RandomStreams
from sim.scenario import ServiceClass
from sim.sessions import SessionClasses
from sim.stats import mean_ci
from sim.topology import Topology


def one_link(capacity_units: int) -> Topology:
    g = nx.MultiGraph()
    g.add_edge("s1", "s2", key="s1--s2", id="s1--s2", capacity_bps=capacity_units * 10**6, latency_s=0.001)
    return Topology("one-link", g, ("s2",))


def blocking(load: float, units: int, seed: int, hours: float, holding=1.0) -> float:
    env = simpy.Environment()
    net = SimulatedNetwork(one_link(units))
    cls = ServiceClass.model_validate(
        {"name": "calls", "from": "s1", "to": "s2", "arrivals_per_hour": load, "holding": holding, "bandwidth_mbps": 1}
    )
    sessions = SessionClasses(env, net, [cls], RandomStreams(seed))
    sessions.start()
    env.run(until=hours * 3600)
    result = sessions.summary()
    assert result["per_link"]["s1--s2"]["calls"] == result["per_class"]["calls"]
    return result["per_class"]["calls"]["probability"]


@pytest.mark.parametrize("load,units", [(2.0, 3), (8.0, 10), (20.0, 22), (30.0, 25)])
def test_blocking_on_one_link_is_erlang_b(load, units):
    # 1-hour mean holding, `load` arrivals an hour: offered load = `load` Erlangs;
    # about 24,000 arrivals per replication whatever the load.
    values = [blocking(load, units, seed, hours=24_000 / load) for seed in range(8)]
    mean, low, high = mean_ci(values)
    theory = erlang_b(load, units)
    assert low <= theory <= high, f"Erlang B {theory:.4f} outside [{low:.4f}, {high:.4f}]"
    assert high - low < 0.2 * theory + 0.005  # and the interval is tight enough to mean something


@pytest.mark.parametrize(
    "holding", [{"mean": 1.0, "distribution": "lognormal", "sigma": 1.2}, {"mean": 1.0, "distribution": "pareto", "alpha": 2.5}]
)  # fmt: skip
def test_erlang_b_is_insensitive_to_the_holding_time_distribution(holding):
    # Blocking of M/G/C/C depends on the holding times only through their mean.
    values = [blocking(8.0, 10, seed, hours=3000, holding=holding) for seed in range(8)]
    mean, low, high = mean_ci(values)
    theory = erlang_b(8.0, 10)
    assert low <= theory <= high, f"Erlang B {theory:.4f} outside [{low:.4f}, {high:.4f}]"


def test_erlang_b_recursion_matches_the_closed_form():
    from math import factorial

    for load, c in [(1.0, 1), (5.0, 5), (12.5, 20)]:
        closed = (load**c / factorial(c)) / sum(load**k / factorial(k) for k in range(c + 1))
        assert erlang_b(load, c) == pytest.approx(closed, rel=1e-12)


@pytest.mark.parametrize("rho", [0.3, 0.7, 0.9])
def test_mean_delay_of_an_m_m_1_queue_is_one_over_mu_minus_lambda(rho):
    mu = 1000.0
    values = [float(simulate_fifo(rho * mu, mu, 400_000, np.random.default_rng(s)).mean()) for s in range(10)]
    mean, low, high = mean_ci(values)
    theory = 1.0 / (mu - rho * mu)
    assert low <= theory <= high, f"1/(mu-lambda) = {theory:.6f} outside [{low:.6f}, {high:.6f}]"


@pytest.mark.parametrize("rho", [0.2, 0.95, 1.0, 1.3, 4.0])
def test_m_m_1_k_formulas_match_the_stationary_distribution(rho):
    K = 50
    p = np.array([rho**n for n in range(K + 1)], dtype=float)
    p /= p.sum()
    loss, number = mm1k(np.array([rho]), K)
    assert loss[0] == pytest.approx(p[K], rel=1e-9)
    assert number[0] == pytest.approx((np.arange(K + 1) * p).sum(), rel=1e-9)


def test_m_m_1_k_with_a_large_buffer_delays_like_m_m_1():
    capacity, packet_bits = 1e9, 12_000.0
    mu = capacity / packet_bits
    rho, sojourn, loss = link_delay_and_loss(np.array([0.5e9, 0.9e9]), np.array([capacity] * 2), packet_bits, 10_000)
    assert rho.tolist() == [0.5, 0.9]
    assert sojourn == pytest.approx([1 / (mu * 0.5), 1 / (mu * 0.1)], rel=1e-6)
    assert loss.max() < 1e-100
    # Overloaded: the buffer is full, loss tends to 1 - 1/rho and delay to K transmissions.
    rho, sojourn, loss = link_delay_and_loss(np.array([2e9]), np.array([capacity]), packet_bits, 1000)
    assert loss[0] == pytest.approx(0.5, rel=1e-6) and sojourn[0] == pytest.approx(999 / mu, rel=1e-2)
