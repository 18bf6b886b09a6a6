"""Customer traffic, generated per interval for every active service at once.

The model, per service:

* sessions start as a Poisson process whose rate is the segment's sessions
  per day, shaped by the hourly daily profile and the weekly profile, times
  any factor the timeline applies (a flash crowd);
* a session's volume is lognormal, exponential or Pareto (per segment);
* with a session duration (exponential, lognormal or Pareto), a session that starts late in
  an interval carries the share of its volume past the interval's end into
  the next interval (the rest of a long session is carried whole, a
  simplification that keeps the path vectorised);
* optionally an ON/OFF source sends at a constant rate during ON periods and
  nothing during OFF periods (exponential or Pareto periods, which give
  self-similar traffic when aggregated).

For one interval the whole population is drawn in a handful of array
operations: session counts for every service (one Poisson draw), the volumes
of all sessions (one draw per segment), summed per service with
``bincount``. No Python object is made per session or record.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.scenario import Exponential, Holding, Lognormal, OnOff, Pareto, Segment

HOUR = 3600.0
DAY = 86_400.0


@dataclass(frozen=True)
class SegmentTraffic:
    sessions_per_day: float
    volume: Lognormal | Exponential | Pareto
    duration: Holding | None = None
    on_off: OnOff | None = None

    @classmethod
    def from_config(cls, seg: Segment) -> "SegmentTraffic":
        return cls(seg.sessions_per_day, seg.session_volume, seg.session_duration, seg.on_off)

    @property
    def mean_session_bytes(self) -> float:
        v = self.volume
        if isinstance(v, Lognormal):
            return v.median_mb * 1e6 * float(np.exp(v.sigma**2 / 2))
        if isinstance(v, Exponential):
            return v.mean_mb * 1e6
        return v.min_mb * 1e6 * v.alpha / (v.alpha - 1)

    def draw_bytes(self, rng: np.random.Generator, n: int) -> np.ndarray:
        v = self.volume
        if isinstance(v, Lognormal):
            return rng.lognormal(np.log(v.median_mb * 1e6), v.sigma, n)
        if isinstance(v, Exponential):
            return rng.exponential(v.mean_mb * 1e6, n)
        return (rng.pareto(v.alpha, n) + 1.0) * v.min_mb * 1e6


def draw_periods(rng: np.random.Generator, mean: float, n: int, distribution: str, alpha: float) -> np.ndarray:
    if distribution == "pareto":
        return (rng.pareto(alpha, n) + 1.0) * mean * (alpha - 1) / alpha
    return rng.exponential(mean, n)


class TrafficModel:
    """The demand of the active services, by the network's handle (``ref``)."""

    def __init__(
        self,
        segments: list[SegmentTraffic],
        daily_profile: list[float],
        rng: np.random.Generator,
        weekly_profile: list[float] | None = None,
        first_weekday: int = 0,
    ):
        profile = np.asarray(daily_profile, dtype=np.float64)
        self.profile = profile / profile.sum()  # share of a day's sessions in each hour
        week = np.asarray(weekly_profile or [1.0] * 7, dtype=np.float64)
        self.week = week * 7 / week.sum()  # mean 1 over a week
        self.first_weekday = first_weekday  # weekday of the start date, Monday = 0
        self.segments = segments
        self.rate = np.array([s.sessions_per_day for s in segments])
        self.rng = rng
        self.count = 0
        self._slot: dict[int, int] = {}
        size = 1024
        self.refs = np.zeros(size, dtype=np.int64)
        self.segment = np.zeros(size, dtype=np.int16)
        self.site = np.zeros(size, dtype=np.int32)
        self.factor = np.ones(size)
        self.silenced = np.zeros(size, dtype=np.int32)  # factor-0 changes in force (cannot be divided out)
        self.pending = np.zeros(size)  # bytes of sessions running on into the next interval
        self.on = np.zeros(size, dtype=bool)  # ON/OFF state
        self.left = np.zeros(size)  # time left in the current ON or OFF period
        self._onoff_segments = np.array([s.on_off is not None for s in segments])

    _columns = ("refs", "segment", "site", "factor", "silenced", "pending", "on", "left")

    def add(self, ref: int, segment: int, site: int = 0) -> None:
        """A service starts carrying its customer's traffic."""
        if self.count == len(self.refs):
            for name in self._columns:
                old = getattr(self, name)
                setattr(self, name, np.concatenate([old, np.zeros_like(old)]))
        k = self.count
        self.refs[k], self.segment[k], self.site[k] = ref, segment, site
        self.factor[k], self.pending[k], self.silenced[k] = 1.0, 0.0, 0
        oo = self.segments[segment].on_off
        if oo is not None:  # start in the stationary state
            self.on[k] = self.rng.random() < oo.on_period / (oo.on_period + oo.off_period)
            mean = oo.on_period if self.on[k] else oo.off_period
            self.left[k] = draw_periods(self.rng, mean, 1, oo.distribution, oo.alpha)[0]
        self._slot[ref] = k
        self.count += 1

    def move(self, ref: int, site: int) -> None:
        """A service's customer moved to another site (for changes aimed at sites)."""
        self.site[self._slot[ref]] = site

    def remove(self, ref: int) -> None:
        """A service stops for good; the last slot moves into its place."""
        slot, last = self._slot.pop(ref), self.count - 1
        if slot != last:
            for name in self._columns:
                column = getattr(self, name)
                column[slot] = column[last]
            self._slot[int(self.refs[slot])] = slot
        self.count = last

    def scale(self, factor: float, segments: set[int] | None = None, sites: set[int] | None = None) -> np.ndarray:
        """Multiply the session rate of matching services; returns their slots' refs (to undo)."""
        n = self.count
        mask = np.ones(n, dtype=bool)
        if segments is not None:
            mask &= np.isin(self.segment[:n], list(segments))
        if sites is not None:
            mask &= np.isin(self.site[:n], list(sites))
        if factor == 0:
            self.silenced[:n][mask] += 1
        else:
            self.factor[:n][mask] *= factor
        return self.refs[:n][mask].copy()

    def unscale(self, factor: float, refs: np.ndarray) -> None:
        """Undo :meth:`scale` for the services still active."""
        slots = [self._slot[r] for r in refs.tolist() if r in self._slot]
        if not slots:
            return
        if factor == 0:
            self.silenced[slots] -= 1
        else:
            self.factor[slots] /= factor

    def demand(self, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
        """Handles and bytes offered in [t0, t1), an interval inside one hour of the day."""
        n = self.count
        if n == 0:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        span = t1 - t0
        seg = self.segment[:n]
        hour = int(t0 // HOUR) % 24
        weekday = (self.first_weekday + int(t0 // DAY)) % 7
        factor = np.where(self.silenced[:n] > 0, 0.0, self.factor[:n])
        lam = self.rate[seg] * self.profile[hour] * self.week[weekday] * factor * (span / HOUR)
        sessions = self.rng.poisson(lam)
        volume = self.pending[:n].copy()
        self.pending[:n] = 0.0
        if sessions.any():
            owner = np.repeat(np.arange(n), sessions)
            owner_seg = seg[owner]
            draws = np.empty(len(owner))
            for s, model in enumerate(self.segments):
                mine = owner_seg == s
                if mine.any():
                    draws[mine] = model.draw_bytes(self.rng, int(mine.sum()))
            now_part = draws
            for s, model in enumerate(self.segments):
                if model.duration is None:
                    continue
                mine = np.flatnonzero(owner_seg == s)
                if len(mine):
                    start = self.rng.uniform(0.0, span, len(mine))
                    length = model.duration.draw(self.rng, len(mine))
                    inside = np.minimum(1.0, (span - start) / length)
                    rest = draws[mine] * (1.0 - inside)
                    now_part = now_part.copy() if now_part is draws else now_part
                    now_part[mine] = draws[mine] * inside
                    self.pending[:n] += np.bincount(owner[mine], weights=rest, minlength=n)
            volume += np.bincount(owner, weights=now_part, minlength=n)
        if self._onoff_segments.any():
            volume += self._on_off(n, span)
        busy = volume >= 0.5
        return self.refs[:n][busy].copy(), np.rint(volume[busy]).astype(np.int64)

    def _on_off(self, n: int, span: float) -> np.ndarray:
        """Bytes sent by the ON/OFF sources in an interval of ``span`` seconds."""
        out = np.zeros(n)
        for s, model in enumerate(self.segments):
            oo = model.on_off
            if oo is None:
                continue
            slots = np.flatnonzero(self.segment[:n] == s)
            elapsed = np.zeros(len(slots))
            on_time = np.zeros(len(slots))
            todo = np.arange(len(slots))
            while len(todo):
                k = slots[todo]
                step = np.minimum(self.left[k], span - elapsed[todo])
                on_time[todo] += step * self.on[k]
                elapsed[todo] += step
                self.left[k] -= step
                ended = self.left[k] <= 0
                if ended.any():
                    e = k[ended]
                    self.on[e] = ~self.on[e]
                    means = np.where(self.on[e], oo.on_period, oo.off_period)
                    self.left[e] = draw_periods(self.rng, 1.0, len(e), oo.distribution, oo.alpha) * means
                todo = todo[elapsed[todo] < span]
            out[slots] = on_time * oo.rate_mbps * 1e6 / 8
        return out
