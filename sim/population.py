"""The customer population: who they are, where they live, what they buy.

Identities come from Faker in the scenario's locale, seeded from the run's
seed (same seed, same people). Faker makes one identity in 50 to 80 us, which
at a million customers would dominate a run, so it fills *pools* (at most
:data:`POOL` person names, company names and street addresses) and each
customer draws from them with NumPy: below the pool size every customer has
a distinct name, above it names repeat as they do in real populations. The
address is a street from the pool in the customer's site (a city of the
topology); the e-mail address is made from the name and the customer's
number, so it is unique. Segments, offerings and sites are drawn from their
own named streams.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from faker import Faker

from sim.rng import RandomStreams
from sim.scenario import Population

POOL = 20_000
_NOT_LOCAL = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    email: str
    address: str
    segment: str
    segment_index: int
    site: str
    offering_id: str  # or a bundle id
    party_type: str = "individual"


def _local_part(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return _NOT_LOCAL.sub(".", ascii_name).strip(".") or "customer"


def _pool(make, size: int) -> list[str]:
    return [make() for _ in range(size)]


def generate(population: Population, sites: list[str], streams: RandomStreams) -> Iterator[Person]:
    """The population's customers, in arrival order."""
    fake = Faker(population.locale)
    fake.seed_instance(streams.int_seed("population.faker"))
    rng = streams.get("population")
    names = list(population.segments)
    n = population.customers
    shares = np.array([population.segments[s].share for s in names])
    seg_idx = rng.choice(len(names), size=n, p=shares / shares.sum())
    site_idx = rng.integers(0, len(sites), size=n)
    offerings = np.empty(n, dtype=object)
    for i, name in enumerate(names):
        mix = population.segments[name].offerings
        weights = np.array(list(mix.values()))
        mine = seg_idx == i
        offerings[mine] = rng.choice(list(mix), size=int(mine.sum()), p=weights / weights.sum())

    def individual(name: str) -> bool:
        party = population.segments[name].party
        return party == "individual" if party is not None else name == "residential"

    individuals = [i for i, name in enumerate(names) if individual(name)]
    residential = np.isin(seg_idx, individuals)
    people = _pool(fake.name, min(POOL, int(residential.sum())))
    companies = _pool(fake.company, min(POOL, n - int(residential.sum())))
    streets = _pool(fake.street_address, min(POOL, n))
    domains = _pool(fake.free_email_domain, 50) if n else []
    who = np.empty(n, dtype=object)
    for pool, mask in ((people, residential), (companies, ~residential)):
        count = int(mask.sum())
        if count:
            # Without replacement while the pool lasts: distinct names below its size.
            pick = rng.permutation(len(pool))[:count] if count <= len(pool) else rng.integers(0, len(pool), count)
            who[mask] = [pool[j] for j in pick]
    street_idx = rng.integers(0, max(len(streets), 1), n)
    domain_idx = rng.integers(0, max(len(domains), 1), n)
    for k in range(n):
        name, site = who[k], sites[site_idx[k]]
        yield Person(
            name,
            f"{_local_part(name)}.{k + 1}@{domains[domain_idx[k]]}",
            f"{streets[street_idx[k]]}, {site}",
            names[seg_idx[k]],
            int(seg_idx[k]),
            site,
            offerings[k],
            "individual" if residential[k] else "organisation",
        )
