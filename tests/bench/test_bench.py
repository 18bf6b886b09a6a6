"""Hot paths, each next to a bare baseline over the same data (``make bench``).

Run in ``make test`` too, once each with timing off, so they stay correct.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from oss_bss.ports import UsageBatch
from oss_bss.pricing import PriceSchedule, PriceVersion, Tariffs, UsageTier
from oss_bss.usage import UsageLedger, mediate
from sim import runner
from sim.scenario import Lognormal, load_scenario
from sim.traffic import SegmentTraffic, TrafficModel
from tests.conftest import SCENARIOS

pytestmark = pytest.mark.bench

N_RECORDS = 1_000_000  # one hourly collection of a million services
N_SERVICES = 100_000


@pytest.fixture(scope="module")
def records():
    rng = np.random.default_rng(0)
    keys = rng.permutation(N_RECORDS)
    start = np.full(N_RECORDS, 3600.0)
    volume = rng.integers(1, 5 * 10**9, N_RECORDS)
    return keys, start, volume


def test_mediation_and_rating(measure, records):
    """Mediate (inventory look-up, checks, duplicates) and rate 1 M records into balances."""
    keys, start, volume = records
    batch = UsageBatch(keys + 1, start, start + 3600, volume)
    ref_to_key = np.arange(-1, N_RECORDS)
    billable = np.ones(N_RECORDS, dtype=bool)
    ledger = UsageLedger(N_RECORDS)
    ledger.plan[:] = ledger.tariffs.add_flat(Decimal("0.02"))

    def work():
        m = mediate(batch, ref_to_key[batch.network_ref], billable)
        return ledger.rate(m)

    rated = measure("rating: mediate + rate", work, items=N_RECORDS, baseline="rating: bare numpy group-by")
    assert len(rated) == N_RECORDS


def test_tiered_rating(measure, records):
    """The same records against a tiered tariff with an allowance and off-peak hours, in two price versions."""
    keys, start, volume = records
    batch = UsageBatch(keys + 1, start, start + 3600, volume)
    ref_to_key = np.arange(-1, N_RECORDS)
    billable = np.ones(N_RECORDS, dtype=bool)
    tiers = (UsageTier(Decimal(0), Decimal("0.02")), UsageTier(Decimal(100), Decimal("0.01")))
    schedule = PriceSchedule((
        PriceVersion(0.0, Decimal("30"), tiers=tiers, included_gb=Decimal(1), hour_percent=(50,) * 7 + (100,) * 17),
        PriceVersion(1800.0, Decimal("32"), tiers=tiers, included_gb=Decimal(1), hour_percent=(50,) * 7 + (100,) * 17),
    ))  # fmt: skip
    ledger = UsageLedger(N_RECORDS, Tariffs([schedule]))

    def work():
        m = mediate(batch, ref_to_key[batch.network_ref], billable)
        return ledger.rate(m)

    rated = measure("rating: tiered, allowance, off-peak", work, items=N_RECORDS, baseline="rating: bare numpy group-by")
    assert len(rated) == N_RECORDS and rated.charge_micros.sum() > 0


def test_rating_baseline(measure, records):
    """The bare minimum over the same records: one multiply and a group-by sum."""
    keys, _, volume = records

    def work():
        return np.bincount(keys, weights=volume * 2e-5, minlength=N_RECORDS)

    measure("rating: bare numpy group-by", work, items=N_RECORDS)


def _traffic(n: int) -> TrafficModel:
    model = TrafficModel(
        [SegmentTraffic(14.0, Lognormal(median_mb=120, sigma=1.1)), SegmentTraffic(60.0, Lognormal(median_mb=200, sigma=1.3))],
        [1.0] * 24,
        np.random.default_rng(1),
    )
    for ref in range(1, n + 1):
        model.add(ref, ref % 7 == 0)
    return model


def test_usage_generation(measure):
    """One simulated day of traffic for 100,000 services (subscriber-days per second)."""
    model = _traffic(N_SERVICES)

    def day():
        return sum(len(model.demand(h * 3600.0, (h + 1) * 3600.0)[0]) for h in range(24))

    measure("usage: traffic of a day", day, items=N_SERVICES, baseline="usage: bare numpy draws")


def test_usage_generation_baseline(measure):
    """The same random draws with nothing around them."""
    rng = np.random.default_rng(1)
    lam = np.full(N_SERVICES, 14.0 / 24)

    def day():
        for _ in range(24):
            n = rng.poisson(lam)
            rng.lognormal(np.log(120e6), 1.1, int(n.sum()))

    measure("usage: bare numpy draws", day, items=N_SERVICES)


def test_quickstart_run(measure, tmp_path_factory):
    """The whole quickstart: 1,000 customers x 30 days (items: subscriber-days)."""
    scenario = load_scenario(SCENARIOS / "quickstart.yaml")

    def run():
        return runner.run(scenario, tmp_path_factory.mktemp("q") / "run")

    result = measure("run: quickstart", run, items=1000 * 30, rounds=3)
    assert result.summary["invoices"]["count"] > 0


def _lifecycle_scenario(tmp_path_factory):
    from tests.conftest import SCENARIOS as S
    import yaml

    data = yaml.safe_load((S / "quickstart.yaml").read_text())
    data["topology"]["file"] = str(S / "topologies" / "Abilene.graphml")
    data["population"]["customers"] = 5000
    data["ordering"]["arrivals_per_day"] = 5000
    data["duration_days"] = 3
    for seg in data["population"]["segments"].values():
        seg["sessions_per_day"] = 0  # the lifecycle alone: no traffic
    for offering in data["catalog"]:
        offering["bandwidth_mbps"] = 1
    path = tmp_path_factory.mktemp("life") / "lifecycle.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_scenario(path)


def _people(loaded):
    from sim.population import generate
    from sim.rng import RandomStreams

    topology = runner.prepare(loaded)
    return list(generate(loaded.spec.population, list(topology.graph.nodes), RandomStreams(loaded.spec.seed)))


def _lifecycle_in_memory(loaded, people) -> int:
    """World + bus + operator + simulated network, no files or database: the event count."""
    import simpy
    from datetime import UTC, datetime

    from oss_bss.bus import MessageBus
    from oss_bss.operator import Operator
    from sim.network import SimulatedNetwork
    from sim.rng import RandomStreams
    from sim.world import World

    spec = loaded.spec
    streams = RandomStreams(spec.seed)
    topology = runner.prepare(loaded)
    count = [0]
    bus = MessageBus(lambda event: count.__setitem__(0, count[0] + 1))
    network = SimulatedNetwork(topology, publish=bus.handle)
    epoch = datetime(spec.start.year, spec.start.month, spec.start.day, tzinfo=UTC)
    Operator(bus, runner.catalog_of(spec), network, epoch=epoch, currency=spec.currency)
    env = simpy.Environment()
    World(env, bus, spec, network, people, streams).start()
    env.run(until=spec.duration_seconds)
    return count[0]


LIFECYCLE_EVENTS = 31_971  # what _lifecycle_in_memory counts for the scenario below (seeded, so exact)


def test_lifecycle_events(measure, tmp_path_factory):
    """Order to activate for 5,000 customers: SimPy processes, the bus and the operator (events/s)."""
    scenario = _lifecycle_scenario(tmp_path_factory)
    people = _people(scenario)  # Faker's identities are made before, not measured
    events = measure("lifecycle: order to activate", lambda: _lifecycle_in_memory(scenario, people), items=LIFECYCLE_EVENTS,
                     rounds=3, baseline="lifecycle: bare simpy loop")  # fmt: skip
    assert events == LIFECYCLE_EVENTS


def test_lifecycle_baseline(measure):
    """A bare SimPy loop: the same number of timeouts, each doing nothing."""
    import simpy

    def run():
        env = simpy.Environment()

        def proc():
            for _ in range(LIFECYCLE_EVENTS):
                yield env.timeout(1)

        env.process(proc())
        env.run()

    measure("lifecycle: bare simpy loop", run, items=LIFECYCLE_EVENTS, rounds=5)


@pytest.fixture(scope="module")
def cogent_with_10k_services():
    """The operator on Cogentco's 197 cities with 10,000 active services."""
    from datetime import datetime

    from oss_bss import commands as c
    from oss_bss.bus import MessageBus
    from oss_bss.operator import Operator
    from sim.network import SimulatedNetwork

    loaded = load_scenario(SCENARIOS / "cogent-backbone.yaml")
    topology = runner.prepare(loaded)
    bus = MessageBus()
    network = SimulatedNetwork(topology, publish=bus.handle)
    catalog = runner.catalog_of(loaded.spec)
    op = Operator(bus, catalog, network, epoch=datetime(2026, 6, 1), currency="USD")
    nodes = list(topology.graph.nodes)
    rng = np.random.default_rng(0)
    active = k = 0
    while active < 10_000:  # some orders fall out where the gateways' links are full
        k += 1
        site = nodes[rng.integers(len(nodes))]
        cid = bus.handle(c.RegisterCustomer(0.0, f"C{k}", "residential", "c@example.org", "x", site))
        bus.handle(c.SubmitProductOrder(0.0, cid, "home-200"))
        bus.handle(c.CompleteWorkOrder(1.0, list(op.records.work_orders)[-1]))
        active += op.records.services.by_key[-1].state == "active"
    assert sum(s.state == "active" for s in op.records.services) == 10_000
    busiest = max(topology.graph.nodes, key=lambda n: sum(len(op.records.services_on_link[l])
                                                           for l in network.incident_link_ids(n)))  # fmt: skip
    return op, network, busiest


def test_impact_of_a_node_failure(measure, cogent_with_10k_services):
    """Node down on Cogentco with 10,000 services: alarms, root cause, incident and its impact."""
    op, network, node = cogent_with_10k_services
    t = [10.0]

    def fail_and_repair():
        t[0] += 10.0
        network.fail_node(node, t[0])
        incident = op.assurance.incidents[op.assurance.alarms.active(node, "equipmentMalfunction").incident_id]
        network.repair_node(node, t[0] + 5.0)
        return incident

    incident = measure("impact: node down on Cogentco, 10k services", fail_and_repair, items=1,
                       baseline="impact: bare set union")  # fmt: skip
    assert len(incident.services) > 100 and incident.revenue_at_risk > 0


def test_impact_baseline(measure, cogent_with_10k_services):
    """The bare minimum: the union of the services on the node's links."""
    op, network, node = cogent_with_10k_services
    links = network.incident_link_ids(node)
    measure("impact: bare set union", lambda: set().union(*(op.records.services_on_link[l] for l in links)), items=1)
