"""A finished run, read back from its folder, in the shape the API and the dashboard read.

``run_scenario.py serve RUNDIR`` serves a run after the fact, read-only: the
records come from its database (``run.db`` or the URL it was written to),
the catalog from the scenario it ran (``scenario.yaml``), open usage from
``usage/rated.parquet`` and link utilisation from ``kpi/links.npz``. Nothing
is re-run and nothing is written.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyarrow.parquet as pq

from oss_bss.adapters import sql
from oss_bss.adapters.invoices import epoch_of
from oss_bss.errors import TelcolabError
from oss_bss.money import ZERO
from oss_bss.periods import Calendar
from sim.products import catalog_of
from sim.scenario import load_scenario


class NotARun(TelcolabError):
    """The folder given is not a finished run's (or misses a part that serving needs)."""

    def __init__(self, folder: Path, reason: str):
        self._say(f"{folder}: {reason}", folder, reason)


class StoredRun:
    """What a served finished run shows: ``records``, ``assurance``, ``catalog``, ``calendar``, ``currency``."""

    def __init__(self, folder: Path, db_url: str | None = None):
        folder = Path(folder)
        summary_file, scenario_file = folder / "summary.json", folder / "scenario.yaml"
        if not summary_file.is_file():
            raise NotARun(folder, "not a run folder (no summary.json)")
        if not scenario_file.is_file():
            raise NotARun(folder, "no scenario.yaml (the run is older than serving; run its scenario again)")
        self.summary = json.loads(summary_file.read_text(encoding="utf-8"))
        if "replications" in self.summary:
            raise NotARun(folder, "a replications folder: serve one of its seed-<n> runs")
        spec = load_scenario(scenario_file).spec
        self.catalog = catalog_of(spec)
        self.currency = self.summary["currency"]
        self.calendar = Calendar(epoch_of(self.summary["start"]))
        url = db_url or f"sqlite:///{folder / 'run.db'}"
        if db_url is None and not (folder / "run.db").is_file():
            raise NotARun(folder, "no run.db (give --db with the database URL the run was written to)")
        stored = sql.load(url)
        self.records = stored.records
        self.assurance = SimpleNamespace(alarms=stored.alarms, incidents=stored.incidents, tickets=stored.tickets)
        self.records.usage = _open_usage(folder / "usage" / "rated.parquet", self.records)
        self.performance = _utilisation(folder / "kpi" / "links.npz")
        paid = sum((b.paid for b in self.records.bills.values()), ZERO)
        self.collections = SimpleNamespace(payments=paid)
        self.revenue = SimpleNamespace(last_collection=spec.duration_seconds)


def _open_usage(path: Path, records) -> SimpleNamespace:
    """Per service key: the bytes and micro-units rated since its account's last bill (TMF635's open usage)."""
    count = len(records.services.by_key)
    open_bytes = np.zeros(count, dtype=np.int64)
    open_micros = np.zeros(count, dtype=np.int64)
    if path.is_file() and count:
        table = pq.read_table(path, columns=["service_key", "start", "volume_bytes", "charge_micros"])
        keys = table.column("service_key").to_numpy()
        billed_until = np.array([records.accounts[s.billing_account_id].last_billed_at or -1.0
                                 for s in records.services.by_key])  # fmt: skip
        unbilled = table.column("start").to_numpy() >= billed_until[keys]
        np.add.at(open_bytes, keys[unbilled], table.column("volume_bytes").to_numpy()[unbilled])  # exact integers
        np.add.at(open_micros, keys[unbilled], table.column("charge_micros").to_numpy()[unbilled])
    return SimpleNamespace(open_bytes=open_bytes, open_micros=open_micros)


def _utilisation(path: Path) -> SimpleNamespace:
    if not path.is_file():
        return SimpleNamespace(link_ids=[], utilisation=[])
    with np.load(path) as kpi:
        return SimpleNamespace(link_ids=[str(x) for x in kpi["link_ids"]], utilisation=list(kpi["utilisation"]))
