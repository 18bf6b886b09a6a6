"""The flow logic, pure: given a service, its path and the emulated topology, the OpenFlow 1.3 rules and meters.

Nothing here talks to a switch (Faucet's lesson: the forwarding decisions are
a function, unit-tested against a simulated flow table; one thin module
pushes them). The os-ken application (:mod:`controllers.app`) turns these
plain values into ``OFPFlowMod`` and ``OFPMeterMod`` messages.

Addressing: every customer-premises host (one per service, named ``h<ref>``)
and every gateway host (``g<i>``, the operator's internet edge) is in
10.0.0.0/8 on one L2 segment with static ARP, so a service is exactly two
IPv4 conversations: CPE -> gateway (upstream) and gateway -> CPE (downstream).
Each switch on the path gets one rule per direction matching the in-port and
the two addresses; the first switch meters the upstream and the last switch
the downstream to the service's bandwidth. Every rule carries the service's
network handle as its cookie, so flow statistics and deletion go by service.
Anything else is dropped by the table-miss rule (priority 0, no actions):
two customers' sites cannot reach each other, and a suspended service
carries nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

IPV4 = 0x0800
SERVICE_PRIORITY = 100
MAX_REF = 32_000  # two meters per service, under Open vSwitch's 65,536 meter ids


def cpe_ip(ref: int, end: str = "a") -> str:
    """The customer-premises host of service ``ref`` at its ``a`` end (or ``z``, for a site-to-site service)."""
    if not 1 <= ref <= MAX_REF:
        raise ValueError(f"service handle {ref} outside 1..{MAX_REF}")
    return f"10.{(1 if end == 'a' else 64) + (ref >> 16)}.{(ref >> 8) & 255}.{ref & 255}"


def gateway_ip(index: int) -> str:
    return f"10.255.0.{index + 1}"


def mac_of(ip: str) -> str:
    a, b, c, d = (int(x) for x in ip.split("."))
    return f"02:00:{a:02x}:{b:02x}:{c:02x}:{d:02x}"


def dpid_of(index: int) -> int:
    return index + 1


@dataclass(frozen=True, slots=True)
class Port:
    """One end of a link: a switch and its port number."""

    switch: str
    number: int


@dataclass
class EmulatedTopology:
    """Switches for the topology's nodes and the port numbers of every link and host.

    Port numbers are fixed here and given to Mininet when it builds the
    links, so the flow logic never has to ask a switch what it is wired to.
    """

    switches: dict[str, str] = field(default_factory=dict)  # node -> switch name (s1, s2, ...)
    dpids: dict[str, int] = field(default_factory=dict)  # switch name -> datapath id
    links: dict[str, tuple[Port, Port]] = field(default_factory=dict)  # link id -> (a end, b end)
    gateways: dict[str, int] = field(default_factory=dict)  # gateway node -> its index (g<i>, gateway_ip)
    gateway_ports: dict[str, int] = field(default_factory=dict)  # gateway node -> port of its g host
    _next_port: dict[str, int] = field(default_factory=dict)

    @classmethod
    def build(cls, nodes: list[str], links: list[tuple[str, str, str]], gateways: list[str]) -> "EmulatedTopology":
        """From node names, (link id, a, b) triples and the gateway nodes."""
        topo = cls()
        for i, node in enumerate(nodes):
            name = f"s{i + 1}"
            topo.switches[node] = name
            topo.dpids[name] = dpid_of(i)
            topo._next_port[name] = 1
        for link_id, a, b in links:
            topo.links[link_id] = (topo._take(a), topo._take(b))
        for i, node in enumerate(gateways):
            topo.gateways[node] = i
            topo.gateway_ports[node] = topo._take(node).number
        return topo

    def _take(self, node: str) -> Port:
        name = self.switches[node]
        number = self._next_port[name]
        self._next_port[name] = number + 1
        return Port(name, number)

    def host_port(self, node: str) -> Port:
        """A new port on ``node``'s switch for a customer-premises host."""
        return self._take(node)

    def end_at(self, link_id: str, node: str) -> Port:
        a, b = self.links[link_id]
        switch = self.switches[node]
        if a.switch == switch:
            return a
        if b.switch == switch:
            return b
        raise ValueError(f"link {link_id} does not end at {node}")


@dataclass(frozen=True, slots=True)
class FlowRule:
    """One OpenFlow 1.3 flow entry in table 0."""

    switch: str
    cookie: int
    priority: int
    in_port: int
    ipv4_src: str
    ipv4_dst: str
    out_port: int
    meter_id: int | None = None


@dataclass(frozen=True, slots=True)
class Meter:
    """An OpenFlow meter with one drop band at ``rate_kbps``."""

    switch: str
    meter_id: int
    rate_kbps: int
    burst_kb: int


@dataclass(frozen=True, slots=True)
class ServiceFlows:
    rules: tuple[FlowRule, ...]
    meters: tuple[Meter, ...]
    counting: tuple[FlowRule, ...]  # the rules whose byte counts are the service's delivered usage


def meter_ids(ref: int) -> tuple[int, int]:
    """(upstream, downstream) meter ids of service ``ref``."""
    return 2 * ref - 1, 2 * ref


def service_flows(
    topo: EmulatedTopology,
    ref: int,
    host_port: int,
    path: tuple[str, ...],
    links: tuple[str, ...],
    bandwidth_bps: int,
    z_port: int | None = None,
) -> ServiceFlows:
    """The rules and meters that carry service ``ref`` along ``path`` (site first).

    ``host_port`` is the port of the service's CPE host on the site's switch;
    ``links`` are the link ids between consecutive path nodes. The far end is
    the gateway host at the last node, or, with ``z_port``, the service's
    second CPE host there (a site-to-site service).
    """
    if len(links) != len(path) - 1:
        raise ValueError("a path of n nodes has n - 1 links")
    far = path[-1]
    if z_port is None and far not in topo.gateways:
        raise ValueError(f"{far} is not a gateway")
    me = cpe_ip(ref)
    gw = cpe_ip(ref, "z") if z_port is not None else gateway_ip(topo.gateways[far])
    far_port = z_port if z_port is not None else topo.gateway_ports[far]
    up_meter, down_meter = meter_ids(ref)
    rules: list[FlowRule] = []
    site_down = gateway_up = None
    for i, node in enumerate(path):
        switch = topo.switches[node]
        towards_site = host_port if i == 0 else topo.end_at(links[i - 1], node).number
        towards_gw = far_port if i == len(path) - 1 else topo.end_at(links[i], node).number
        up = FlowRule(switch, ref, SERVICE_PRIORITY, towards_site, me, gw, towards_gw, up_meter if i == 0 else None)
        down = FlowRule(switch, ref, SERVICE_PRIORITY, towards_gw, gw, me, towards_site,
                        down_meter if i == len(path) - 1 else None)  # fmt: skip
        rules += [up, down]
        if i == 0:
            site_down = down  # what reached the customer
        gateway_up = up  # what reached the gateway
    kbps = max(1, bandwidth_bps // 1000)
    burst = max(16, kbps // 10)  # 100 ms of the rate
    meters = (Meter(topo.switches[path[0]], up_meter, kbps, burst), Meter(topo.switches[far], down_meter, kbps, burst))
    return ServiceFlows(tuple(rules), meters, (gateway_up, site_down))


class FlowTable:
    """A simulated set of switches for unit tests: apply rules to packets, no switch needed.

    It forwards like an OpenFlow 1.3 table 0 with a drop table-miss: the
    highest-priority rule matching the in-port and the addresses wins.
    """

    def __init__(self, topo: EmulatedTopology):
        self.topo = topo
        self.rules: dict[str, list[FlowRule]] = {s: [] for s in topo.switches.values()}
        self.meters: dict[tuple[str, int], Meter] = {}
        self._peer: dict[tuple[str, int], tuple[str, int]] = {}
        for a, b in topo.links.values():
            self._peer[a.switch, a.number] = (b.switch, b.number)
            self._peer[b.switch, b.number] = (a.switch, a.number)
        self.hosts: dict[tuple[str, int], str] = {}  # (switch, port) -> host ip
        for node, index in topo.gateways.items():
            self.hosts[topo.switches[node], topo.gateway_ports[node]] = gateway_ip(index)

    def attach(self, node: str, port: int, ip: str) -> None:
        self.hosts[self.topo.switches[node], port] = ip

    def install(self, flows: ServiceFlows) -> None:
        for rule in flows.rules:
            self.rules[rule.switch].append(rule)
        for meter in flows.meters:
            self.meters[meter.switch, meter.meter_id] = meter

    def remove(self, cookie: int) -> None:
        for switch, rules in self.rules.items():
            self.rules[switch] = [r for r in rules if r.cookie != cookie]

    def deliver(self, src_ip: str, dst_ip: str) -> list[str] | None:
        """The switches a packet from ``src_ip`` to ``dst_ip`` crosses, or None if it is dropped."""
        where = next(((s, p) for (s, p), ip in self.hosts.items() if ip == src_ip), None)
        if where is None:
            return None
        switch, port = where
        seen: list[str] = []
        for _ in range(len(self.rules) + 1):
            matching = [r for r in self.rules[switch]
                        if r.in_port == port and r.ipv4_src == src_ip and r.ipv4_dst == dst_ip]  # fmt: skip
            if not matching:
                return None  # table miss: drop
            rule = max(matching, key=lambda r: r.priority)
            seen.append(switch)
            out = (switch, rule.out_port)
            if out in self.hosts:
                return seen if self.hosts[out] == dst_ip else None
            if out not in self._peer:
                return None
            switch, port = self._peer[out]
        return None  # a loop
