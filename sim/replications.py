"""Replications: one scenario run with N seeds, summarised with confidence intervals.

Seeds are the scenario's seed, seed + 1, ..., each run in its own folder
(``seed-<n>/``) beside a ``summary.json`` whose ``replications`` section gives,
for every numeric figure of the runs' summaries, the values, their mean and
the 95 % confidence interval of the mean (Student's t).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sim import runner
from sim.outputs import RunFolder, write_json
from sim.scenario import LoadedScenario
from sim.stats import mean_ci

SKIP = {"seed", "wall_seconds", "peak_memory_mb", "simulated_days"}


def numeric_leaves(summary: dict, prefix: str = "") -> dict[str, float]:
    """Every number of a summary under its dotted key (money strings included)."""
    out: dict[str, float] = {}
    for key, value in summary.items():
        path = f"{prefix}{key}"
        if path in SKIP:
            continue
        if isinstance(value, dict):
            out.update(numeric_leaves(value, path + "."))
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, (int, float)):
            out[path] = float(value)
        elif isinstance(value, str) and path.startswith(("revenue.", "sla.", "revenue_assurance.")):
            try:
                out[path] = float(Decimal(value))
            except InvalidOperation:
                pass
    return out


def run_replications(
    scenario: LoadedScenario,
    out: Path,
    count: int,
    *,
    db_url: str | None = None,
    on_done: Callable[[int], None] | None = None,
) -> dict:
    """Run ``count`` replications into ``out`` and return the combined summary."""
    started = time.perf_counter()
    base = scenario.spec.seed
    seeds = [base + i for i in range(count)]
    summaries = []
    failed = []
    with RunFolder(out) as work:
        for i, seed in enumerate(seeds):
            one = LoadedScenario(spec=scenario.spec.model_copy(update={"seed": seed}), path=scenario.path)
            result = runner.run(one, work / f"seed-{seed}", db_url=db_url)
            summaries.append(result.summary)
            if not result.passed:
                failed.append(seed)
            if on_done:
                on_done(i + 1)
        leaves = [numeric_leaves(s) for s in summaries]
        keys = [k for k in leaves[0] if all(k in x for x in leaves)]
        metrics = {}
        for key in keys:
            values = [x[key] for x in leaves]
            mean, low, high = mean_ci(values)
            metrics[key] = {"mean": mean, "ci95": [low, high], "values": values}
        summary = {
            "scenario": scenario.spec.name,
            "seed": base,
            "backend": scenario.spec.backend,
            "simulated_days": scenario.spec.duration_days,
            "wall_seconds": round(time.perf_counter() - started, 3),
            "replications": {"count": count, "seeds": seeds, "runs": [f"seed-{s}" for s in seeds],
                             "expectations_failed_in": failed, "metrics": metrics},
        }
        write_json(work / "summary.json", summary)
    return summary
