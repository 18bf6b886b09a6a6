"""The simulated network: implements the operator's ``NetworkPort`` in memory.

Services are internet access from a customer's site to the nearest gateway.
Activation takes the lowest-latency path whose links are all up and all have
the service's bandwidth free, reserves that bandwidth on every link and gives
the service a handle (``network_ref``, the cookie its flows would carry on a
real switch). A link going down stops every service that crosses it and is
published as a ``LinkDown`` event; up again, ``LinkUp``.

Traffic is *offered* by the world (:meth:`SimulatedNetwork.carry`) as arrays of
handles and bytes; the network counts what it carries per handle, and
mediation collects the counters per interval (:meth:`collect_usage`), as it
would poll flow counters from switches.

Routing keeps, per topology state, the unconstrained shortest path from every
node to its nearest gateway (one multi-source Dijkstra); an activation whose
cached path lacks capacity searches again over the links that have it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import networkx as nx
import numpy as np

from oss_bss.bus import Event
from oss_bss.events import LinkDown, LinkUp
from oss_bss.ports import Activation, NetworkTopology, ServiceSpec, UsageBatch
from sim.topology import Topology


def fmt_bps(bps: float) -> str:
    for unit, scale in (("Gbit/s", 1e9), ("Mbit/s", 1e6), ("kbit/s", 1e3)):
        if bps >= scale:
            return f"{bps / scale:g} {unit}"
    return f"{bps:g} bit/s"


@dataclass(slots=True)
class _Service:
    id: str
    ref: int
    bandwidth_bps: int
    path: tuple[str, ...]
    links: tuple[int, ...]
    suspended: bool = False


class SimulatedNetwork:
    """An in-memory network with capacity, link state and flow counters."""

    name = "sim"

    def __init__(self, topology: Topology, publish: Callable[[Event], object] | None = None):
        self.topology_model = topology
        self.publish = publish or (lambda event: None)
        g = topology.graph
        self._link_ids: list[str] = []
        self._ends: list[tuple[str, str]] = []
        cap, lat = [], []
        for a, b, d in g.edges(data=True):
            self._link_ids.append(d["id"])
            self._ends.append((a, b))
            cap.append(d["capacity_bps"])
            lat.append(d["latency_s"])
        self._index = {lid: i for i, lid in enumerate(self._link_ids)}
        self.capacity = np.array(cap, dtype=np.int64)
        self.reserved = np.zeros(len(cap), dtype=np.int64)
        self.latency = np.array(lat, dtype=np.float64)
        self.link_up = np.ones(len(cap), dtype=bool)
        self._pairs: dict[frozenset, list[int]] = {}
        for i, (a, b) in enumerate(self._ends):
            self._pairs.setdefault(frozenset((a, b)), []).append(i)
        self._services: dict[str, _Service] = {}
        self._on_link: list[set[str]] = [set() for _ in cap]
        self._next_ref = 1
        self._carrying = np.zeros(1024, dtype=bool)  # by ref: active, not suspended, path up
        self._counters = np.zeros(1024, dtype=np.int64)  # bytes carried since the last collection
        self._last_collection = 0.0
        self._shortest: dict[str, tuple[list[str], list[int]]] | None = None
        # Searches that found no path: site -> smallest bandwidth refused. Valid
        # until capacity is freed or a link comes back (then cleared).
        self._refused: dict[str, int] = {}

    # -- the port --------------------------------------------------------

    def topology(self) -> NetworkTopology:
        return self.topology_model.view()

    def activate(self, spec: ServiceSpec, at: float) -> Activation:
        if spec.site not in self.topology_model.graph:
            return Activation.refused("unknown_site", f"unknown site {spec.site!r}")
        if spec.service_id in self._services:
            return Activation.refused("already_active", f"service {spec.service_id} is already active")
        route = self._route(spec.site, spec.bandwidth_bps)
        if route is None:
            return Activation.refused(
                "no_capacity", f"no path from {spec.site} to a gateway with {fmt_bps(spec.bandwidth_bps)} free"
            )
        nodes, links = route
        ref = self._next_ref
        self._next_ref += 1
        self._grow(ref)
        svc = _Service(spec.service_id, ref, spec.bandwidth_bps, tuple(nodes), tuple(links))
        self._services[spec.service_id] = svc
        for i in links:
            self.reserved[i] += spec.bandwidth_bps
            self._on_link[i].add(spec.service_id)
        self._carrying[ref] = True
        return Activation(
            ok=True,
            network_ref=ref,
            path=svc.path,
            links=tuple(self._link_ids[i] for i in links),
            latency_s=float(self.latency[list(links)].sum()) if links else 0.0,
        )

    def modify(self, service_id: str, bandwidth_bps: int, at: float) -> Activation:
        svc = self._services[service_id]
        self._release(svc)
        route = self._route(svc.path[0], bandwidth_bps)
        if route is None:
            self._reserve(svc)
            return Activation.refused("no_capacity", f"no path from {svc.path[0]} with {fmt_bps(bandwidth_bps)} free")
        svc.path, svc.links, svc.bandwidth_bps = tuple(route[0]), tuple(route[1]), bandwidth_bps
        self._reserve(svc)
        self._carrying[svc.ref] = not svc.suspended and self._path_up(svc)
        return Activation(True, network_ref=svc.ref, path=svc.path, links=tuple(self._link_ids[i] for i in svc.links))

    def suspend(self, service_id: str, at: float) -> None:
        svc = self._services[service_id]
        svc.suspended = True
        self._carrying[svc.ref] = False

    def resume(self, service_id: str, at: float) -> None:
        svc = self._services[service_id]
        svc.suspended = False
        self._carrying[svc.ref] = self._path_up(svc)

    def deactivate(self, service_id: str, at: float) -> None:
        svc = self._services.pop(service_id)
        self._release(svc)
        self._carrying[svc.ref] = False

    def collect_usage(self, at: float) -> UsageBatch:
        refs = np.flatnonzero(self._counters).astype(np.int64)
        volume = self._counters[refs].copy()
        self._counters[refs] = 0
        start = np.full(len(refs), self._last_collection)
        self._last_collection = at
        return UsageBatch(refs, start, np.full(len(refs), float(at)), volume)

    # -- the world's side ------------------------------------------------

    def carry(self, refs: np.ndarray, volume_bytes: np.ndarray) -> np.ndarray:
        """Offer traffic; count and return what was carried (0 for services not carrying)."""
        carried = np.where(self._carrying[refs], volume_bytes, 0)
        np.add.at(self._counters, refs, carried)
        return carried

    def set_link_state(self, link_id: str, up: bool, at: float) -> None:
        """Fail or repair a link; the services crossing it stop or resume."""
        i = self._index[link_id]
        if bool(self.link_up[i]) == up:
            return
        self.link_up[i] = up
        self._shortest = None
        if up:
            self._refused.clear()
        affected = sorted(self._on_link[i], key=lambda s: self._services[s].ref)
        for sid in affected:
            svc = self._services[sid]
            self._carrying[svc.ref] = not svc.suspended and self._path_up(svc)
        self.publish((LinkUp if up else LinkDown)(at, link_id, tuple(affected)))

    def utilisation(self) -> np.ndarray:
        """Reserved share of each link's capacity."""
        return self.reserved / self.capacity

    @property
    def link_ids(self) -> list[str]:
        return list(self._link_ids)

    # -- internals -------------------------------------------------------

    def _grow(self, ref: int) -> None:
        if ref < len(self._carrying):
            return
        size = max(ref + 1, 2 * len(self._carrying))
        for name in ("_carrying", "_counters"):
            old = getattr(self, name)
            new = np.zeros(size, dtype=old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)

    def _path_up(self, svc: _Service) -> bool:
        return bool(self.link_up[list(svc.links)].all()) if svc.links else True

    def _release(self, svc: _Service) -> None:
        self._refused.clear()
        for i in svc.links:
            self.reserved[i] -= svc.bandwidth_bps
            self._on_link[i].discard(svc.id)

    def _reserve(self, svc: _Service) -> None:
        for i in svc.links:
            self.reserved[i] += svc.bandwidth_bps
            self._on_link[i].add(svc.id)

    def _graph(self, usable: np.ndarray) -> nx.Graph:
        """A simple graph of the usable links, the lowest-latency one per node pair."""
        g = nx.Graph()
        g.add_nodes_from(self.topology_model.graph.nodes)
        for (a, b), i in zip(self._ends, range(len(self._ends))):
            if not usable[i]:
                continue
            if g.has_edge(a, b) and g[a][b]["latency"] <= self.latency[i]:
                continue
            g.add_edge(a, b, latency=float(self.latency[i]), link=i)
        return g

    def _paths(self, g: nx.Graph, target: str | None = None):
        gateways = [gw for gw in self.topology_model.gateways if gw in g]
        if not gateways:
            return {}
        if target is not None:
            try:
                _, path = nx.multi_source_dijkstra(g, gateways, target=target, weight="latency")
            except nx.NetworkXNoPath:
                return {}
            paths = {target: path}
        else:
            _, paths = nx.multi_source_dijkstra(g, gateways, weight="latency")
        out = {}
        for node, path in paths.items():
            nodes = list(reversed(path))  # customer site first
            out[node] = (nodes, [g[a][b]["link"] for a, b in zip(nodes, nodes[1:])])
        return out

    def _route(self, site: str, bandwidth_bps: int) -> tuple[list[str], list[int]] | None:
        if self._shortest is None:
            self._shortest = self._paths(self._graph(self.link_up))
        best = self._shortest.get(site)
        if best is None:
            return None
        nodes, links = best
        if all(self.capacity[i] - self.reserved[i] >= bandwidth_bps for i in links):
            return best
        if self._refused.get(site, bandwidth_bps + 1) <= bandwidth_bps:
            return None  # nothing was freed since a smaller request from here failed
        usable = self.link_up & (self.capacity - self.reserved >= bandwidth_bps)
        found = self._paths(self._graph(usable), target=site).get(site)
        if found is None:
            self._refused[site] = min(bandwidth_bps, self._refused.get(site, bandwidth_bps))
        return found
