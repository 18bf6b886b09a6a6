"""Performance management: KPIs per link and per service per interval.

Links: utilisation, delay and loss each interval, kept whole as time series
(intervals x links). Services: latency, loss and throughput each interval for
every service with traffic. Those are many, so per service the operator
keeps the latest values and running sums since its last bill (for SLAs and
the customer experience index), and over the whole run a latency histogram
with bins 1 % wide from which percentiles are read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from oss_bss.ports import KpiBatch

# Latency histogram: log-spaced bins from 1 us to 100 s, each about 1 % wide.
_EDGES = np.logspace(-6, 2, 1853)
_PER_SERVICE = ("svc_intervals", "svc_latency_sum", "svc_latency_max", "svc_loss_sum", "svc_last_latency",
                "svc_last_loss", "svc_last_throughput")  # by service key


@dataclass(frozen=True, slots=True)
class ServiceKpis:
    intervals: int  # with traffic, since the last bill
    mean_latency_ms: float
    max_latency_ms: float
    mean_loss: float
    last_latency_ms: float
    last_loss: float
    last_throughput_mbps: float


class PerformanceManagement:
    def __init__(self, link_ids: list[str], capacity: int = 1024):
        self.link_ids = list(link_ids)
        self.ends: list[float] = []
        self.utilisation: list[np.ndarray] = []
        self.delay: list[np.ndarray] = []
        self.loss: list[np.ndarray] = []
        self.samples = 0
        self.latency_sum = 0.0
        self.offered_bits = 0.0
        self.lost_bits = 0.0
        self.throughput_sum = 0.0
        self.histogram = np.zeros(len(_EDGES) + 1, dtype=np.int64)
        for name in _PER_SERVICE:
            setattr(self, name, np.zeros(capacity))

    def _ensure(self, size: int) -> None:
        old = len(self.svc_intervals)
        if size <= old:
            return
        new = max(size, 2 * old)
        for name in _PER_SERVICE:
            grown = np.zeros(new)
            grown[:old] = getattr(self, name)
            setattr(self, name, grown)

    def record(self, m: KpiBatch, keys: np.ndarray) -> None:
        """Keep one interval's KPIs; ``keys`` are the inventory keys of ``m.service_refs`` (-1: unknown)."""
        self.ends.append(m.end)
        self.utilisation.append(m.utilisation.astype(np.float32))
        self.delay.append(m.delay_s.astype(np.float32))
        self.loss.append(m.loss.astype(np.float32))
        if not len(m.service_refs):
            return
        span = m.end - m.start
        offered = m.service_throughput_bps / np.maximum(1.0 - m.service_loss, 1e-12) * span
        self.samples += len(m.service_refs)
        self.latency_sum += float(m.service_latency_s.sum())
        self.offered_bits += float(offered.sum())
        self.lost_bits += float((offered * m.service_loss).sum())
        self.throughput_sum += float(m.service_throughput_bps.sum())
        self.histogram += np.bincount(np.searchsorted(_EDGES, m.service_latency_s), minlength=len(self.histogram))
        known = keys >= 0
        k = keys[known]
        if len(k):
            self._ensure(int(k.max()) + 1)
            self.svc_intervals[k] += 1  # one record per service per interval: keys are unique
            self.svc_latency_sum[k] += m.service_latency_s[known]
            self.svc_latency_max[k] = np.maximum(self.svc_latency_max[k], m.service_latency_s[known])
            self.svc_loss_sum[k] += m.service_loss[known]
            self.svc_last_latency[k] = m.service_latency_s[known]
            self.svc_last_loss[k] = m.service_loss[known]
            self.svc_last_throughput[k] = m.service_throughput_bps[known]

    def service(self, key: int) -> ServiceKpis:
        """A service's KPIs since its last bill, and its latest."""
        self._ensure(key + 1)
        n = self.svc_intervals[key]
        return ServiceKpis(
            int(n),
            float(self.svc_latency_sum[key] / n * 1e3) if n else 0.0,
            float(self.svc_latency_max[key] * 1e3),
            float(self.svc_loss_sum[key] / n) if n else 0.0,
            float(self.svc_last_latency[key] * 1e3),
            float(self.svc_last_loss[key]),
            float(self.svc_last_throughput[key] / 1e6),
        )

    def close(self, key: int) -> ServiceKpis:
        """Take a service's KPIs for its bill and start the next period afresh."""
        kpis = self.service(key)
        for name in ("svc_intervals", "svc_latency_sum", "svc_latency_max", "svc_loss_sum"):
            getattr(self, name)[key] = 0.0
        return kpis

    def percentile(self, q: float) -> float:
        """The q-th percentile of service latency (seconds), to the histogram's 1 %."""
        if self.samples == 0:
            return 0.0
        k = int(np.searchsorted(np.cumsum(self.histogram), q / 100.0 * self.samples))
        return float(_EDGES[min(k, len(_EDGES) - 1)])

    def link_series(self) -> dict[str, np.ndarray]:
        """The link time series as arrays (intervals x links)."""
        empty = np.zeros((0, len(self.link_ids)), np.float32)
        return {
            "link_ids": np.array(self.link_ids),
            "interval_end": np.array(self.ends),
            "utilisation": np.array(self.utilisation) if self.utilisation else empty,
            "delay_s": np.array(self.delay) if self.delay else empty,
            "loss": np.array(self.loss) if self.loss else empty,
        }

    def summary(self, model: str) -> dict:
        series = self.link_series()
        util, delay, loss = series["utilisation"], series["delay_s"], series["loss"]
        busiest = int(util.max(axis=0).argmax()) if util.size else None
        return {
            "model": model,
            "links": {
                "utilisation": {
                    "mean": float(util.mean()) if util.size else 0.0,
                    "max": float(util.max()) if util.size else 0.0,
                    "busiest": self.link_ids[busiest] if busiest is not None else None,
                },
                "delay_ms": {"max": float(delay.max()) * 1e3 if delay.size else 0.0},
                "loss": {"max": float(loss.max()) if loss.size else 0.0},
            },
            "services": {
                "intervals": self.samples,
                "latency_ms": {
                    "mean": self.latency_sum / self.samples * 1e3 if self.samples else 0.0,
                    "p95": self.percentile(95) * 1e3,
                },
                "loss": self.lost_bits / self.offered_bits if self.offered_bits else 0.0,
                "throughput_mbps": {"mean": self.throughput_sum / self.samples / 1e6 if self.samples else 0.0},
            },
        }
