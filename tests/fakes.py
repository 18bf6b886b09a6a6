"""A fake network for unit tests: the NetworkPort with no network behind it.

It activates every service on a one-hop path unless told to refuse a site,
and reports whatever usage the test hands it.
"""

from __future__ import annotations

import numpy as np

from oss_bss.ports import Activation, LinkInfo, NetworkTopology, NodeInfo, ServiceSpec, UsageBatch


class FakeNetwork:
    name = "fake"

    def __init__(self, refuse_sites: set[str] = frozenset()):
        self.refuse_sites = set(refuse_sites)
        self.active: dict[str, int] = {}
        self.suspended: set[str] = set()
        self.calls: list[tuple] = []
        self._next = 1
        self._pending = UsageBatch.empty()
        self.counted: dict[int, int] = {}  # bytes per handle ever collected (usage_totals)

    def topology(self) -> NetworkTopology:
        return NetworkTopology(
            "fake", (NodeInfo("a"), NodeInfo("gw", gateway=True)), (LinkInfo("a--gw", "a", "gw", 10**10, 0.001),)
        )

    def activate(self, spec: ServiceSpec, at: float) -> Activation:
        self.calls.append(("activate", spec.service_id, at))
        if spec.site in self.refuse_sites:
            return Activation.refused("no_capacity", f"no capacity at {spec.site}")
        ref, self._next = self._next, self._next + 1
        self.active[spec.service_id] = ref
        return Activation(True, network_ref=ref, path=(spec.site, "gw"), links=("a--gw",))

    def modify(self, service_id: str, bandwidth_bps: int, at: float) -> Activation:
        return Activation(True, network_ref=self.active[service_id])

    def move(self, service_id: str, site: str, at: float) -> Activation:
        if site in self.refuse_sites:
            return Activation.refused("no_capacity", f"no capacity at {site}")
        return Activation(True, network_ref=self.active[service_id], path=(site, "gw"))

    def suspend(self, service_id: str, at: float) -> None:
        self.suspended.add(service_id)

    def resume(self, service_id: str, at: float) -> None:
        self.suspended.discard(service_id)

    def deactivate(self, service_id: str, at: float) -> None:
        self.active.pop(service_id)

    def report(self, refs, starts, ends, volumes) -> None:
        """Queue usage records for the next collection."""
        self._pending = UsageBatch(
            np.asarray(refs, np.int64), np.asarray(starts, float), np.asarray(ends, float), np.asarray(volumes, np.int64)
        )

    def collect_usage(self, at: float) -> UsageBatch:
        batch, self._pending = self._pending, UsageBatch.empty()
        for ref, volume in zip(batch.network_ref.tolist(), batch.volume_bytes.tolist()):
            self.counted[ref] = self.counted.get(ref, 0) + volume
        return batch

    def usage_totals(self):
        refs = sorted(self.counted)
        return np.array(refs, np.int64), np.array([self.counted[r] for r in refs], np.int64)
