"""Link KPI time series in a file beside the database: ``kpi/links.npz``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from oss_bss.performance import PerformanceManagement


def save(pm: PerformanceManagement, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(folder / "links.npz", **pm.link_series())
