"""Service inventory (TMF638) and resource inventory (TMF639).

Services get a dense integer ``key`` when created, so bulk usage can be rated
with arrays indexed by key; the inventory maps the network's handle on a
service (``network_ref``) to that key in one array look-up.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from oss_bss.errors import NotFound
from oss_bss.ports import NetworkTopology


@dataclass(slots=True)
class Service:
    id: str
    key: int
    customer_id: str
    offering_id: str
    product_order_id: str
    site: str
    bandwidth_bps: int
    created_at: float
    state: str = "designed"
    operational_state: str = "down"
    network_ref: int = 0
    path: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    activated_at: float | None = None
    terminated_at: float | None = None
    # Earlier offerings, newest last: (until, offering id). The current one is offering_id.
    offering_history: list[tuple[float, str]] = field(default_factory=list)
    one_time_billed: bool = False  # the offering's one-time price is on a bill
    billing_account_id: str = ""  # the account its charges go to
    suspension_reason: str | None = None  # while suspended: why (non-payment, customer request, balance)

    def offering_at(self, at: float) -> str:
        """The offering in force at ``at`` (a change takes effect at its instant)."""
        for until, offering in self.offering_history:
            if until > at:
                return offering
        return self.offering_id


class ServiceInventory:
    """Services by id and by key, and the network-handle -> key map for mediation."""

    def __init__(self) -> None:
        self._by_id: dict[str, Service] = {}
        self.by_key: list[Service] = []
        self._ref_to_key = np.full(1024, -1, dtype=np.int64)

    def add(self, service: Service) -> None:
        assert service.key == len(self.by_key), "service keys are dense and in order"
        self._by_id[service.id] = service
        self.by_key.append(service)

    def next_key(self) -> int:
        return len(self.by_key)

    def find(self, service_id: str) -> Service | None:
        """The service with ``service_id``, or None."""
        return self._by_id.get(service_id)

    def get(self, service_id: str) -> Service:
        try:
            return self._by_id[service_id]
        except KeyError:
            raise NotFound("Service", service_id) from None

    def bind_network_ref(self, service: Service, ref: int) -> None:
        """Record the network's handle for ``service`` (set at activation)."""
        if ref >= len(self._ref_to_key):
            grown = np.full(max(ref + 1, 2 * len(self._ref_to_key)), -1, dtype=np.int64)
            grown[: len(self._ref_to_key)] = self._ref_to_key
            self._ref_to_key = grown
        self._ref_to_key[ref] = service.key
        service.network_ref = ref

    def keys_for_refs(self, refs: np.ndarray) -> np.ndarray:
        """Service keys for network handles, -1 for a handle the inventory does not know."""
        keys = np.full(len(refs), -1, dtype=np.int64)
        known = (refs >= 0) & (refs < len(self._ref_to_key))
        keys[known] = self._ref_to_key[refs[known]]
        return keys

    def __iter__(self):
        return iter(self.by_key)

    def __len__(self) -> int:
        return len(self.by_key)


@dataclass(slots=True)
class Resource:
    """A network resource the operator knows of: a node or a link."""

    id: str
    kind: str  # "node" or "link"
    a: str | None = None
    b: str | None = None
    capacity_bps: int | None = None
    latency_s: float | None = None
    latitude: float | None = None
    longitude: float | None = None
    gateway: bool = False


def resources_from(topology: NetworkTopology) -> list[Resource]:
    """The resource inventory built from the network's topology."""
    nodes = [
        Resource(n.id, "node", latitude=n.latitude, longitude=n.longitude, gateway=n.gateway)
        for n in topology.nodes
    ]
    links = [
        Resource(link.id, "link", a=link.a, b=link.b, capacity_bps=link.capacity_bps, latency_s=link.latency_s)
        for link in topology.links
    ]
    return nodes + links
