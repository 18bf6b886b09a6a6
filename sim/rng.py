"""Named, independent random streams derived from one seed.

Each model draws from its own stream (``streams.get("ordering.arrivals")``),
seeded from the run's seed and a hash of the stream's name. Adding a model,
or drawing more in one, therefore never changes the draws of another: a
scenario stays comparable across versions of the code that do not touch the
model under study.
"""

from __future__ import annotations

import hashlib

import numpy as np


def _name_words(name: str) -> list[int]:
    digest = hashlib.sha256(name.encode()).digest()
    return [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]


class RandomStreams:
    def __init__(self, seed: int):
        self.seed = int(seed)
        self._streams: dict[str, np.random.Generator] = {}

    def get(self, name: str) -> np.random.Generator:
        """The stream called ``name`` (the same object on every call)."""
        if name not in self._streams:
            self._streams[name] = np.random.default_rng(self.seed_sequence(name))
        return self._streams[name]

    def seed_sequence(self, name: str) -> np.random.SeedSequence:
        return np.random.SeedSequence([self.seed, *_name_words(name)])

    def int_seed(self, name: str) -> int:
        """A plain integer seed for libraries that take one (Faker, networkx)."""
        return int(self.seed_sequence(name).generate_state(1, dtype=np.uint32)[0])
