"""Per-interval performance of links and services, kept as time series.

Links: utilisation, delay and loss each interval, kept whole (intervals x
links, float32) and written to ``kpi/links.npz``. Services: latency, loss and
throughput each interval for every service with traffic; these are many, so
they are summarised as they come (counts, sums and a latency histogram with
bins 1 % wide, from which percentiles are read), not kept.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.network import Measurement

# Latency histogram: log-spaced bins from 1 us to 100 s, each about 1 % wide.
_EDGES = np.logspace(-6, 2, 1853)


class PerformanceRecorder:
    def __init__(self, link_ids: list[str]):
        self.link_ids = link_ids
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

    def record(self, m: Measurement) -> None:
        self.ends.append(m.end)
        self.utilisation.append(m.utilisation.astype(np.float32))
        self.delay.append(m.delay_s.astype(np.float32))
        self.loss.append(m.loss.astype(np.float32))
        n = len(m.service_refs)
        if n:
            span = m.end - m.start
            offered = m.service_throughput_bps / np.maximum(1.0 - m.service_loss, 1e-12) * span
            self.samples += n
            self.latency_sum += float(m.service_latency_s.sum())
            self.offered_bits += float(offered.sum())
            self.lost_bits += float((offered * m.service_loss).sum())
            self.throughput_sum += float(m.service_throughput_bps.sum())
            self.histogram += np.bincount(np.searchsorted(_EDGES, m.service_latency_s), minlength=len(self.histogram))

    def percentile(self, q: float) -> float:
        """The q-th percentile of service latency (seconds), to the histogram's 1 %."""
        if self.samples == 0:
            return 0.0
        k = int(np.searchsorted(np.cumsum(self.histogram), q / 100.0 * self.samples))
        return float(_EDGES[min(k, len(_EDGES) - 1)])

    def summary(self, model: str) -> dict:
        util = np.array(self.utilisation) if self.utilisation else np.zeros((0, len(self.link_ids)))
        delay = np.array(self.delay) if self.delay else util
        loss = np.array(self.loss) if self.loss else util
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

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        empty = np.zeros((0, len(self.link_ids)), np.float32)
        np.savez_compressed(
            folder / "links.npz",
            link_ids=np.array(self.link_ids),
            interval_end=np.array(self.ends),
            utilisation=np.array(self.utilisation) if self.utilisation else empty,
            delay_s=np.array(self.delay) if self.delay else empty,
            loss=np.array(self.loss) if self.loss else empty,
        )
