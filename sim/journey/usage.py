"""The customer's usage per bill period and its prepaid balances, from ``usage/rated.parquet``.

Usage is rated for the whole network each hour, so its events are not steps: usage -> rating ->
bill line is shown per bill period instead (:func:`usage`), summed with NumPy over the columns
pyarrow filtered out of the file (:func:`rated`), next to the usage line the period's bill charged
for the service. A prepaid balance (:func:`prepaid`) is what was topped up (the customer's
``PrepaidToppedUp`` events) less what the file charged, exactly (integer micro-units).
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pyarrow.compute as pc
import pyarrow.dataset as ds

from oss_bss.adapters.usage_files import FILE as RATED_FILE
from oss_bss.money import ZERO, from_micros
from oss_bss.periods import Calendar
from sim.journey.database import Records
from sim.journey.records import Account, Bill, Prepaid, Service, Usage
from sim.report import data
from sim.report.data import NotARunFolder


def _periods(account: Account, bills: list[Bill], calendar: Calendar, end: float) -> np.ndarray:
    """The bounds of an account's bill periods: opened, each cycle date (and bill end) up to the run's end, the end."""
    bounds = {account.opened_at, end} | {b.period_end for b in bills if b.billing_account_id == account.id}
    for _, start in data.month_starts(calendar, account.opened_at, end):
        cycle = start + (account.bill_cycle_day - 1) * 86_400.0
        if account.opened_at < cycle <= end:
            bounds.add(cycle)
    return np.array(sorted(bounds), dtype=np.float64)


_RATED_COLUMNS = ("service_key", "start", "volume_bytes", "charge_micros")


def rated(run: data.Run, services: list[Service]) -> dict[str, np.ndarray]:
    """The rated records of ``services``, as columns: pyarrow filters the file, nothing per record here.

    The file has a row group per day, so records before the first activation are skipped by the row
    groups' statistics; the service keys are compared in every other row group (about 1 s per 70 million
    records on the development machine).
    """
    path = run.folder / "usage" / RATED_FILE
    if not path.is_file():
        raise NotARunFolder(run.folder, f"no usage/{RATED_FILE} (the rated usage)")
    live = [s for s in services if s.activated_at is not None]
    if not live:
        return {name: np.zeros(0, dtype=np.float64 if name == "start" else np.int64) for name in _RATED_COLUMNS}
    since = min(s.activated_at for s in live) - 3_600.0  # the hour it went live in
    wanted = (pc.field("start") >= since) & pc.field("service_key").isin([s.key for s in live])
    try:
        table = ds.dataset(path, format="parquet").to_table(columns=list(_RATED_COLUMNS), filter=wanted)
    except (OSError, ValueError) as exc:  # pyarrow's errors derive from these
        raise NotARunFolder(run.folder, f"usage/{RATED_FILE} cannot be read ({data.first_line(exc)})") from None
    return {name: table.column(name).to_numpy() for name in _RATED_COLUMNS}


def usage(run: data.Run, rec: Records, rated: dict[str, np.ndarray]) -> list[Usage]:
    """Each service's records, bytes and charge per bill period of its account, and the usage line billed for it."""
    by_account = {a.id: a for a in rec.accounts}
    bill_of = {(b.billing_account_id, b.period_end): b for b in rec.bills}
    out: list[Usage] = []
    for s in rec.services:
        account = by_account.get(s.billing_account_id)
        if account is None:
            continue
        bounds = _periods(account, rec.bills, run.calendar, run.duration)
        mine = rated["service_key"] == s.key
        which = np.searchsorted(bounds, rated["start"][mine], side="right") - 1
        which = np.clip(which, 0, len(bounds) - 2)
        periods = len(bounds) - 1
        records = np.bincount(which, minlength=periods)
        volume = _sum_by(which, rated["volume_bytes"][mine], periods)
        charge = _sum_by(which, rated["charge_micros"][mine], periods)
        for i in range(periods):
            if not records[i] and not _live(s, float(bounds[i]), float(bounds[i + 1])):
                continue
            bill = bill_of.get((account.id, float(bounds[i + 1])))
            billed = None
            if bill is not None:
                parts = [x.amount for x in bill.lines if x.kind == "usage" and x.service_id == s.id
                         and not x.description.startswith("Late")]
                billed = sum(parts, ZERO) if parts else ZERO
            out.append(Usage(s.id, account.id, float(bounds[i]), float(bounds[i + 1]), int(records[i]), int(volume[i]),
                             from_micros(int(charge[i])), bill.id if bill else None, billed))  # fmt: skip
    return out


def _live(service: Service, start: float, end: float) -> bool:
    """Whether the service was active at some time in [start, end)."""
    stopped = service.terminated_at if service.terminated_at is not None else float("inf")
    return service.activated_at is not None and service.activated_at < end and stopped > start


def _sum_by(which: np.ndarray, values: np.ndarray, size: int) -> list[int]:
    """Exact integer sums of ``values`` per group (bincount would go through floats)."""
    sums = np.zeros(size, dtype=np.int64)
    np.add.at(sums, which, values.astype(np.int64))
    return sums.tolist()


def prepaid(rec: Records, events: list[dict], rated: dict[str, np.ndarray]) -> list[Prepaid]:
    """Each prepaid account's balance at the end: what was topped up less what was charged online (exact)."""
    out = []
    for account in rec.accounts:
        if account.payment_type != "prepaid":
            continue
        topped = sum((Decimal(e["amount"]) for e in events
                      if e["type"] == "PrepaidToppedUp" and e["billing_account_id"] == account.id), ZERO)
        keys = [s.key for s in rec.services if s.billing_account_id == account.id]
        charged = from_micros(int(rated["charge_micros"][np.isin(rated["service_key"], keys)].sum()))
        out.append(Prepaid(account.id, topped, charged, topped - charged))
    return out
