"""The customer population: who they are, where they live, what they buy.

People and companies come from Faker in the scenario's locale, seeded from
the run's seed (same seed, same people). Segments, offerings and sites are
drawn from their own named streams.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from faker import Faker

from sim.rng import RandomStreams
from sim.scenario import Population


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    email: str
    address: str
    segment: str
    segment_index: int
    site: str
    offering_id: str


def generate(population: Population, sites: list[str], streams: RandomStreams) -> Iterator[Person]:
    """The population's customers, in arrival order."""
    fake = Faker(population.locale)
    fake.seed_instance(streams.int_seed("population.faker"))
    rng = streams.get("population")
    names = list(population.segments)
    n = population.customers
    shares = [population.segments[s].share for s in names]
    seg_idx = rng.choice(len(names), size=n, p=[s / sum(shares) for s in shares])
    site_idx = rng.integers(0, len(sites), size=n)
    offerings = {}
    for i, name in enumerate(names):
        mix = population.segments[name].offerings
        ids, weights = list(mix), list(mix.values())
        count = int((seg_idx == i).sum())
        offerings[i] = iter(rng.choice(ids, size=count, p=[w / sum(weights) for w in weights]).tolist())
    for k in range(n):
        i = int(seg_idx[k])
        segment = names[i]
        who = fake.name() if segment == "residential" else fake.company()
        yield Person(
            who,
            fake.email(),
            fake.address().replace("\n", ", "),
            segment,
            i,
            sites[site_idx[k]],
            next(offerings[i]),
        )
