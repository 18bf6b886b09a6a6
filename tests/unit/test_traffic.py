"""The usage model against its own theory: volume means and the daily profile."""

import numpy as np

from sim.traffic import SegmentTraffic, TrafficModel


def model(seed=1, profile=None):
    segs = [SegmentTraffic(24.0, np.log(100e6), 0.8), SegmentTraffic(0.0, np.log(1e6), 0.1)]
    return TrafficModel(segs, profile or [1.0] * 24, np.random.default_rng(seed))


def test_mean_daily_volume_matches_poisson_times_lognormal_mean():
    m = model()
    for ref in range(1, 2001):
        m.add(ref, 0)
    days = 5
    total = 0
    for h in range(24 * days):
        refs, volume = m.demand(h * 3600.0, (h + 1) * 3600.0)
        total += int(volume.sum())
    expected = 2000 * days * 24.0 * 100e6 * np.exp(0.8**2 / 2)
    # 240,000 sessions expected: relative standard error ~0.3 %; 2 % is wide.
    assert abs(total / expected - 1) < 0.02


def test_sessions_follow_the_daily_profile():
    profile = [0.0] * 24
    profile[20] = 3.0
    profile[8] = 1.0
    m = model(profile=profile)
    for ref in range(1, 501):
        m.add(ref, 0)
    busy = {h: len(m.demand(h * 3600.0, (h + 1) * 3600.0)[0]) for h in range(24)}
    assert busy[3] == 0 and busy[20] > busy[8] > 0


def test_silent_segments_and_removed_services_offer_nothing():
    m = model()
    m.add(1, 1)
    m.add(2, 0)
    m.add(3, 0)
    m.remove(2)
    seen = set()
    for h in range(48):
        seen.update(m.demand(h * 3600.0, (h + 1) * 3600.0)[0].tolist())
    assert seen == {3}


def test_same_seed_same_demand():
    a, b = model(5), model(5)
    for m in (a, b):
        for ref in range(1, 100):
            m.add(ref, 0)
    ra, va = a.demand(0, 3600)
    rb, vb = b.demand(0, 3600)
    assert ra.tolist() == rb.tolist() and va.tolist() == vb.tolist()
