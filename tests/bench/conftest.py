"""Benchmarks report a ratio against a bare baseline measured in the same run.

A benchmark calls ``measure(name, fn, baseline=..., items=N)``; at the end of
the session the figures are printed as items per second and as the ratio of
the measured code to its baseline, which is what to compare across machines.
"""

from __future__ import annotations

import pytest

RESULTS: dict[str, dict] = {}


@pytest.fixture
def measure(benchmark):
    def run(name: str, fn, *, items: int, baseline: str | None = None, rounds: int = 5):
        benchmark.group = name.split(":")[0]
        benchmark.name = name
        result = benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=1)
        stats = getattr(benchmark, "stats", None)
        if stats is not None:
            RESULTS[name] = {"median": stats.stats.median, "items": items, "baseline": baseline}
        return result

    return run


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not RESULTS:
        return
    terminalreporter.section("telcolab benchmark figures")
    for name, r in sorted(RESULTS.items()):
        rate = r["items"] / r["median"] if r["median"] else float("inf")
        line = f"{name:<48} {rate:>16,.0f} items/s"
        base = RESULTS.get(r["baseline"] or "")
        if base:
            line += f"   {r['median'] / base['median']:6.2f}x the time of {r['baseline']}"
        if r.get("note"):
            line += f"   ({r['note']})"
        terminalreporter.write_line(line)
