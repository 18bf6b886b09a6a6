"""The usage model against its own theory: volume means and the daily profile."""

import numpy as np
import pytest

from sim.scenario import Exponential, Holding, Lognormal, OnOff, Pareto
from sim.traffic import SegmentTraffic, TrafficModel


def model(seed=1, profile=None, week=None, segs=None):
    segs = segs or [
        SegmentTraffic(24.0, Lognormal(median_mb=100, sigma=0.8)),
        SegmentTraffic(0.0, Lognormal(median_mb=1, sigma=0.1)),
    ]
    return TrafficModel(segs, profile or [1.0] * 24, np.random.default_rng(seed), week)


def test_mean_daily_volume_matches_poisson_times_lognormal_mean():
    m = model()
    for ref in range(1, 2001):
        m.add(ref, 0)
    days = 5
    assert m.segments[0].mean_session_bytes == 100e6 * np.exp(0.8**2 / 2)
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


def daily_volume(m, days):
    return [sum(int(m.demand(h * 3600.0, (h + 1) * 3600.0)[1].sum()) for h in range(24 * d, 24 * (d + 1)))
            for d in range(days)]  # fmt: skip


def test_weekly_profile_shapes_the_days():
    week = [1, 1, 1, 1, 1, 0, 2]  # quiet Saturday, busy Sunday
    m = model(week=week)
    for ref in range(1, 301):
        m.add(ref, 0)
    mon, tue, wed, thu, fri, sat, sun = daily_volume(m, 7)
    assert sat == 0
    assert 1.7 < sun / np.mean([mon, tue, wed, thu, fri]) < 2.3


@pytest.mark.parametrize(
    "volume,mean",
    [(Exponential(distribution="exponential", mean_mb=50), 50e6),
     (Pareto(distribution="pareto", alpha=2.5, min_mb=30), 30e6 * 2.5 / 1.5)],
)  # fmt: skip
def test_other_volume_distributions_have_their_theoretical_mean(volume, mean):
    seg = SegmentTraffic(24.0, volume)
    assert seg.mean_session_bytes == pytest.approx(mean)
    draws = seg.draw_bytes(np.random.default_rng(3), 400_000)
    assert abs(draws.mean() / mean - 1) < 0.03


def test_session_durations_move_volume_into_the_next_interval_but_lose_none():
    quick = SegmentTraffic(10.0, Exponential(distribution="exponential", mean_mb=10))
    slow = SegmentTraffic(10.0, Exponential(distribution="exponential", mean_mb=10), duration=Holding(mean="30m"))
    totals = []
    for seg in (quick, slow):
        m = model(segs=[seg], seed=9)
        for ref in range(1, 501):
            m.add(ref, 0)
        first = int(m.demand(0.0, 3600.0)[1].sum())
        m.factor[:] = 0.0  # no new sessions: what comes next is carried over
        carried = int(m.demand(3600.0, 7200.0)[1].sum())
        totals.append((first, carried))
    (q_first, q_carried), (s_first, s_carried) = totals
    assert q_carried == 0 and s_carried > 0
    assert abs((s_first + s_carried) / q_first - 1) < 1e-6  # same draws, same total


def test_on_off_sources_send_their_rate_for_their_on_share():
    oo = OnOff(on_period="60s", off_period="180s", rate_mbps=8.0)
    m = model(segs=[SegmentTraffic(0.0, Lognormal(median_mb=1), on_off=oo)], seed=4)
    for ref in range(1, 1001):
        m.add(ref, 0)
    total = sum(int(m.demand(h * 3600.0, (h + 1) * 3600.0)[1].sum()) for h in range(6))
    expected = 1000 * 6 * 3600 * (60 / 240) * 8e6 / 8
    assert abs(total / expected - 1) < 0.02


def test_a_flash_crowd_multiplies_the_chosen_customers_and_ends():
    m = model()
    for ref in range(1, 401):
        m.add(ref, 0, site=ref % 2)
    refs = m.scale(10.0, segments={0}, sites={1})
    assert len(refs) == 200 and m.factor[:400].sum() == 200 * 10 + 200
    m.unscale(10.0, refs)
    assert (m.factor[:400] == 1.0).all()


@pytest.mark.parametrize("holding", [{"mean": "20m"}, {"mean": "20m", "distribution": "lognormal", "sigma": 1.5},
                                     {"mean": "20m", "distribution": "pareto", "alpha": 2.2}])  # fmt: skip
def test_holding_times_have_the_mean_they_are_given(holding):
    draws = Holding.model_validate(holding).draw(np.random.default_rng(1), 2_000_000)
    assert abs(draws.mean() / 1200 - 1) < 0.02


def test_a_silencing_change_is_undone_too():
    m = model()
    for ref in range(1, 101):
        m.add(ref, 0)
    refs = m.scale(0.0)
    assert len(m.demand(0.0, 3600.0)[0]) == 0
    m.unscale(0.0, refs)
    assert len(m.demand(3600.0, 7200.0)[0]) > 0
