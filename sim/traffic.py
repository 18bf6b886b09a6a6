"""Customer traffic, generated per interval for every active service at once.

The model: each active service's customer starts sessions as a Poisson
process whose rate follows the segment's sessions per day shaped by the
hourly daily profile; each session's volume is lognormal (median and sigma of
its logarithm, per segment). For one interval, the whole population is drawn
in a few array operations: session counts for every service (one Poisson
draw each), the volumes of all sessions (one lognormal draw), summed per
service with ``bincount``. No Python object is made per session or record.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.scenario import Segment


@dataclass(frozen=True)
class SegmentTraffic:
    sessions_per_day: float
    log_median: float  # ln of the median session volume in bytes
    sigma: float

    @classmethod
    def from_config(cls, seg: Segment) -> "SegmentTraffic":
        return cls(seg.sessions_per_day, float(np.log(seg.session_volume.median_mb * 1e6)), seg.session_volume.sigma)


class TrafficModel:
    """The demand of the active services, by the network's handle (``ref``)."""

    def __init__(self, segments: list[SegmentTraffic], daily_profile: list[float], rng: np.random.Generator):
        profile = np.asarray(daily_profile, dtype=np.float64)
        self.profile = profile / profile.sum()  # share of a day's sessions in each hour
        self.rate = np.array([s.sessions_per_day for s in segments])
        self.mu = np.array([s.log_median for s in segments])
        self.sigma = np.array([s.sigma for s in segments])
        self.rng = rng
        self.refs = np.zeros(1024, dtype=np.int64)
        self.segment = np.zeros(1024, dtype=np.int16)
        self.count = 0
        self._slot: dict[int, int] = {}

    def add(self, ref: int, segment: int) -> None:
        """A service starts carrying its customer's traffic."""
        if self.count == len(self.refs):
            self.refs = np.concatenate([self.refs, np.zeros_like(self.refs)])
            self.segment = np.concatenate([self.segment, np.zeros_like(self.segment)])
        self.refs[self.count], self.segment[self.count] = ref, segment
        self._slot[ref] = self.count
        self.count += 1

    def remove(self, ref: int) -> None:
        """A service stops for good; the last slot moves into its place."""
        slot, last = self._slot.pop(ref), self.count - 1
        if slot != last:
            moved = int(self.refs[last])
            self.refs[slot], self.segment[slot] = moved, self.segment[last]
            self._slot[moved] = slot
        self.count = last

    def demand(self, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
        """Handles and bytes offered in [t0, t1), an interval inside one hour of the day."""
        n = self.count
        if n == 0:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        seg = self.segment[:n]
        hour = int(t0 // 3600) % 24
        lam = self.rate[seg] * self.profile[hour] * ((t1 - t0) / 3600.0)
        sessions = self.rng.poisson(lam)
        total = int(sessions.sum())
        if total == 0:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        owner = np.repeat(np.arange(n), sessions)
        owner_seg = seg[owner]
        volumes = self.rng.lognormal(self.mu[owner_seg], self.sigma[owner_seg])
        per_service = np.bincount(owner, weights=volumes, minlength=n)
        busy = sessions > 0
        return self.refs[:n][busy].copy(), np.rint(per_service[busy]).astype(np.int64)
