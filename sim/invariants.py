"""Invariants a QA engineer can require of any run (``expect: - check: <name>``), read from what it stored.

- ``invoice_totals_equal_lines``: every bill's amount is the exact (Decimal) sum of its lines.
- ``no_usage_while_down``: no usage is charged for an interval a service was down all through
  (from its ``ServiceStateChanged`` to ``down`` until the next to ``up``): an outage is not billed.
- ``no_usage_while_suspended``: none for an interval it was suspended all through (non-payment, the
  customer's request, a prepaid cut-off) or after it was terminated.

A record "charged" is one with bytes or a charge; the hours an outage began and ended in are
charged for the minutes the service was up, so only intervals wholly inside a span count. Each
failure names the records at fault (bills, services) and the events that are its evidence.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import numpy as np
from sqlalchemy import func, select

from oss_bss.adapters import sql, usage_files
from sim.expectations import MAX_EVIDENCE, Outcome

EXPECTED = {
    "invoice_totals_equal_lines": "every bill's amount equal to the sum of its lines",
    "no_usage_while_down": "no usage charged for an interval a service was down all through",
    "no_usage_while_suspended": "no usage charged for an interval a service was suspended all through, "
                                "or after it was terminated",
}  # fmt: skip


def run(check: str, name: str, folder: Path, db_url: str | None, end: float) -> Outcome:
    """The outcome of the check named ``check`` on the run in ``folder``."""
    from sim.report.data import open_run

    with open_run(folder, db_url) as stored:
        if check == "invoice_totals_equal_lines":
            return _invoice_totals(name, stored)
        if check == "no_usage_while_down":
            return _no_usage(name, stored, end, ("ServiceStateChanged",), "down")
        return _no_usage(name, stored, end, ("ServiceSuspended", "ServiceResumed", "ServiceTerminated"), "suspended")


def _invoice_totals(name: str, stored) -> Outcome:
    from sim.report.data import scan_events

    bill, line = sql.customer_bill, sql.bill_line
    with stored.engine.connect() as conn:
        amounts = dict(conn.execute(select(bill.c.id, bill.c.amount)).all())
        lines: dict[str, Decimal] = defaultdict(Decimal)
        for bill_id, amount in conn.execute(select(line.c.bill_id, line.c.amount)).all():
            lines[bill_id] += amount
        count = conn.execute(select(func.count()).select_from(line)).scalar_one()
    wrong = sorted(b for b, amount in amounts.items() if amount != lines.get(b, Decimal(0)))
    wrong += sorted(set(lines) - set(amounts))  # lines of no bill
    measured = (f"{len(amounts):,} bills with {count:,} lines" + (f": {len(wrong):,} differ" if wrong else ", all equal")
                if amounts else "no bill was issued in this run: nothing to check")  # fmt: skip
    evidence: tuple[int, ...] = ()
    if wrong:
        issued = {e["bill_id"]: e["seq"] for e in scan_events(stored.folder / "events.jsonl", ("CustomerBillIssued",))}
        evidence = tuple(issued[b] for b in wrong if b in issued)
        measured += " (" + ", ".join(f"{b}: amount {amounts.get(b)} but lines {lines.get(b, Decimal(0))}"
                                     for b in wrong[:3]) + (", ..." if len(wrong) > 3 else "") + ")"  # fmt: skip
    return Outcome(name, not wrong, EXPECTED["invoice_totals_equal_lines"], measured, len(wrong),
                   evidence[:MAX_EVIDENCE], len(evidence), tuple(wrong[:MAX_EVIDENCE]))  # fmt: skip


def _spans(rows: list[dict], kind: str, end: float) -> list[tuple[str, float, float, int]]:
    """(service id, from, until, seq of the event that began it) for each span a service was down/suspended."""
    since: dict[str, tuple[float, int]] = {}
    spans = []
    for row in rows:
        sid, kind_of = row["service_id"], row["type"]
        begins = (row.get("operational_state") == "down") if kind == "down" else kind_of == "ServiceSuspended"
        if kind == "suspended" and kind_of == "ServiceTerminated":
            began = since.pop(sid, (row["at"], row["seq"]))  # suspended until terminated, then terminated for good
            spans.append((sid, began[0], end, began[1]))
        elif begins:
            since.setdefault(sid, (row["at"], row["seq"]))
        elif sid in since:
            began = since.pop(sid)
            spans.append((sid, began[0], row["at"], began[1]))
    spans += [(sid, at, end, seq) for sid, (at, seq) in since.items()]
    return spans


def _no_usage(name: str, stored, end: float, types: tuple[str, ...], kind: str) -> Outcome:
    from sim.report.data import scan_events

    expected = EXPECTED[f"no_usage_while_{kind}"]
    spans = _spans(scan_events(stored.folder / "events.jsonl", types), kind, end)
    if not spans:
        return Outcome(name, True, expected, f"no service was {kind} in this run: nothing to check", 0)
    service = sql.service
    with stored.engine.connect() as conn:
        key_of = dict(conn.execute(select(service.c.id, service.c.key)).all())
    usage = usage_files.load(stored.folder / "usage")
    charged = (usage["volume_bytes"] > 0) | (usage["charge_micros"] > 0)
    keys, starts, ends = usage["service_key"][charged], usage["start"][charged], usage["end"][charged]
    order = np.lexsort((starts, keys))
    keys, starts, ends = keys[order], starts[order], ends[order]
    bad_services: dict[str, int] = {}
    bad_records = 0
    evidence = []
    for sid, since, until, seq in spans:
        key = key_of.get(sid)
        if key is None:
            continue
        lo, hi = np.searchsorted(keys, key, "left"), np.searchsorted(keys, key, "right")
        s, e = starts[lo:hi], ends[lo:hi]
        inside = int(((s >= since) & (e <= until)).sum())
        if inside:
            bad_records += inside
            bad_services[sid] = bad_services.get(sid, 0) + inside
            evidence.append(seq)
    services = len({s[0] for s in spans})
    measured = f"{len(spans):,} spans on {services:,} services"
    measured += f": {bad_records:,} usage records charged inside them" if bad_records else ", none charged"
    evidence.sort()
    return Outcome(name, not bad_records, expected, measured, bad_records, tuple(evidence[:MAX_EVIDENCE]),
                   len(evidence), tuple(sorted(bad_services))[:MAX_EVIDENCE])  # fmt: skip
