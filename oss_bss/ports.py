"""The ports through which the operator reaches what is outside it.

:class:`NetworkPort` is the one seam between the operator and any network:
the simulated one (``sim.network``), the emulated one (``controllers``) and the
fake one in the unit tests implement it. Network events (a link down or up)
come back as bus events (:mod:`oss_bss.events`), published by the network
through the callable it is given when the run is wired.

:class:`UsageArchive` is where rated usage records go (columnar, beside the
database), so that every bill can be recomputed from what the run stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """What the operator asks the network to carry for one service."""

    service_id: str
    site: str  # the node the customer's premises attach to
    bandwidth_bps: int  # reserved end to end
    z_site: str | None = None  # None: internet access through the nearest gateway
    protected: bool = False  # reroute around failures when capacity allows


@dataclass(frozen=True, slots=True)
class Activation:
    """The network's answer to an activation: either a path or a refusal with its reason."""

    ok: bool
    reason: str = ""  # for people: what was refused and why
    code: str = ""  # for counting: no_capacity, unknown_site, already_active
    network_ref: int = 0  # the handle the network counts the service's usage under
    path: tuple[str, ...] = ()  # node names, customer site first
    links: tuple[str, ...] = ()  # link ids along the path
    latency_s: float = 0.0

    @classmethod
    def refused(cls, code: str, reason: str) -> "Activation":
        return cls(ok=False, reason=reason, code=code)


@dataclass(frozen=True, slots=True)
class NodeInfo:
    id: str
    latitude: float | None = None
    longitude: float | None = None
    gateway: bool = False


@dataclass(frozen=True, slots=True)
class LinkInfo:
    id: str
    a: str
    b: str
    capacity_bps: int
    latency_s: float


@dataclass(frozen=True, slots=True)
class SharedRiskGroup:
    """Links that share a physical risk (one duct, one cable): the operator's records of the plant."""

    name: str
    links: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NetworkTopology:
    """The operator's view of the network's resources (for resource inventory)."""

    name: str
    nodes: tuple[NodeInfo, ...]
    links: tuple[LinkInfo, ...]
    srlgs: tuple[SharedRiskGroup, ...] = ()


@dataclass(frozen=True)
class UsageBatch:
    """Usage counted by the network: one record per service per interval, as columns.

    ``network_ref`` names the service as the network knows it (its flow cookie),
    ``start``/``end`` bound the interval in seconds since the scenario start,
    ``volume_bytes`` is what the network carried for it.
    """

    network_ref: np.ndarray  # int64
    start: np.ndarray  # float64
    end: np.ndarray  # float64
    volume_bytes: np.ndarray  # int64

    def __post_init__(self) -> None:
        n = len(self.network_ref)
        if not (len(self.start) == len(self.end) == len(self.volume_bytes) == n):
            raise ValueError("usage batch columns differ in length")

    def __len__(self) -> int:
        return len(self.network_ref)

    @classmethod
    def empty(cls) -> "UsageBatch":
        return cls(
            np.empty(0, np.int64), np.empty(0, np.float64), np.empty(0, np.float64), np.empty(0, np.int64)
        )


@dataclass(frozen=True)
class KpiBatch:
    """One interval's measured performance: per link, and per service with traffic."""

    start: float
    end: float
    link_ids: tuple[str, ...]
    utilisation: np.ndarray  # by link, offered load / capacity
    delay_s: np.ndarray  # by link: propagation + queueing
    loss: np.ndarray  # by link
    service_refs: np.ndarray  # network handles of the services with traffic
    service_latency_s: np.ndarray
    service_loss: np.ndarray
    service_throughput_bps: np.ndarray


@runtime_checkable
class NetworkPort(Protocol):
    """What every network backend offers the operator."""

    def topology(self) -> NetworkTopology:
        """The nodes and links, with capacities and latencies."""

    def activate(self, spec: ServiceSpec, at: float) -> Activation:
        """Find a path with the bandwidth, reserve it and start carrying the service."""

    def modify(self, service_id: str, bandwidth_bps: int, at: float) -> Activation:
        """Change a live service's bandwidth (re-routing it if the path lacks capacity)."""

    def move(self, service_id: str, site: str, at: float) -> Activation:
        """Re-provision a live service from another site (same handle, so usage continues)."""

    def suspend(self, service_id: str, at: float) -> None:
        """Stop carrying the service's traffic, keeping its resources."""

    def resume(self, service_id: str, at: float) -> None:
        """Carry a suspended service's traffic again."""

    def deactivate(self, service_id: str, at: float) -> None:
        """Stop the service and release its resources."""

    def collect_usage(self, at: float) -> UsageBatch:
        """The usage counted since the previous collection, up to ``at``."""

    def collect_kpis(self, at: float) -> KpiBatch:
        """Link and service performance since the previous collection, up to ``at``."""

    def usage_totals(self) -> tuple[np.ndarray, np.ndarray]:
        """(network handles, bytes) the network has counted for each service since it started."""


class UsageArchive(Protocol):
    """Keeps rated usage records (columnar) for re-rating and audit, and the rejected ones."""

    def append(self, records: "RatedUsage") -> None: ...

    def reject(self, batch: UsageBatch, keys: np.ndarray, rows: np.ndarray, reasons: np.ndarray) -> None: ...


@dataclass(frozen=True)
class RatedUsage:
    """Accepted usage records with their charge, as columns (see :mod:`oss_bss.usage`)."""

    service_key: np.ndarray  # int64: the inventory's dense key of the service
    start: np.ndarray  # float64
    end: np.ndarray  # float64
    volume_bytes: np.ndarray  # int64
    charge_micros: np.ndarray  # int64

    def __len__(self) -> int:
        return len(self.service_key)


class MemoryUsageArchive:
    """A usage archive that keeps everything in memory (unit tests, small runs)."""

    def __init__(self) -> None:
        self.batches: list[RatedUsage] = []
        self.rejected: list[tuple] = []

    def append(self, records: RatedUsage) -> None:
        self.batches.append(records)

    def reject(self, batch: UsageBatch, keys: np.ndarray, rows: np.ndarray, reasons: np.ndarray) -> None:
        self.rejected.append((batch, keys[rows], rows, reasons))
