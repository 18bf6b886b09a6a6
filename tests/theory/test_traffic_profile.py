"""Generated traffic reproduces the daily profile it was given."""

import numpy as np

from sim.scenario import DEFAULT_PROFILE, Exponential
from sim.stats import mean_ci
from sim.traffic import SegmentTraffic, TrafficModel


def hourly_share(seed: int) -> np.ndarray:
    model = TrafficModel(
        [SegmentTraffic(20.0, Exponential(distribution="exponential", mean_mb=50))],
        DEFAULT_PROFILE, np.random.default_rng(seed),
    )  # fmt: skip
    for ref in range(1, 3001):
        model.add(ref, 0)
    volume = np.zeros(24)
    for h in range(24 * 3):
        volume[h % 24] += model.demand(h * 3600.0, (h + 1) * 3600.0)[1].sum()
    return volume / volume.sum()


def test_the_share_of_traffic_in_each_hour_is_the_profiles():
    shares = np.array([hourly_share(seed) for seed in range(10)])
    profile = np.array(DEFAULT_PROFILE) / sum(DEFAULT_PROFILE)
    level = 1 - 0.05 / 24  # Bonferroni: 24 intervals at once, 95 % together
    for hour in range(24):
        mean, low, high = mean_ci(shares[:, hour].tolist(), level)
        assert low <= profile[hour] <= high, f"hour {hour}: {profile[hour]:.4f} outside [{low:.4f}, {high:.4f}]"
    assert np.argmax(shares.mean(axis=0)) == np.argmax(profile)  # the busy hour is the busy hour
