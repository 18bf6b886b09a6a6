"""Checks of a scenario against its topology: every name must name something,
and every bandwidth must fit somewhere. Run by ``--check`` and before a run;
each failure is a ScenarioError with the key path.
"""

from __future__ import annotations

import networkx as nx

from oss_bss.errors import ScenarioError
from sim.scenario import LoadedScenario
from sim.topology import Topology


def check_against_topology(loaded: LoadedScenario, topology: Topology) -> None:
    spec, file = loaded.spec, str(loaded.path)
    graph = topology.graph
    links = {d["id"]: d for _, _, d in graph.edges(data=True)}

    def fail(key: str, reason: str):
        raise ScenarioError(file, reason, key)

    def node(key: str, name: str) -> None:
        if name not in graph:
            fail(key, f"{name!r} is not a node of the topology")

    def link(key: str, name: str) -> None:
        if name not in links:
            sample = ", ".join(sorted(links)[:3])
            fail(key, f"{name!r} is not a link of the topology (links are named like {sample})")

    biggest = max((d["capacity_bps"] for d in links.values()), default=0)
    for i, offering in enumerate(spec.catalog):
        if offering.bandwidth_mbps * 1e6 > biggest:
            fail(f"catalog[{i}].bandwidth_mbps", f"{offering.bandwidth_mbps:g} Mbit/s is more than any link carries "
                 f"({biggest / 1e6:g} Mbit/s)")  # fmt: skip
    for i, group in enumerate(spec.faults.srlgs):
        for j, name in enumerate(group.links):
            link(f"faults.srlgs[{i}].links[{j}]", name)
    for i, m in enumerate(spec.faults.maintenance):
        for j, name in enumerate(m.links):
            link(f"faults.maintenance[{i}].links[{j}]", name)
        for j, name in enumerate(m.nodes):
            node(f"faults.maintenance[{i}].nodes[{j}]", name)
    for i, event in enumerate(spec.timeline):
        if event.fail_link is not None:
            link(f"timeline[{i}].fail_link", event.fail_link)
        if event.fail_node is not None:
            node(f"timeline[{i}].fail_node", event.fail_node)
        if event.traffic is not None:
            for j, name in enumerate(event.traffic.sites or ()):
                node(f"timeline[{i}].traffic.sites[{j}]", name)
    for i, cls in enumerate(spec.capacity.classes):
        node(f"capacity.classes[{i}].from", cls.from_)
        node(f"capacity.classes[{i}].to", cls.to)
        if cls.from_ == cls.to:
            fail(f"capacity.classes[{i}].to", "a session needs two different nodes")
        wide = nx.Graph()
        wide.add_nodes_from(graph.nodes)
        wide.add_edges_from((a, b) for a, b, d in graph.edges(data=True) if d["capacity_bps"] >= cls.bandwidth_mbps * 1e6)
        if not nx.has_path(wide, cls.from_, cls.to):
            fail(f"capacity.classes[{i}].bandwidth_mbps",
                 f"no path from {cls.from_} to {cls.to} has {cls.bandwidth_mbps:g} Mbit/s of capacity")  # fmt: skip
