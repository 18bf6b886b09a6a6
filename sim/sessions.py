"""Sessions with guaranteed bandwidth: the classic loss system.

Each service class offers sessions between two nodes as a Poisson process;
each session holds its bandwidth on a path for a holding time (exponential,
lognormal or Pareto) and is blocked when no path has it free. Counted per class and per link (the link
a blocked session is charged to is the first full link of its shortest
path), this is what Erlang B predicts for a single link of C units.
Sessions are network-level admissions (like calls through call admission
control): they do not pass through the operator's order handling.
"""

from __future__ import annotations

from collections import defaultdict

import simpy

from sim.network import SimulatedNetwork
from sim.rng import RandomStreams
from sim.scenario import ServiceClass


class SessionClasses:
    def __init__(self, env: simpy.Environment, network: SimulatedNetwork, classes: list[ServiceClass],
                 streams: RandomStreams):  # fmt: skip
        self.env, self.network, self.classes, self.streams = env, network, classes, streams
        self.offered: dict[str, int] = defaultdict(int)
        self.blocked: dict[str, int] = defaultdict(int)
        self.link_offered: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.link_blocked: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def start(self) -> None:
        for cls in self.classes:
            self.env.process(self._arrivals(cls))

    def _arrivals(self, cls: ServiceClass):
        arrivals = self.streams.get(f"capacity.{cls.name}.arrivals")
        holding = self.streams.get(f"capacity.{cls.name}.holding")
        gap = 3600.0 / cls.arrivals_per_hour
        bandwidth = int(round(cls.bandwidth_mbps * 1e6))
        nominal = self.network.nominal_links(cls.from_, cls.to)
        env, net = self.env, self.network
        while True:
            yield env.timeout(float(arrivals.exponential(gap)))
            hold = float(cls.holding.draw(holding, 1)[0])
            self.offered[cls.name] += 1
            for link in nominal:
                self.link_offered[link][cls.name] += 1
            session, blocker = net.admit(cls.from_, cls.to, bandwidth, env.now)
            if session is None:
                self.blocked[cls.name] += 1
                self.link_blocked[blocker][cls.name] += 1
            else:
                env.timeout(hold).callbacks.append(lambda _, s=session: net.release(s, env.now))

    def summary(self) -> dict:
        def entry(offered: int, blocked: int) -> dict:
            return {"offered": offered, "blocked": blocked, "probability": blocked / offered if offered else 0.0}

        per_class = {c.name: entry(self.offered[c.name], self.blocked[c.name]) for c in self.classes}
        links = sorted(set(self.link_offered) | set(self.link_blocked))
        per_link = {
            link: {
                name: entry(self.link_offered[link][name], self.link_blocked[link][name])
                for name in sorted(set(self.link_offered[link]) | set(self.link_blocked[link]))
            }
            for link in links
        }
        return {"per_class": per_class, "per_link": per_link}
