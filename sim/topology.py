"""Network topologies: generated ones and real ones read from GraphML or GML.

A :class:`Topology` is a networkx ``MultiGraph`` whose nodes are named (the
file's ``label``, or Mininet's ``s1``, ``s2``... for generated ones) and whose
edges carry ``id``, ``capacity_bps`` and ``latency_s``.

What real files (the Internet Topology Zoo) need, and what is done:

* link speed: ``LinkSpeedRaw`` (bit/s) when present, else ``LinkSpeed`` with
  ``LinkSpeedUnits``, else a speed written in ``LinkType`` or ``LinkLabel``
  (``OC-192``, ``10 Gbps``, ``155 Mbps``), else the scenario's default;
* latency: great-circle distance between the two ends over fibre, at the
  speed of light in glass (c / 1.468, about 4.9 us per km), when both ends
  have coordinates; the scenario's default otherwise;
* parallel links are kept as separate links (``A--B``, ``A--B#2``);
* duplicate node labels are made unique with the file's node id;
* several connected components are kept; each gets its own gateway.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import networkx as nx

from oss_bss.errors import ScenarioError
from oss_bss.ports import LinkInfo, NetworkTopology, NodeInfo, SharedRiskGroup
from sim.scenario import LoadedScenario, TopologyBuilder

EARTH_RADIUS_KM = 6371.0088
FIBRE_KM_PER_S = 299_792.458 / 1.468  # group index of standard single-mode fibre
_UNITS = {"": 1, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}
_SPEED_TEXT = re.compile(r"(\d+(?:\.\d+)?)\s*([KMGT]?)(?:bit/s|bps|b/s)", re.IGNORECASE)
_OC_TEXT = re.compile(r"\bOC-?(\d+)", re.IGNORECASE)


@dataclass
class Topology:
    name: str
    graph: nx.MultiGraph
    gateways: tuple[str, ...]
    srlgs: tuple[SharedRiskGroup, ...] = ()  # from the scenario's faults.srlgs

    def view(self) -> NetworkTopology:
        """The operator's read-only view (what the network port reports)."""
        gw = set(self.gateways)
        nodes = tuple(
            NodeInfo(n, d.get("latitude"), d.get("longitude"), n in gw) for n, d in self.graph.nodes(data=True)
        )
        links = tuple(
            LinkInfo(d["id"], a, b, d["capacity_bps"], d["latency_s"]) for a, b, d in self.graph.edges(data=True)
        )
        return NetworkTopology(self.name, nodes, links, self.srlgs)


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance on a spherical Earth (mean radius)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def link_speed_bps(attrs: dict) -> float | None:
    """The link speed a Topology Zoo edge declares, in bit/s, or None."""
    raw = attrs.get("LinkSpeedRaw")
    if isinstance(raw, (int, float)) and raw > 0:
        return float(raw)
    speed, unit = attrs.get("LinkSpeed"), str(attrs.get("LinkSpeedUnits", "")).upper()
    if speed is not None and unit in _UNITS:
        try:
            value = float(speed) * _UNITS[unit]
        except ValueError:
            value = 0
        if value > 0:
            return value
    for key in ("LinkType", "LinkLabel"):
        text = str(attrs.get(key, ""))
        if m := _OC_TEXT.search(text):
            return int(m.group(1)) * 51.84e6
        if m := _SPEED_TEXT.search(text):
            return float(m.group(1)) * _UNITS[m.group(2).upper()]
    return None


def _read_graph(path: Path) -> nx.MultiGraph:
    if path.suffix.lower() == ".graphml":
        return nx.read_graphml(path, force_multigraph=True)
    text = path.read_text(encoding="utf-8")
    # Zoo GML files repeat edges without declaring a multigraph; networkx then refuses them.
    if not re.search(r"^\s*multigraph\s+1", text, re.MULTILINE):
        text = re.sub(r"graph\s*\[", "graph [\n  multigraph 1", text, count=1)
    return nx.MultiGraph(nx.parse_gml(text, label="id"))


def _coordinate(value) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def read_topology_file(path: Path, capacity_bps: float, latency_s: float) -> tuple[str, nx.MultiGraph]:
    """Read a GraphML or GML file into a named MultiGraph with link attributes."""
    raw = _read_graph(path)
    labels = [str(d.get("label", n)) for n, d in raw.nodes(data=True)]
    repeated = {lab for lab in labels if labels.count(lab) > 1}
    names: dict = {}
    graph = nx.MultiGraph()
    for (node, data), label in zip(raw.nodes(data=True), labels):
        name = f"{label} ({node})" if label in repeated else label
        names[node] = name
        graph.add_node(name, latitude=_coordinate(data.get("Latitude")), longitude=_coordinate(data.get("Longitude")))
    for a, b, data in raw.edges(data=True):
        na, nb = names[a], names[b]
        if na == nb:
            continue  # a self-loop carries nothing between nodes
        speed = link_speed_bps(data) or capacity_bps
        _add_link(graph, na, nb, int(speed), _latency(graph, na, nb, latency_s))
    return str(raw.graph.get("label") or raw.graph.get("Network") or path.stem), graph


def _latency(graph: nx.MultiGraph, a: str, b: str, default_s: float) -> float:
    da, db = graph.nodes[a], graph.nodes[b]
    if None in (da["latitude"], da["longitude"], db["latitude"], db["longitude"]):
        return default_s
    return great_circle_km(da["latitude"], da["longitude"], db["latitude"], db["longitude"]) / FIBRE_KM_PER_S


def _add_link(graph: nx.MultiGraph, a: str, b: str, capacity_bps: int, latency_s: float) -> None:
    n = graph.number_of_edges(a, b)
    link_id = f"{a}--{b}" + (f"#{n + 1}" if n else "")
    graph.add_edge(a, b, key=link_id, id=link_id, capacity_bps=capacity_bps, latency_s=latency_s)


def build_topology(builder: TopologyBuilder, capacity_bps: float, latency_s: float, seed: int) -> nx.MultiGraph:
    """A generated topology, its nodes named s1..sN as Mininet names switches."""
    n = builder.nodes
    positions = None
    if builder.kind == "linear":
        base = nx.path_graph(n)
    elif builder.kind == "ring":
        base = nx.cycle_graph(n)
    elif builder.kind == "star":
        base = nx.star_graph(n - 1)
    elif builder.kind == "tree":
        base = nx.full_rary_tree(builder.branching, n)
    else:
        base = nx.random_geometric_graph(n, builder.radius, seed=seed)
        positions = nx.get_node_attributes(base, "pos")
    graph = nx.MultiGraph()
    for node in sorted(base.nodes):
        graph.add_node(f"s{node + 1}", latitude=None, longitude=None)
    for a, b in sorted(tuple(sorted(e)) for e in base.edges):
        latency = latency_s
        if positions is not None:
            km = math.dist(positions[a], positions[b]) * builder.extent_km
            latency = km / FIBRE_KM_PER_S
        _add_link(graph, f"s{a + 1}", f"s{b + 1}", int(capacity_bps), latency)
    return graph


def default_gateways(graph: nx.MultiGraph) -> tuple[str, ...]:
    """The most central node (closeness, in hops) of each connected component."""
    order = {n: i for i, n in enumerate(graph.nodes)}
    gateways = []
    for component in nx.connected_components(graph):
        sub = nx.Graph(graph.subgraph(component))
        closeness = nx.closeness_centrality(sub)
        gateways.append(max(component, key=lambda n: (closeness[n], -order[n])))
    return tuple(sorted(gateways, key=order.__getitem__))


def load_topology(scenario: LoadedScenario, seed: int) -> Topology:
    """The topology a scenario describes, with its gateways checked."""
    cfg = scenario.spec.topology
    capacity, latency = cfg.capacity_mbps * 1e6, cfg.latency_ms / 1e3
    if cfg.file is not None:
        path = scenario.resolve(cfg.file)
        try:
            name, graph = read_topology_file(path, capacity, latency)
        except (OSError, nx.NetworkXError, ValueError, KeyError, SyntaxError) as exc:
            raise ScenarioError(str(scenario.path), f"cannot read {path.name}: {exc}", "topology.file") from None
    else:
        name = f"{cfg.builder.kind}-{cfg.builder.nodes}"
        graph = build_topology(cfg.builder, capacity, latency, seed)
    if graph.number_of_nodes() == 0:
        raise ScenarioError(str(scenario.path), "the topology has no nodes", "topology")
    if cfg.gateways is None:
        gateways = default_gateways(graph)
    else:
        for i, gw in enumerate(cfg.gateways):
            if gw not in graph:
                known = ", ".join(sorted(graph.nodes)[:8])
                raise ScenarioError(
                    str(scenario.path), f"{gw!r} is not a node of the topology (nodes: {known}, ...)",
                    f"topology.gateways[{i}]",
                )
        gateways = tuple(cfg.gateways)
    srlgs = tuple(SharedRiskGroup(g.name, tuple(g.links)) for g in scenario.spec.faults.srlgs)
    return Topology(name, graph, gateways, srlgs)
