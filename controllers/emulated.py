"""The emulated network: Mininet + Open vSwitch + the os-ken controller behind the operator's ``NetworkPort``.

Real packets, real flow tables, real counters. It builds the scenario's
topology as Open vSwitch bridges (userspace datapath, see EMULATION.md),
starts the controller (:mod:`controllers.launcher`) as its own process on
loopback, and then:

* **activation**: finds a path with the bandwidth free (the same rule as the
  simulated network: lowest latency over working links with room), attaches
  a customer-premises host ``th<ref>`` to the site's switch, and asks the
  controller to install the service's rules and meters
  (:func:`controllers.flows.service_flows`) before the call returns;
* **traffic**: each interval, every active service's demand from the
  scenario's traffic model, scaled by ``volume_scale`` to what one machine
  can carry in the compressed interval, is sent by iperf3 (UDP) from the CPE
  host to the gateway host, at most at the service's rate;
* **usage**: the byte counters of the rules where traffic arrives (at the
  gateway upstream, at the site downstream), polled from the switches; each
  poll's increase is one usage record of the interval, in the batch shape
  mediation already takes. Counted bytes are Ethernet frames as the switch
  sees them, not scaled back: the bill is for what crossed the network;
* **faults**: a link taken down (``ip link`` on both ends, through Mininet)
  is noticed by the controller from the switches' port-status messages; the
  network waits for that report (measured, typically milliseconds), reroutes
  protected services by replacing their rules, and publishes the same
  ``LinkDown`` / ``LinkUp`` events the simulated network does.

A real topology larger than ``max_switches`` is reduced to the gateways and
the nodes nearest to them (breadth first), with the links among them: one
machine runs a few dozen userspace switches, not two hundred. The reduced
graph is what :attr:`topology_model` shows the world, so customers live only
on emulated nodes. Link delay and loss cannot be emulated here (no netem);
KPIs report the links' propagation delay and the switches' drops.

Everything it starts is stopped by :meth:`close` (also on an exception or
Ctrl-C in the run): the Mininet hosts and bridges it made, the iperf3
processes and the controller, each by its own handle, never by name.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx
import numpy as np

from controllers import flows as fl
from oss_bss.errors import BackendUnavailable
from oss_bss.events import LinkDown, LinkUp, NodeDown, NodeUp, ServiceRerouted
from oss_bss.ports import Activation, KpiBatch, LinkInfo, NetworkTopology, NodeInfo, ServiceSpec, UsageBatch

PREFIX = "t"  # our bridges (ts1), hosts (th5, tg1) and their links: never touch what we did not make


@dataclass(frozen=True)
class EmulationSettings:
    seconds_per_hour: float = 2.0  # real seconds per simulated hour (the time compression)
    volume_scale: float = 1e-3  # share of the traffic model's bytes actually sent
    max_switches: int = 12
    min_bytes: int = 20_000  # a service with demand sends at least this much in an interval


@dataclass
class _Service:
    spec: ServiceSpec
    ref: int
    host: object
    port: int
    path: tuple[str, ...]
    links: tuple[str, ...]
    bandwidth_bps: int
    suspended: bool = False
    z_host: object = None  # a site-to-site service's far CPE host
    z_port: int | None = None
    down_since: float | None = None
    active_since: float = 0.0
    active_time: float = 0.0
    downtime: float = 0.0


@dataclass
class ReducedTopology:
    """What the world sees: a graph of the emulated nodes, and the gateways."""

    name: str
    graph: nx.MultiGraph
    gateways: tuple[str, ...]
    srlgs: dict = field(default_factory=dict)


def reduce(graph: nx.MultiGraph, gateways: tuple[str, ...], max_switches: int) -> list[str]:
    """The nodes kept: the gateways, then the nodes nearest to them, breadth first, up to ``max_switches``."""
    keep: list[str] = []
    queue = deque(gateways)
    seen = set(gateways)
    while queue and len(keep) < max_switches:
        node = queue.popleft()
        keep.append(node)
        for nb in sorted(graph.neighbors(node), key=str):
            if nb not in seen:
                seen.add(nb)
                queue.append(nb)
    return keep


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require_emulation() -> None:
    """Raise BackendUnavailable naming what is missing (and how to get it)."""
    missing = []
    if os.geteuid() != 0:
        missing.append("root (Mininet needs it)")
    for tool in ("ovs-vsctl", "mnexec", "iperf3", "ethtool"):
        if not any((Path(d) / tool).exists() for d in os.environ.get("PATH", "").split(":") + ["/usr/sbin", "/sbin"]):
            missing.append(tool)
    try:
        import mininet.net  # noqa: F401
        import os_ken  # noqa: F401
    except ImportError as exc:
        missing.append(f"Python package {exc.name}")
    if not missing and subprocess.run(["ovs-vsctl", "--timeout=2", "show"], capture_output=True).returncode != 0:
        missing.append("a running Open vSwitch")
    if missing:
        raise BackendUnavailable(
            f"the emulated network needs {', '.join(missing)}: run `sudo make setup-emulation` (see the README)"
        )


class EmulatedNetwork:
    """``NetworkPort`` on Mininet, Open vSwitch and os-ken."""

    name = "mininet"
    realtime = True  # runs on simpy.rt.RealtimeEnvironment: traffic takes real time

    def __init__(self, topology, publish=None, *, settings: EmulationSettings | None = None, **_model):
        require_emulation()
        from mininet.net import Mininet
        from mininet.node import OVSSwitch, RemoteController

        self.settings = settings or EmulationSettings()
        self.publish = publish or (lambda event: None)
        full: nx.MultiGraph = topology.graph
        gateways = tuple(topology.gateways)
        kept = reduce(full, gateways, self.settings.max_switches)
        graph = nx.MultiGraph()
        graph.add_nodes_from((n, full.nodes[n]) for n in kept)
        for a, b, key, data in full.edges(keys=True, data=True):
            if a in graph and b in graph and not graph.has_edge(a, b):
                graph.add_edge(a, b, key=key, **data)
        self.topology_model = ReducedTopology(f"{topology.name} (emulated: {len(kept)} of {len(full)} nodes)",
                                              graph, gateways)  # fmt: skip
        self._links = {data["id"]: (a, b, data) for a, b, data in graph.edges(data=True)}
        self.topo = fl.EmulatedTopology.build(kept, [(lid, a, b) for lid, (a, b, _) in self._links.items()], list(gateways))
        self.reserved = {lid: 0 for lid in self._links}
        self._holds = {lid: 0 for lid in self._links}
        self._link_down_since: dict[str, float] = {}
        self._link_downtime = {lid: 0.0 for lid in self._links}
        self._node_holds: dict[str, int] = {}
        self._services: dict[str, _Service] = {}
        self._by_ref: dict[int, _Service] = {}
        self._next_ref = 1
        self._counted: dict[int, int] = {}  # bytes ever counted, per ref
        self._last_counter: dict[int, int] = {}
        self._last_poll = 0.0
        self._event_seq = 0
        self._iperf: list[subprocess.Popen] = []
        self._servers: dict[int, object] = {}
        self._host_links: dict[tuple, tuple] = {}
        self._premises: dict[str, tuple] = {}  # service id -> hosts attached before activation
        self._port_bytes: dict[tuple[int, int], int] = {}
        self.detection_s: list[float] = []  # link down/up to the controller's report, measured
        self.flows_installed = 0
        self.install_seconds = 0.0
        self.net = None
        self._controller = None
        started = time.perf_counter()
        try:
            self._start_controller()
            self.net = Mininet(controller=None, switch=OVSSwitch, build=False, autoSetMacs=False, autoStaticArp=False)
            self.net.addController(f"{PREFIX}c0", controller=RemoteController, ip="127.0.0.1", port=self._ofp_port)
            self._switch = {}
            for node, name in self.topo.switches.items():
                self._switch[node] = self.net.addSwitch(
                    PREFIX + name, dpid=f"{self.topo.dpids[name]:016x}", datapath="user", protocols="OpenFlow13",
                    failMode="secure",
                )  # fmt: skip
            for lid, (a_end, b_end) in self.topo.links.items():
                a, b, _ = self._links[lid]
                self.net.addLink(self._switch[a], self._switch[b], port1=a_end.number, port2=b_end.number)
            self._gw_host = {}
            for node, index in self.topo.gateways.items():
                ip = fl.gateway_ip(index)
                host = self.net.addHost(f"{PREFIX}g{index + 1}", ip=f"{ip}/8", mac=fl.mac_of(ip))
                self.net.addLink(host, self._switch[node], port2=self.topo.gateway_ports[node])
                self._gw_host[node] = host
            self.net.build()
            self.net.start()
            for host in self._gw_host.values():
                host.cmd(f"ethtool -K {host.defaultIntf()} tx off")
            self._wait_switches(len(self._switch))
        except BaseException:
            self.close()
            raise
        self.startup_seconds = time.perf_counter() - started

    def report(self) -> dict:
        """What the emulation measured of itself, for the run's summary."""
        return {
            "topology": self.topology_model.name,
            "switches": len(self.topo.switches),
            "links": len(self._links),
            "startup_seconds": round(self.startup_seconds, 3),
            "flows_installed": self.flows_installed,
            "flows_per_second": round(self.flows_installed / self.install_seconds, 1) if self.install_seconds else None,
            "link_event_ms": [round(1000 * s, 1) for s in self.detection_s],
            # The slowest, as one number an expectation can bound (None: no link event).
            "link_event_max_ms": round(1000 * max(self.detection_s), 1) if self.detection_s else None,
        }

    # -- the controller ---------------------------------------------------

    def _start_controller(self) -> None:
        self._ofp_port, self._api_port = _free_port(), _free_port()
        self._controller_log = open(os.devnull, "wb")
        self._controller = subprocess.Popen(
            [sys.executable, "-m", "controllers.launcher", "--ofp-port", str(self._ofp_port),
             "--api-port", str(self._api_port)],
            stdout=self._controller_log, stderr=subprocess.STDOUT, cwd=str(Path(__file__).resolve().parents[1]),
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self._controller.poll() is not None:
                raise BackendUnavailable("the os-ken controller exited at start (is os-ken installed?)")
            try:
                self._api("GET", "/switches")
                return
            except OSError:
                time.sleep(0.1)
        raise BackendUnavailable("the os-ken controller did not answer on loopback within 20 s")

    def _api(self, method: str, path: str, body=None, timeout: float = 20.0):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"http://127.0.0.1:{self._api_port}{path}", data=data, method=method,
                                         headers={"Content-Type": "application/json"})  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=timeout) as reply:
                return json.loads(reply.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise BackendUnavailable(f"controller {method} {path}: {exc.code} {exc.read().decode()[:200]}") from None

    def _wait_switches(self, count: int) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if len(self._api("GET", "/switches")) >= count:
                return
            time.sleep(0.05)
        raise BackendUnavailable(f"only some of the {count} switches connected to the controller within 30 s")

    # -- NetworkPort: the operator's side ------------------------------------

    def topology(self) -> NetworkTopology:
        g = self.topology_model.graph
        nodes = tuple(NodeInfo(str(n), g.nodes[n].get("latitude"), g.nodes[n].get("longitude"),
                               n in self.topology_model.gateways) for n in g.nodes)  # fmt: skip
        links = tuple(LinkInfo(lid, a, b, int(d["capacity_bps"]), float(d.get("latency_s", 0.0)))
                      for lid, (a, b, d) in self._links.items())  # fmt: skip
        return NetworkTopology(self.topology_model.name, nodes, links)

    def activate(self, spec: ServiceSpec, at: float) -> Activation:
        if spec.site not in self.topology_model.graph:
            return Activation.refused("unknown_site", f"site {spec.site!r} is not in the emulated network")
        if spec.service_id in self._services:
            return Activation.refused("already_active", f"service {spec.service_id} is already active")
        if spec.z_site is not None and spec.z_site not in self.topology_model.graph:
            return Activation.refused("unknown_site", f"site {spec.z_site!r} is not in the emulated network")
        targets = (spec.z_site,) if spec.z_site else self.topology_model.gateways
        route = self._route(spec.site, spec.bandwidth_bps, targets=targets)
        if route is None:
            return Activation.refused("no_capacity", f"no path from {spec.site} to {spec.z_site or 'a gateway'} "
                                                     f"with {spec.bandwidth_bps / 1e6:g} Mb/s free")  # fmt: skip
        if self._next_ref > fl.MAX_REF and spec.service_id not in self._premises:
            return Activation.refused("no_capacity", "the emulated network holds at most 32,000 services")
        ref, host, port, z_host, z_port = self.attach_premises(spec)
        del self._premises[spec.service_id]
        path, links = route
        svc = _Service(spec, ref, host, port, path, links, spec.bandwidth_bps, z_host=z_host, z_port=z_port,
                       active_since=at)
        self._services[spec.service_id] = svc
        self._by_ref[ref] = svc
        for lid in links:
            self.reserved[lid] += spec.bandwidth_bps
        self._install(svc)
        return self._activation(svc)

    def attach_premises(self, spec: ServiceSpec):
        """Connect the customer's equipment (a host per end) before activation: it reaches nothing yet.

        Activation does it when it was not done; the emulation tests do it
        first, to show that an unprovisioned site is cut off.
        Returns (ref, host, port, z host, z port).
        """
        if spec.service_id not in self._premises:
            ref = self._next_ref
            self._next_ref += 1
            host, port = self._attach_host(ref, spec.site)
            z_host, z_port = self._attach_host(ref, spec.z_site, "z") if spec.z_site else (None, None)
            self._premises[spec.service_id] = (ref, host, port, z_host, z_port)
        return self._premises[spec.service_id]

    def modify(self, service_id: str, bandwidth_bps: int, at: float) -> Activation:
        svc = self._services[service_id]
        old_links = svc.links
        route = self._rebook(svc, svc.path[0], bandwidth_bps)
        if route is None:
            return Activation.refused("no_capacity", f"no path from {svc.path[0]} with {bandwidth_bps / 1e6:g} Mb/s free")
        self._remove_rules(svc)
        self._install(svc)
        if svc.links != old_links:
            self.publish(ServiceRerouted(at, service_id, svc.path, svc.links))
        return self._activation(svc)

    def move(self, service_id: str, site: str, at: float) -> Activation:
        svc = self._services[service_id]
        if site not in self.topology_model.graph:
            return Activation.refused("unknown_site", f"site {site!r} is not in the emulated network")
        if self._rebook(svc, site, svc.bandwidth_bps) is None:
            return Activation.refused("no_capacity", f"no path from {site} with {svc.bandwidth_bps / 1e6:g} Mb/s free")
        self._remove_rules(svc, meters=True)
        self._detach_host(svc, "a")
        svc.host, svc.port = self._attach_host(svc.ref, site)
        self._install(svc)
        return self._activation(svc)

    def _rebook(self, svc: _Service, site: str, bandwidth_bps: int):
        """Move ``svc``'s reservation to a path from ``site`` with ``bandwidth_bps``; None (and no change) if none."""
        for lid in svc.links:
            self.reserved[lid] -= svc.bandwidth_bps
        route = self._route(site, bandwidth_bps, targets=self._targets(svc))
        if route is not None:
            svc.path, svc.links, svc.bandwidth_bps = route[0], route[1], bandwidth_bps
        for lid in svc.links:
            self.reserved[lid] += svc.bandwidth_bps
        return route

    def _activation(self, svc: _Service) -> Activation:
        return Activation(True, network_ref=svc.ref, path=svc.path, links=svc.links, latency_s=self._latency(svc.links))

    def suspend(self, service_id: str, at: float) -> None:
        svc = self._services[service_id]
        svc.suspended = True
        self._remove_rules(svc)

    def resume(self, service_id: str, at: float) -> None:
        svc = self._services[service_id]
        svc.suspended = False
        self._install(svc)

    def deactivate(self, service_id: str, at: float) -> None:
        svc = self._services.pop(service_id)
        self._by_ref.pop(svc.ref, None)
        for lid in svc.links:
            self.reserved[lid] -= svc.bandwidth_bps
        self._remove_rules(svc, meters=True)
        self._detach_host(svc)

    def collect_usage(self, at: float) -> UsageBatch:
        """Each service's delivered bytes since the last poll, from the switches' flow counters."""
        counters: dict[int, int] = {}
        counting = self._counting_rules()
        for stat in self._api("GET", "/flow-stats"):
            key = (stat["dpid"], stat["cookie"], stat["in_port"], stat["ipv4_src"], stat["ipv4_dst"])
            if key in counting:
                counters[stat["cookie"]] = counters.get(stat["cookie"], 0) + int(stat["bytes"])
        refs, volumes = [], []
        for ref, total in sorted(counters.items()):
            last = self._last_counter.get(ref, 0)
            delta = total - last if total >= last else total  # rules replaced: their counters started again
            self._last_counter[ref] = total
            if delta > 0:
                refs.append(ref)
                volumes.append(delta)
                self._counted[ref] = self._counted.get(ref, 0) + delta
        start, self._last_poll = self._last_poll, at
        n = len(refs)
        return UsageBatch(np.array(refs, np.int64), np.full(n, start), np.full(n, at), np.array(volumes, np.int64))

    def quiesce(self, timeout: float = 5.0) -> None:
        """Wait until the switches' flow counters stop moving (they trail the datapath by up to a second)."""
        deadline, last = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            now = sorted((s["dpid"], s["cookie"], s["in_port"], s["bytes"]) for s in self._api("GET", "/flow-stats"))
            if now == last:
                return
            last = now
            time.sleep(1.2)

    def usage_totals(self) -> tuple[np.ndarray, np.ndarray]:
        refs = sorted(self._counted)
        return np.array(refs, np.int64), np.array([self._counted[r] for r in refs], np.int64)

    def collect_kpis(self, at: float) -> KpiBatch:
        """Link utilisation from the switches' port counters; delay is propagation (no netem here)."""
        stats = {(s["dpid"], s["port_no"]): s for s in self._api("GET", "/port-stats")}
        interval = max(self.settings.seconds_per_hour, 1e-3)
        ids = tuple(self._links)
        util, delay = np.zeros(len(ids)), np.zeros(len(ids))
        for i, lid in enumerate(ids):
            a_end, _ = self.topo.links[lid]
            key = (self.topo.dpids[a_end.switch], a_end.number)
            tx = int(stats.get(key, {}).get("tx_bytes", 0))
            sent = tx - self._port_bytes.get(key, 0)
            self._port_bytes[key] = tx
            util[i] = max(sent, 0) * 8 / interval / self._links[lid][2]["capacity_bps"]
            delay[i] = float(self._links[lid][2].get("latency_s", 0.0))
        live = [s for s in self._by_ref.values() if not s.suspended]
        refs = np.array([s.ref for s in live], np.int64)
        latency = np.array([self._latency(s.links) for s in live])
        return KpiBatch(at - 3600.0, at, ids, util, delay, np.zeros(len(ids)), refs, latency, np.zeros(len(live)),
                        np.zeros(len(live)))  # fmt: skip

    # -- the world's side: traffic and faults -----------------------------

    def carry(self, refs, volume_bytes, start: float, end: float) -> None:
        """Send each service's interval demand (scaled) through the network with iperf3, from its CPE host."""
        self._reap()
        seconds = self.settings.seconds_per_hour * (end - start) / 3600.0
        for ref, volume in zip(np.asarray(refs).tolist(), np.asarray(volume_bytes).tolist()):
            svc = self._by_ref.get(int(ref))
            if svc is None or svc.suspended or volume <= 0:
                continue
            size = max(int(volume * self.settings.volume_scale), self.settings.min_bytes)
            rate = min(svc.bandwidth_bps, max(size * 8 / max(seconds * 0.8, 0.05), 100_000))
            self.send(svc, size, int(rate))

    def send(self, svc: _Service, size: int, rate_bps: int, report: str | None = None) -> subprocess.Popen:
        """iperf3 (UDP, 1,400-byte datagrams) from the service's CPE host to its far end (gateway or z site)."""
        self._server(svc)
        gw = fl.cpe_ip(svc.ref, "z") if svc.z_host is not None else fl.gateway_ip(self.topo.gateways[svc.path[-1]])
        args = ["iperf3", "-c", gw, "-p", str(5200 + svc.ref), "-u", "-l", "1400", "-b", str(rate_bps), "-n", str(size)]
        if report:
            args += ["-J", "--logfile", report]
        proc = svc.host.popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._iperf.append(proc)
        return proc

    def fail_link(self, link_id: str, at: float, planned: bool = False) -> None:
        self.hold_links([link_id], +1, at, planned)

    def repair_link(self, link_id: str, at: float, planned: bool = False) -> None:
        self.hold_links([link_id], -1, at, planned)

    def set_link_state(self, link_id: str, up: bool, at: float) -> None:
        (self.repair_link if up else self.fail_link)(link_id, at)

    def hold_links(self, link_ids: list[str], delta: int, at: float, planned: bool = False) -> None:
        for lid in link_ids:
            before = self._holds[lid] == 0
            self._holds[lid] = max(0, self._holds[lid] + delta)
            after = self._holds[lid] == 0
            if before != after:
                self._set_link(lid, after, at, planned)

    def fail_node(self, node: str, at: float, planned: bool = False) -> None:
        self._node_holds[node] = self._node_holds.get(node, 0) + 1
        if self._node_holds[node] == 1:
            self.publish(NodeDown(at, node, tuple(self.incident_link_ids(node)), (), planned))
            self.hold_links(self.incident_link_ids(node), +1, at, planned)

    def repair_node(self, node: str, at: float, planned: bool = False) -> None:
        if self._node_holds.get(node, 0) == 0:
            return
        self._node_holds[node] -= 1
        if self._node_holds[node] == 0:
            self.hold_links(self.incident_link_ids(node), -1, at, planned)
            self.publish(NodeUp(at, node, tuple(self.incident_link_ids(node)), (), planned))

    def incident_link_ids(self, node: str) -> list[str]:
        return [lid for lid, (a, b, _) in self._links.items() if node in (a, b)]

    def nominal_links(self, a: str, z: str) -> list[str]:
        try:
            nodes = nx.shortest_path(self._simple(lambda lid: True), a, z, weight="latency")
        except (nx.NetworkXNoPath, nx.NodeNotFound):
            return []
        return [self._link_between(x, y) for x, y in zip(nodes, nodes[1:])]

    @property
    def link_ids(self) -> list[str]:
        return list(self._links)

    def admit(self, a: str, z: str, bandwidth_bps: int, at: float):
        """Sessions are admitted against the capacity book only: they carry no packets here."""
        raise BackendUnavailable("guaranteed-bandwidth session classes are not emulated; run them on --backend sim")

    def availability(self, end: float) -> dict:
        per_link = {}
        for lid in self._links:
            down = self._link_downtime[lid] + (end - self._link_down_since[lid] if lid in self._link_down_since else 0.0)
            per_link[lid] = 1.0 - down / end if end > 0 else 1.0
        active = sum(s.active_time + end - s.active_since for s in self._services.values())
        outage = sum(s.downtime + (end - s.down_since if s.down_since is not None else 0.0)
                     for s in self._services.values())  # fmt: skip
        return {
            "network": float(np.mean(list(per_link.values()))) if per_link else 1.0,
            "services": 1.0 - outage / active if active > 0 else 1.0,
            "links": per_link,
        }

    # -- internals ---------------------------------------------------------

    def _set_link(self, lid: str, up: bool, at: float, planned: bool) -> None:
        a, b, _ = self._links[lid]
        a_end, b_end = self.topo.links[lid]
        since = self._event_seq
        started = time.perf_counter()
        self.net.configLinkStatus(PREFIX + a_end.switch, PREFIX + b_end.switch, "up" if up else "down")
        self._await_port_report({(self.topo.dpids[a_end.switch], a_end.number),
                                 (self.topo.dpids[b_end.switch], b_end.number)}, up, since)  # fmt: skip
        self.detection_s.append(time.perf_counter() - started)
        if up:
            self._link_downtime[lid] += at - self._link_down_since.pop(lid, at)
        else:
            self._link_down_since[lid] = at
        affected = [s for s in self._services.values() if lid in s.links]
        lost, back = [], []
        for svc in sorted(affected, key=lambda s: s.ref):
            if not up and svc.spec.protected:
                route = self._route(svc.path[0], svc.bandwidth_bps, exclude=svc, targets=self._targets(svc))
                if route is not None:
                    for old in svc.links:
                        self.reserved[old] -= svc.bandwidth_bps
                    svc.path, svc.links = route
                    for new in svc.links:
                        self.reserved[new] += svc.bandwidth_bps
                    self._remove_rules(svc)
                    if not svc.suspended:
                        self._install(svc)
                    self.publish(ServiceRerouted(at, svc.spec.service_id, svc.path, svc.links))
                    continue
            path_up = all(self._holds[x] == 0 for x in svc.links)
            if not up and svc.down_since is None:
                svc.down_since = at
                lost.append(svc.spec.service_id)
            elif up and path_up and svc.down_since is not None:
                svc.downtime += at - svc.down_since
                svc.down_since = None
                back.append(svc.spec.service_id)
        self.publish((LinkUp if up else LinkDown)(at, lid, tuple(back if up else lost), planned))

    def _await_port_report(self, ports: set[tuple[int, int]], up: bool, since: int, timeout: float = 5.0) -> None:
        """Wait until the controller has heard both ends' port status (the switches' own report)."""
        deadline = time.monotonic() + timeout
        seen: dict[tuple[int, int], bool] = {}
        while time.monotonic() < deadline:
            for event in self._api("GET", f"/events?since={since}"):
                since = max(since, event["seq"])
                seen[event["dpid"], event["port_no"]] = event["up"]
            self._event_seq = since
            if all(seen.get(p) == up for p in ports):
                return
            time.sleep(0.01)
        raise BackendUnavailable(f"the controller did not report ports {sorted(ports)} {'up' if up else 'down'} "
                                 f"within {timeout:g} s")  # fmt: skip

    def _simple(self, usable) -> nx.Graph:
        g = nx.Graph()
        g.add_nodes_from(self.topology_model.graph.nodes)
        for lid, (a, b, d) in self._links.items():
            if usable(lid):
                g.add_edge(a, b, latency=float(d.get("latency_s", 0.0)) + 1e-9, id=lid)
        return g

    def _link_between(self, a: str, b: str) -> str:
        return next(lid for lid, (x, y, _) in self._links.items() if {x, y} == {a, b})

    def _targets(self, svc: _Service) -> tuple[str, ...]:
        return (svc.spec.z_site,) if svc.spec.z_site else self.topology_model.gateways

    def _route(self, site: str, bandwidth_bps: int, exclude: _Service | None = None, targets=None):
        """Lowest-latency path from ``site`` to a target (a gateway) over working links with the bandwidth free."""
        def usable(lid):
            own = exclude.bandwidth_bps if exclude is not None and lid in exclude.links else 0
            cap = self._links[lid][2]["capacity_bps"]
            return self._holds[lid] == 0 and cap - self.reserved[lid] + own >= bandwidth_bps

        g = self._simple(usable)
        best = None
        for gw in targets if targets is not None else self.topology_model.gateways:
            try:
                length, nodes = nx.single_source_dijkstra(g, site, gw, weight="latency")
            except (nx.NetworkXNoPath, nx.NodeNotFound):
                continue
            if best is None or length < best[0]:
                best = (length, nodes)
        if best is None:
            return None
        nodes = tuple(best[1])
        return nodes, tuple(g.edges[x, y]["id"] for x, y in zip(nodes, nodes[1:]))

    def _latency(self, links) -> float:
        return float(sum(self._links[lid][2].get("latency_s", 0.0) for lid in links))

    def _attach_host(self, ref: int, site: str, end: str = "a"):
        """A customer-premises host on a new port of the site's switch, with static ARP both ways."""
        port = self.topo.host_port(site).number
        ip = fl.cpe_ip(ref, end)
        host = self.net.addHost(f"{PREFIX}h{ref}{'z' if end == 'z' else ''}", ip=f"{ip}/8", mac=fl.mac_of(ip))
        switch = self._switch[site]
        link = self.net.addLink(host, switch, port2=port)
        switch.attach(link.intf2)
        self._host_links[ref, end] = (switch, link, host)
        host.configDefault()
        host.cmd(f"ethtool -K {host.defaultIntf()} tx off")
        if end == "z":  # the two ends of a site-to-site service know each other
            a_ip, a_host = fl.cpe_ip(ref), self._host_links[ref, "a"][2]
            host.setARP(a_ip, fl.mac_of(a_ip))
            a_host.setARP(ip, fl.mac_of(ip))
            return host, port
        for node, index in self.topo.gateways.items():
            gip = fl.gateway_ip(index)
            host.setARP(gip, fl.mac_of(gip))
            self._gw_host[node].setARP(ip, fl.mac_of(ip))
        return host, port

    def _detach_host(self, svc: _Service, only: str | None = None) -> None:
        if only is None:
            server = self._servers.pop(svc.ref, None)
            if server is not None:
                self._stop(server)
        for end in (only,) if only else ("a", "z"):
            held = self._host_links.pop((svc.ref, end), None)
            if held is not None:
                switch, link, host = held
                switch.detach(link.intf2)
                self.net.delLink(link)
                self.net.delHost(host)

    def _server(self, svc: _Service):
        server = self._servers.get(svc.ref)
        if server is None or server.poll() is not None:
            gw_host = svc.z_host if svc.z_host is not None else self._gw_host[svc.path[-1]]
            server = gw_host.popen(["iperf3", "-s", "-p", str(5200 + svc.ref)], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)  # fmt: skip
            self._servers[svc.ref] = server
            time.sleep(0.15)  # let it listen
        return server

    def _flows(self, svc: _Service) -> fl.ServiceFlows:
        return fl.service_flows(self.topo, svc.ref, svc.port, svc.path, svc.links, svc.bandwidth_bps, svc.z_port)

    def _install(self, svc: _Service) -> None:
        flows = self._flows(svc)
        body = {
            "rules": [dict(dpid=self.topo.dpids[r.switch], cookie=r.cookie, priority=r.priority, in_port=r.in_port,
                           ipv4_src=r.ipv4_src, ipv4_dst=r.ipv4_dst, out_port=r.out_port, meter_id=r.meter_id)
                      for r in flows.rules],
            "meters": [dict(dpid=self.topo.dpids[m.switch], meter_id=m.meter_id, rate_kbps=m.rate_kbps,
                            burst_kb=m.burst_kb) for m in flows.meters],
        }  # fmt: skip
        started = time.perf_counter()
        self._api("POST", "/flows", body)
        self.install_seconds += time.perf_counter() - started
        self.flows_installed += len(flows.rules)
        self._settle()

    def _remove_rules(self, svc: _Service, meters: bool = False) -> None:
        query = f"?meters={','.join(map(str, fl.meter_ids(svc.ref)))}" if meters else ""
        self._api("DELETE", f"/flows/{svc.ref}{query}")
        self._settle()

    @staticmethod
    def _settle() -> None:
        """Make the datapath forget its cached flows, so the next packets follow the new tables.

        The barrier reply says the OpenFlow tables changed; the userspace
        datapath's cached flows are revalidated a moment later. Without this,
        a suspended service's packets could pass for that moment more (seen
        in CI). The next packets of every flow take one upcall; cheap here.
        """
        subprocess.run(["ovs-appctl", "dpctl/del-flows", "netdev@ovs-netdev"], capture_output=True, timeout=10,
                       check=False)  # fmt: skip

    def _counting_rules(self) -> set[tuple]:
        keys = set()
        for svc in self._by_ref.values():
            for r in self._flows(svc).counting:
                keys.add((self.topo.dpids[r.switch], r.cookie, r.in_port, r.ipv4_src, r.ipv4_dst))
        return keys

    def _reap(self) -> None:
        self._iperf = [p for p in self._iperf if p.poll() is None]

    @staticmethod
    def _stop(proc) -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=3)

    def close(self) -> None:
        """Stop everything this network started, by its own handles: idempotent."""
        for proc in self._iperf + list(self._servers.values()):
            self._stop(proc)
        self._iperf, self._servers = [], {}
        if self.net is not None:
            try:
                self.net.stop()
            finally:
                self.net = None
        if self._controller is not None:
            try:
                os.killpg(self._controller.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self._controller.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self._controller.pid, signal.SIGKILL)
                self._controller.wait(timeout=5)
            self._controller = None
            self._controller_log.close()
