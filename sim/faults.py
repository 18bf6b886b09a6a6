"""Faults as SimPy processes: failure and repair of links, nodes and shared-risk
link groups, planned maintenance, and the failures written in the timeline.

Each failing element alternates up and down times drawn from its own named
random stream (``faults.link.<id>``), so adding a fault model to one element
never changes the draws of another. Up and down times are exponential with
the given means (MTBF, MTTR), or Weibull with the given shape and the same
means (scale = mean / Gamma(1 + 1/shape)).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import simpy

from sim.network import SimulatedNetwork
from sim.rng import RandomStreams
from sim.scenario import FailureModel, Scenario


def draw(rng, mean: float, model: FailureModel) -> float:
    if model.distribution == "weibull":
        return float(rng.weibull(model.shape)) * mean / math.gamma(1.0 + 1.0 / model.shape)
    return float(rng.exponential(mean))


class FaultInjector:
    """With a workforce in the scenario, failures (not maintenance or timeline outages,
    whose length is written down) wait for a technician's repair instead of an MTTR."""

    def __init__(self, env: simpy.Environment, network: SimulatedNetwork, scenario: Scenario, streams: RandomStreams):
        self.env, self.network, self.scenario, self.streams = env, network, scenario, streams
        self.by_workforce = scenario.workforce is not None
        self._awaiting: dict[str, simpy.Event] = {}  # failed objects waiting for a technician
        self._group_links = {g.name: list(g.links) for g in scenario.faults.srlgs}

    def awaiting(self, obj: str) -> bool:
        """Whether ``obj`` (or a link of the group ``obj``) waits for a technician."""
        return obj in self._awaiting or any(link in self._awaiting for link in self._group_links.get(obj, ()))

    def repair(self, obj: str) -> None:
        """A technician has fixed ``obj``: what waited on it is repaired now."""
        for name in [obj, *self._group_links.get(obj, ())]:
            event = self._awaiting.pop(name, None)
            if event is not None:
                event.succeed()

    def start(self) -> None:
        env, net, faults = self.env, self.network, self.scenario.faults
        if faults.links is not None:
            for link in net.link_ids:
                self._alternate(f"faults.link.{link}", faults.links, lambda t, l=link: net.fail_link(l, t),
                                lambda t, l=link: net.repair_link(l, t))  # fmt: skip
        if faults.nodes is not None:
            for node in net.topology_model.graph.nodes:
                self._alternate(f"faults.node.{node}", faults.nodes, lambda t, n=node: net.fail_node(n, t),
                                lambda t, n=node: net.repair_node(n, t))  # fmt: skip
        for group in faults.srlgs:
            self._alternate(f"faults.srlg.{group.name}", group, self._group(group.links, fail=True),
                            self._group(group.links, fail=False))  # fmt: skip
        for m in faults.maintenance:
            env.process(self._maintenance(m))
        for event in self.scenario.timeline:
            if event.traffic is None:
                env.process(self._scheduled_failure(event))

    def _group(self, links: list[str], fail: bool, planned: bool = False) -> Callable[[float], None]:
        def act(at: float) -> None:
            self.network.hold_links(links, +1 if fail else -1, at, planned)

        return act

    def _alternate(self, stream: str, model: FailureModel, fail, repair) -> None:
        rng = self.streams.get(stream)
        obj = stream.split(".", 2)[2]  # faults.link.<id> -> <id>

        def process():
            while True:
                yield self.env.timeout(draw(rng, model.mtbf, model))
                if self.by_workforce:
                    # Await the technician before failing: the repair is dispatched during the failure.
                    waiting = self._awaiting[obj] = self.env.event()
                    fail(self.env.now)
                    yield waiting
                else:
                    fail(self.env.now)
                    yield self.env.timeout(draw(rng, model.mttr, model))
                repair(self.env.now)

        self.env.process(process())

    def _maintenance(self, m):
        start = self.scenario.seconds(m.start)
        yield self.env.timeout(start)
        while True:
            self._set(m.links, m.nodes, down=True, planned=True)
            yield self.env.timeout(m.duration)
            self._set(m.links, m.nodes, down=False, planned=True)
            if m.every is None:
                return
            yield self.env.timeout(max(m.every - m.duration, 0.0))

    def _set(self, links: list[str], nodes: list[str], down: bool, planned: bool = False) -> None:
        now, net = self.env.now, self.network
        for node in nodes:
            (net.fail_node if down else net.repair_node)(node, now, planned)
        if links:
            net.hold_links(links, +1 if down else -1, now, planned)

    def _scheduled_failure(self, event):
        """A failure from the timeline: repaired after 'for', or by the workforce without it."""
        yield self.env.timeout(self.scenario.seconds(event.at))
        links, nodes = self._targets(event)
        if event.for_ is not None:
            self._set(links, nodes, down=True)
            yield self.env.timeout(event.for_)
        else:
            obj = event.fail_link or event.fail_node or event.fail_srlg
            waiting = self._awaiting[obj] = self.env.event()  # before failing: see _alternate
            self._set(links, nodes, down=True)
            yield waiting
        self._set(links, nodes, down=False)

    def _targets(self, event) -> tuple[list[str], list[str]]:
        if event.fail_link is not None:
            return [event.fail_link], []
        if event.fail_node is not None:
            return [], [event.fail_node]
        group = next(g for g in self.scenario.faults.srlgs if g.name == event.fail_srlg)
        return list(group.links), []
