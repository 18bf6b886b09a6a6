"""The simulated network: implements the operator's ``NetworkPort`` in memory.

Services are internet access from a customer's site to the nearest gateway.
Activation takes the lowest-latency path whose links are all up and all have
the service's bandwidth free, reserves that bandwidth on every link and gives
the service a handle (``network_ref``, the cookie its flows would carry on a
real switch).

Faults: a link is down while anything holds it down (its own failure, a
shared-risk group it belongs to, one of its end nodes, maintenance); causes
are counted, so overlapping faults compose. A link going down stops every
service crossing it, except protected services that can be rerouted around
it (``ServiceRerouted``); the rest come back when it is repaired. Each change
is published on the bus (``NodeDown``, ``LinkDown``, ...), and up and down
times are accumulated for measured availability.

Sessions with guaranteed bandwidth between two nodes (:meth:`admit`) are
admitted only where a path has the bandwidth; otherwise they are blocked, and
the blocking is charged to the bottleneck link.

Traffic is *offered* by the world (:meth:`carry`) as arrays of handles and
bytes; the network counts what it carries per handle, and mediation collects
the counters per interval (:meth:`collect_usage`), as it would poll flow
counters from switches. :meth:`collect_kpis` turns an interval's traffic into link
utilisation, delay and loss (M/M/1/K, :mod:`sim.queueing`) and per-service
latency, loss and throughput.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from oss_bss.bus import Event
from oss_bss.events import LinkDown, LinkUp, NodeDown, NodeUp, ServiceRerouted
from oss_bss.ports import Activation, KpiBatch, NetworkTopology, ServiceSpec, UsageBatch
from sim.queueing import link_delay_and_loss
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
    protected: bool = False
    suspended: bool = False


class SimulatedNetwork:
    """An in-memory network with capacity, faults, flow counters and a congestion model."""

    name = "sim"

    def __init__(
        self,
        topology: Topology,
        publish: Callable[[Event], object] | None = None,
        *,
        packet_bytes: int = 1500,
        buffer_packets: int = 1000,
    ):
        self.topology_model = topology
        self.publish = publish or (lambda event: None)
        self.packet_bits = packet_bytes * 8.0
        self.K = buffer_packets + 1
        g = topology.graph
        self._link_ids: list[str] = []
        self._ends: list[tuple[str, str]] = []
        cap, lat = [], []
        for a, b, d in g.edges(data=True):
            self._link_ids.append(d["id"])
            self._ends.append((a, b))
            cap.append(d["capacity_bps"])
            lat.append(d["latency_s"])
        n = len(cap)
        self._index = {lid: i for i, lid in enumerate(self._link_ids)}
        self._nodes = list(g.nodes)
        self._node_index = {node: i for i, node in enumerate(self._nodes)}
        self._a_idx = np.array([self._node_index[a] for a, _ in self._ends], dtype=np.int64)
        self._b_idx = np.array([self._node_index[b] for _, b in self._ends], dtype=np.int64)
        lo, hi = np.minimum(self._a_idx, self._b_idx), np.maximum(self._a_idx, self._b_idx)
        self._pair_key = lo * len(self._nodes) + hi  # one key per node pair (parallel links share it)
        # Routing matrix: one entry per node pair, built once; each search only
        # writes the pair weights (the best usable parallel link, or infinity).
        self._pairs, self._pair_of_link = np.unique(self._pair_key, return_inverse=True)
        self._by_pair = np.argsort(self._pair_of_link, kind="stable")
        self._pair_starts = np.searchsorted(self._pair_of_link[self._by_pair], np.arange(len(self._pairs)))
        n_nodes = len(self._nodes)
        self._matrix = csr_matrix(
            (np.ones(len(self._pairs)), (self._pairs // n_nodes, self._pairs % n_nodes)), shape=(n_nodes, n_nodes)
        )
        self._matrix.sort_indices()  # data in pair-key order, as self._pairs
        self._incident: dict[str, list[int]] = {node: [] for node in g.nodes}
        for i, (a, b) in enumerate(self._ends):
            self._incident[a].append(i)
            self._incident[b].append(i)
        self.capacity = np.array(cap, dtype=np.int64)
        self.reserved = np.zeros(n, dtype=np.int64)
        self.latency = np.array(lat, dtype=np.float64)
        self._holds = np.zeros(n, dtype=np.int64)  # causes holding each link down
        self._node_down: set[str] = set()
        self._node_holds: dict[str, int] = {}  # causes holding each node down
        self._at_node: dict[str, set[str]] = {}  # services with no links (their site is a gateway)
        self._services: dict[str, _Service] = {}
        self._on_link: list[set[str]] = [set() for _ in range(n)]
        self._next_ref = 1
        self._carrying = np.zeros(1024, dtype=bool)  # by ref: active, not suspended, path up now
        self._admitted = np.zeros(1024, dtype=bool)  # by ref: active and not suspended
        self._down_from = np.full(1024, np.nan)  # by ref: start of the current outage, NaN when up
        self._active_from = np.zeros(1024)  # by ref: activation time
        self._down_acc = np.zeros(1024)  # by ref: outage seconds closed since the interval started
        self._interval_start = 0.0
        self._counters = np.zeros(1024, dtype=np.int64)  # bytes since the last usage collection
        self._totals = np.zeros(1024, dtype=np.int64)  # bytes ever carried, for revenue assurance
        self._interval = np.zeros(1024, dtype=np.int64)  # bytes since the last measurement
        self._last_collection = 0.0
        self._last_measure = 0.0
        self._shortest: dict[tuple[str, ...], dict] = {}
        # Searches that found no path: (site, targets) -> smallest bandwidth refused.
        # Valid until capacity is freed or a link comes back.
        self._refused: dict[tuple, int] = {}
        # Availability: link down time, and service outage time (path down, not suspension).
        self._link_down_since = np.full(n, np.nan)
        self.link_downtime = np.zeros(n)
        self._svc_down_since: dict[int, float] = {}
        self._svc_downtime: dict[int, float] = {}
        self._svc_active_since: dict[int, float] = {}
        self._svc_active_time: dict[int, float] = {}
        # Guaranteed-bandwidth sessions, and their bandwidth-time per link for utilisation.
        self._sessions: dict[int, tuple[int, tuple[int, ...]]] = {}
        self._next_session = 1
        self._session_bps = np.zeros(n, dtype=np.float64)
        self._session_bits = np.zeros(n, dtype=np.float64)
        self._session_clock = 0.0
        # (service ref, link) pairs of every live path, kept incrementally: appended on
        # reserve, masked out on release, compacted when half are stale.
        self._inc_ref = np.zeros(4096, dtype=np.int64)
        self._inc_link = np.zeros(4096, dtype=np.int64)
        self._inc_live = np.zeros(4096, dtype=bool)
        self._inc_n = 0
        self._inc_stale = 0
        self._inc_at: dict[str, tuple[int, int]] = {}  # service id -> (first entry, count)

    # -- the port --------------------------------------------------------

    def topology(self) -> NetworkTopology:
        return self.topology_model.view()

    def activate(self, spec: ServiceSpec, at: float) -> Activation:
        if spec.site not in self.topology_model.graph:
            return Activation.refused("unknown_site", f"unknown site {spec.site!r}")
        if spec.service_id in self._services:
            return Activation.refused("already_active", f"service {spec.service_id} is already active")
        route = self._route(spec.site, spec.bandwidth_bps, self._targets(spec))
        if route is None:
            return Activation.refused(
                "no_capacity", f"no path from {spec.site} to a gateway with {fmt_bps(spec.bandwidth_bps)} free"
            )
        nodes, links = route
        ref = self._next_ref
        self._next_ref += 1
        self._grow(ref)
        svc = _Service(spec.service_id, ref, spec.bandwidth_bps, tuple(nodes), tuple(links), spec.protected)
        self._services[spec.service_id] = svc
        self._reserve(svc)
        self._carrying[ref] = self._admitted[ref] = True
        self._svc_active_since[ref] = at
        self._active_from[ref] = at
        return self._activation(svc)

    def modify(self, service_id: str, bandwidth_bps: int, at: float) -> Activation:
        svc = self._services[service_id]
        self._release(svc)
        route = self._route(svc.path[0], bandwidth_bps, self._targets_of(svc))
        if route is None:
            self._reserve(svc)
            return Activation.refused("no_capacity", f"no path from {svc.path[0]} with {fmt_bps(bandwidth_bps)} free")
        moved = tuple(route[1]) != svc.links
        svc.path, svc.links, svc.bandwidth_bps = tuple(route[0]), tuple(route[1]), bandwidth_bps
        self._reserve(svc)
        self._update_carrying(svc, at)
        if moved:
            self.publish(ServiceRerouted(at, svc.id, svc.path, tuple(self._link_ids[i] for i in svc.links)))
        return self._activation(svc)

    def move(self, service_id: str, site: str, at: float) -> Activation:
        svc = self._services[service_id]
        if site not in self.topology_model.graph:
            return Activation.refused("unknown_site", f"unknown site {site!r}")
        self._release(svc)
        route = self._route(site, svc.bandwidth_bps, self._targets_of(svc))
        if route is None:
            self._reserve(svc)
            return Activation.refused("no_capacity", f"no path from {site} with {fmt_bps(svc.bandwidth_bps)} free")
        svc.path, svc.links = tuple(route[0]), tuple(route[1])
        self._reserve(svc)
        self._update_carrying(svc, at)
        return self._activation(svc)

    def suspend(self, service_id: str, at: float) -> None:
        svc = self._services[service_id]
        svc.suspended = True
        self._carrying[svc.ref] = self._admitted[svc.ref] = False

    def resume(self, service_id: str, at: float) -> None:
        svc = self._services[service_id]
        svc.suspended = False
        self._admitted[svc.ref] = True
        self._carrying[svc.ref] = self._path_up(svc)

    def deactivate(self, service_id: str, at: float) -> None:
        svc = self._services.pop(service_id)
        self._release(svc)
        self._close_outage(svc.ref, at)
        self._carrying[svc.ref] = self._admitted[svc.ref] = False
        since = self._svc_active_since.pop(svc.ref)
        self._svc_active_time[svc.ref] = self._svc_active_time.get(svc.ref, 0.0) + at - since

    def collect_usage(self, at: float) -> UsageBatch:
        refs = np.flatnonzero(self._counters).astype(np.int64)
        volume = self._counters[refs].copy()
        self._counters[refs] = 0
        start = np.full(len(refs), self._last_collection)
        self._last_collection = at
        return UsageBatch(refs, start, np.full(len(refs), float(at)), volume)

    def usage_totals(self) -> tuple[np.ndarray, np.ndarray]:
        refs = np.flatnonzero(self._totals).astype(np.int64)
        return refs, self._totals[refs].copy()

    # -- the world's side: traffic ---------------------------------------

    def carry(
        self, refs: np.ndarray, volume_bytes: np.ndarray, start: float | None = None, end: float | None = None
    ) -> np.ndarray:
        """Offer the traffic of [start, end); count and return what was carried.

        A service carries the share of its traffic offered while it existed
        and its path was up in the interval (traffic is taken as spread evenly
        over it), and
        nothing while suspended or inactive. Without an interval, the state
        of the moment decides.
        """
        if start is None or end is None or end <= start:
            carried = np.where(self._carrying[refs], volume_bytes, 0)
        else:
            since = self._down_from[refs]
            open_ = np.where(np.isnan(since), 0.0, end - np.maximum(np.nan_to_num(since), start))
            live = end - np.maximum(self._active_from[refs], start)  # a service activated mid-interval
            up = np.clip((live - self._down_acc[refs] - open_) / (end - start), 0.0, 1.0)
            carried = np.where(self._admitted[refs], np.rint(volume_bytes * up), 0).astype(np.int64)
            self._down_acc[:] = 0.0
            self._interval_start = end
        np.add.at(self._counters, refs, carried)
        np.add.at(self._interval, refs, carried)
        np.add.at(self._totals, refs, carried)
        return carried

    def collect_kpis(self, at: float) -> KpiBatch:
        """Link and service performance over the interval since the last measurement."""
        start, self._last_measure = self._last_measure, at
        span = max(at - start, 1e-9)
        self._advance_sessions(at)
        refs = np.flatnonzero(self._interval)
        bits = self._interval[refs] * 8.0
        self._interval[refs] = 0
        entry_ref, entry_link = self._incidence_arrays()
        per_ref_bits = np.zeros(len(self._interval))
        per_ref_bits[refs] = bits
        offered = np.bincount(entry_link, weights=per_ref_bits[entry_ref], minlength=len(self.capacity)) / span
        offered += self._session_bits / span
        self._session_bits[:] = 0.0
        rho, sojourn, loss = link_delay_and_loss(offered, self.capacity, self.packet_bits, self.K)
        delay = self.latency + sojourn
        size = len(self._interval)
        latency = np.bincount(entry_ref, weights=delay[entry_link], minlength=size)
        log_pass = np.bincount(entry_ref, weights=np.log1p(-np.minimum(loss[entry_link], 1 - 1e-15)), minlength=size)
        svc_loss = -np.expm1(log_pass[refs])
        return KpiBatch(
            start, at, tuple(self._link_ids), rho, delay, loss, refs.astype(np.int64), latency[refs], svc_loss,
            bits / span * (1.0 - svc_loss),
        )  # fmt: skip

    # -- the world's side: sessions with guaranteed bandwidth -------------

    def admit(self, a: str, z: str, bandwidth_bps: int, at: float) -> tuple[int | None, str | None]:
        """Admit a session a -> z: (session id, None), or (None, the link that blocked it)."""
        self._advance_sessions(at)
        route = self._route(a, bandwidth_bps, (z,))
        if route is None:
            return None, self._bottleneck(a, z, bandwidth_bps)
        links = tuple(route[1])
        for i in links:
            self.reserved[i] += bandwidth_bps
        self._session_bps[list(links)] += bandwidth_bps
        sid = self._next_session
        self._next_session += 1
        self._sessions[sid] = (bandwidth_bps, links)
        return sid, None

    def release(self, session_id: int, at: float) -> None:
        self._advance_sessions(at)
        bandwidth, links = self._sessions.pop(session_id)
        for i in links:
            self.reserved[i] -= bandwidth
        self._session_bps[list(links)] -= bandwidth
        self._refused.clear()

    # -- the world's side: faults ----------------------------------------

    def fail_link(self, link_id: str, at: float, planned: bool = False) -> None:
        self._hold([self._index[link_id]], +1, at, planned)

    def repair_link(self, link_id: str, at: float, planned: bool = False) -> None:
        self._hold([self._index[link_id]], -1, at, planned)

    def fail_node(self, node: str, at: float, planned: bool = False) -> None:
        """One more cause holds ``node`` down; the first takes it and its links down."""
        self._node_holds[node] = self._node_holds.get(node, 0) + 1
        if self._node_holds[node] > 1:
            return
        links = self._incident[node]
        self._node_down.add(node)
        local = self._local_changes(node, at)
        self.publish(NodeDown(at, node, tuple(self._link_ids[i] for i in links), local, planned))
        self._hold(links, +1, at, planned)

    def repair_node(self, node: str, at: float, planned: bool = False) -> None:
        """One cause less; the last brings the node and its links back."""
        if self._node_holds.get(node, 0) == 0:
            return
        self._node_holds[node] -= 1
        if self._node_holds[node] > 0:
            return
        self._node_down.discard(node)
        self._hold(self._incident[node], -1, at, planned)
        local = self._local_changes(node, at)
        self.publish(NodeUp(at, node, tuple(self._link_ids[i] for i in self._incident[node]), local, planned))

    def _local_changes(self, node: str, at: float) -> tuple[str, ...]:
        """Update the link-less services at ``node``; those whose state changed."""
        changed = []
        for sid in sorted(self._at_node.get(node, ()), key=lambda s: self._services[s].ref):
            svc = self._services[sid]
            was_up = svc.ref not in self._svc_down_since
            self._update_carrying(svc, at)
            if was_up != (svc.ref not in self._svc_down_since):
                changed.append(sid)
        return tuple(changed)

    def hold_links(self, link_ids: list[str], delta: int, at: float, planned: bool = False) -> None:
        """Fail (+1) or repair (-1) several links at once (a shared-risk group, maintenance)."""
        self._hold([self._index[lid] for lid in link_ids], delta, at, planned)

    def incident_link_ids(self, node: str) -> list[str]:
        """The links that end at ``node``."""
        return [self._link_ids[i] for i in self._incident[node]]

    def nominal_links(self, a: str, z: str) -> list[str]:
        """Link ids of the lowest-latency path a -> z with everything up."""
        route = self._read_path(self._search(np.ones(len(self.capacity), bool), (z,)), a)
        return [self._link_ids[i] for i in route[1]] if route else []

    def set_link_state(self, link_id: str, up: bool, at: float) -> None:
        """Fail or repair a link once (tests and simple timelines)."""
        (self.repair_link if up else self.fail_link)(link_id, at)

    def availability(self, end: float) -> dict:
        """Measured availability per link, network-wide, and of the services' paths."""
        down = self.link_downtime.copy()
        open_ = ~np.isnan(self._link_down_since)
        down[open_] += end - self._link_down_since[open_]
        per_link = 1.0 - down / end if end > 0 else np.ones_like(down)
        outage = dict(self._svc_downtime)
        for ref, since in self._svc_down_since.items():
            outage[ref] = outage.get(ref, 0.0) + end - since
        active = dict(self._svc_active_time)
        for ref, since in self._svc_active_since.items():
            active[ref] = active.get(ref, 0.0) + end - since
        total_active = sum(active.values())
        return {
            "network": float(1.0 - down.sum() / (end * len(down))) if end > 0 and len(down) else 1.0,
            "services": float(1.0 - sum(outage.values()) / total_active) if total_active > 0 else 1.0,
            "links": {lid: float(a) for lid, a in zip(self._link_ids, per_link)},
        }

    @property
    def link_ids(self) -> list[str]:
        return list(self._link_ids)

    # -- internals: faults -------------------------------------------------

    def _hold(self, links: list[int], delta: int, at: float, planned: bool) -> None:
        changed: list[tuple[int, bool]] = []
        for i in links:
            before = self._holds[i] == 0
            self._holds[i] = max(0, self._holds[i] + delta)
            after = self._holds[i] == 0
            if before != after:
                changed.append((i, after))
        if not changed:
            return
        self._shortest.clear()
        if any(up for _, up in changed):
            self._refused.clear()
        for i, up in changed:
            if up:
                self.link_downtime[i] += at - self._link_down_since[i]
                self._link_down_since[i] = np.nan
            else:
                self._link_down_since[i] = at
            affected = sorted(self._on_link[i], key=lambda s: self._services[s].ref)
            rerouted: list[ServiceRerouted] = []
            moved: list[str] = []  # services that changed state: lost service, or got it back
            for sid in affected:
                svc = self._services[sid]
                was_up = svc.ref not in self._svc_down_since
                if not up and svc.protected and not self._path_up(svc):
                    event = self._reroute(svc, at)
                    if event is not None:
                        rerouted.append(event)
                self._update_carrying(svc, at)
                if was_up != (svc.ref not in self._svc_down_since):
                    moved.append(sid)
            # The link event first (with the services it cost, or gave back), then the reroutes.
            self.publish((LinkUp if up else LinkDown)(at, self._link_ids[i], tuple(moved), planned))
            for event in rerouted:
                self.publish(event)

    def _reroute(self, svc: _Service, at: float) -> ServiceRerouted | None:
        self._release(svc)
        route = self._route(svc.path[0], svc.bandwidth_bps, self._targets_of(svc))
        if route is None:
            self._reserve(svc)  # no way round: it waits for the repair on its path
            return None
        svc.path, svc.links = tuple(route[0]), tuple(route[1])
        self._reserve(svc)
        return ServiceRerouted(at, svc.id, svc.path, tuple(self._link_ids[i] for i in svc.links))

    def _update_carrying(self, svc: _Service, at: float) -> None:
        up = self._path_up(svc)
        if up:
            self._close_outage(svc.ref, at)
        elif svc.ref not in self._svc_down_since:
            self._svc_down_since[svc.ref] = at
            self._down_from[svc.ref] = at
        self._carrying[svc.ref] = up and not svc.suspended

    def _close_outage(self, ref: int, at: float) -> None:
        since = self._svc_down_since.pop(ref, None)
        if since is not None:
            self._svc_downtime[ref] = self._svc_downtime.get(ref, 0.0) + at - since
            self._down_acc[ref] += at - max(since, self._interval_start)
            self._down_from[ref] = np.nan

    # -- internals: resources ----------------------------------------------

    def _activation(self, svc: _Service) -> Activation:
        return Activation(
            ok=True,
            network_ref=svc.ref,
            path=svc.path,
            links=tuple(self._link_ids[i] for i in svc.links),
            latency_s=float(self.latency[list(svc.links)].sum()) if svc.links else 0.0,
        )

    def _targets(self, spec: ServiceSpec) -> tuple[str, ...]:
        return (spec.z_site,) if spec.z_site else self.topology_model.gateways

    def _targets_of(self, svc: _Service) -> tuple[str, ...]:
        return self.topology_model.gateways if svc.path[-1] in self.topology_model.gateways else (svc.path[-1],)

    def _grow(self, ref: int) -> None:
        if ref < len(self._carrying):
            return
        size = max(ref + 1, 2 * len(self._carrying))
        for name in ("_carrying", "_admitted", "_counters", "_interval", "_down_from", "_down_acc", "_active_from",
                     "_totals"):
            old = getattr(self, name)
            new = np.full(size, np.nan) if name == "_down_from" else np.zeros(size, dtype=old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)

    def _path_up(self, svc: _Service) -> bool:
        return bool((self._holds[list(svc.links)] == 0).all()) if svc.links else svc.path[0] not in self._node_down

    def _release(self, svc: _Service) -> None:
        self._refused.clear()
        first, count = self._inc_at.pop(svc.id, (0, 0))
        self._inc_live[first : first + count] = False
        self._inc_stale += count
        self._at_node.get(svc.path[0], set()).discard(svc.id)
        for i in svc.links:
            self.reserved[i] -= svc.bandwidth_bps
            self._on_link[i].discard(svc.id)

    def _reserve(self, svc: _Service) -> None:
        count = len(svc.links)
        if self._inc_n + count > len(self._inc_ref):
            self._compact_incidence(extra=count)
        first = self._inc_n
        self._inc_ref[first : first + count] = svc.ref
        self._inc_link[first : first + count] = svc.links
        self._inc_live[first : first + count] = True
        self._inc_n += count
        self._inc_at[svc.id] = (first, count)
        if not svc.links:
            self._at_node.setdefault(svc.path[0], set()).add(svc.id)
        for i in svc.links:
            self.reserved[i] += svc.bandwidth_bps
            self._on_link[i].add(svc.id)

    def _incidence_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(ref, link) pairs of every live service's path."""
        n = self._inc_n
        live = self._inc_live[:n]
        return self._inc_ref[:n][live], self._inc_link[:n][live]

    def _compact_incidence(self, extra: int) -> None:
        """Drop stale entries (when half are), or grow the arrays, to fit ``extra`` more."""
        n = self._inc_n
        if self._inc_stale * 2 > n:
            live = np.flatnonzero(self._inc_live[:n])
            new_pos = np.full(n, -1, dtype=np.int64)
            new_pos[live] = np.arange(len(live))
            self._inc_ref[: len(live)] = self._inc_ref[live]
            self._inc_link[: len(live)] = self._inc_link[live]
            self._inc_live[: len(live)] = True
            self._inc_live[len(live) : n] = False
            self._inc_at = {sid: (int(new_pos[first]), count) if count else (0, 0)
                            for sid, (first, count) in self._inc_at.items()}  # fmt: skip
            self._inc_n, self._inc_stale = len(live), 0
        size = len(self._inc_ref)
        if self._inc_n + extra > size:
            new = max(self._inc_n + extra, 2 * size)
            for name in ("_inc_ref", "_inc_link", "_inc_live"):
                old = getattr(self, name)
                grown = np.zeros(new, dtype=old.dtype)
                grown[:size] = old
                setattr(self, name, grown)

    def _advance_sessions(self, at: float) -> None:
        self._session_bits += self._session_bps * (at - self._session_clock)
        self._session_clock = at

    # -- internals: routing ------------------------------------------------
    #
    # Shortest paths by latency with SciPy's compiled Dijkstra over a sparse
    # matrix of the usable links (the lowest-latency one per node pair),
    # searched from the targets (gateways) towards every node at once; a path
    # is then read back from the predecessor array, site first.

    def _search(self, usable: np.ndarray, targets: tuple[str, ...]):
        """Distances, predecessors and the link chosen per node pair, from the nearest target."""
        sources = [self._node_index[t] for t in targets if t not in self._node_down]
        if not sources or len(self._pairs) == 0:
            return None
        weight = np.where(usable & self._node_ok(), self.latency + 1e-12, np.inf)[self._by_pair]
        best = np.minimum.reduceat(weight, self._pair_starts)
        segment = self._pair_of_link[self._by_pair]
        hit = np.flatnonzero(weight == best[segment])
        first = hit[np.r_[True, segment[hit][1:] != segment[hit][:-1]]]
        chosen = self._by_pair[first]  # per pair, its lowest-latency usable link
        self._matrix.data[:] = best  # a zero weight would read as "no edge": hence the 1e-12
        dist, pred, _ = dijkstra(self._matrix, directed=False, indices=sources, return_predecessors=True, min_only=True)
        return dist, pred, chosen

    def _read_path(self, search, site: str):
        if search is None:
            return None
        dist, pred, chosen = search
        s = self._node_index[site]
        if not np.isfinite(dist[s]):
            return None  # no target reachable from the site
        nodes = [s]
        while pred[nodes[-1]] >= 0:
            nodes.append(int(pred[nodes[-1]]))
        n = len(self._nodes)
        pair = [min(u, v) * n + max(u, v) for u, v in zip(nodes, nodes[1:])]
        links = chosen[np.searchsorted(self._pairs, pair)].tolist()
        return [self._nodes[i] for i in nodes], links

    def _node_ok(self) -> np.ndarray:
        if not self._node_down:
            return np.ones(len(self._link_ids), dtype=bool)
        down = np.array([self._nodes[i] in self._node_down for i in range(len(self._nodes))])
        return ~(down[self._a_idx] | down[self._b_idx])

    def _route(self, site: str, bandwidth_bps: int, targets: tuple[str, ...]):
        if site in self._node_down:
            return None
        cache = self._shortest.get(targets)
        if cache is None:
            cache = self._shortest[targets] = {"search": self._search(self._holds == 0, targets), "paths": {}}
        if site not in cache["paths"]:
            cache["paths"][site] = self._read_path(cache["search"], site)
        best = cache["paths"][site]
        if best is None:
            return None
        if all(self.capacity[i] - self.reserved[i] >= bandwidth_bps for i in best[1]):
            return best
        key = (site, targets)
        if self._refused.get(key, bandwidth_bps + 1) <= bandwidth_bps:
            return None  # nothing was freed since a smaller request from here failed
        usable = (self._holds == 0) & (self.capacity - self.reserved >= bandwidth_bps)
        found = self._read_path(self._search(usable, targets), site)
        if found is None:
            self._refused[key] = bandwidth_bps
        return found

    def _bottleneck(self, a: str, z: str, bandwidth_bps: int) -> str:
        """The link to charge a blocked session to: the first full link of its shortest path."""
        best = self._shortest.get((z,), {}).get("paths", {}).get(a)
        if best is None:
            return "unreachable"
        for i in best[1]:
            if self.capacity[i] - self.reserved[i] < bandwidth_bps:
                return self._link_ids[i]
        return self._link_ids[best[1][0]] if best[1] else "unreachable"
