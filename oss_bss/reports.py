"""Revenue reports: what finance reads at the end of a period.

* MRR: the monthly recurring prices of the services active now.
* ARPU: MRR per customer with an active service.
* Collected and receivables: payments received, and what issued bills still owe.
* DSO (days sales outstanding): receivables / invoiced x the days of the run.
* Aged debt: what is owed, by days past the due date (not due yet, 0-30, 31-60, 61-90, over 90).
"""

from __future__ import annotations

import numpy as np

from oss_bss.money import ZERO, from_micros, to_cents


def revenue_report(operator, now: float) -> dict:
    r = operator.records
    active = [s for s in r.services if s.state in ("active", "suspended")]
    mrr = sum((operator.catalog.get(s.offering_id).price_at(now).monthly for s in active), ZERO)
    paying = len({s.customer_id for s in active})
    invoiced = operator.invoiced()
    receivable = sum((b.open_amount for b in r.bills.values() if b.open_amount > 0), ZERO)
    aged = {"not_due": ZERO, "0-30": ZERO, "31-60": ZERO, "61-90": ZERO, "over_90": ZERO}
    for bill in r.bills.values():
        if bill.open_amount <= 0:
            continue
        late = (now - bill.due_at) / 86_400 if bill.due_at is not None else -1
        bucket = ("not_due" if late < 0 else "0-30" if late <= 30 else "31-60" if late <= 60
                  else "61-90" if late <= 90 else "over_90")  # fmt: skip
        aged[bucket] += bill.open_amount
    days = now / 86_400
    return {
        "mrr": format(mrr, "f"),
        "arpu": format((mrr / paying).quantize(ZERO) if paying else ZERO, "f"),
        "collected": format(operator.collections.payments, "f"),
        "receivables": format(receivable, "f"),
        "dso_days": round(float(receivable / invoiced) * days, 2) if invoiced > 0 else 0.0,
        "aged_debt": {k: format(v, "f") for k, v in aged.items()},
    }


def revenue_assurance(operator, now: float, listed: int = 20) -> dict:
    """Usage the network counted against usage rated, per service; the difference is leakage.

    Leakage is valued at each service's tariff as if rated ``now``; services the inventory does
    not know are listed with their network handle.
    """
    r = operator.records
    refs, counted = operator.network.usage_totals()
    keys = r.services.keys_for_refs(refs)
    r.usage.ensure(max(int(keys.max()) if len(keys) else 0, 0))
    known = keys >= 0
    rated = np.zeros(len(refs), dtype=np.int64)
    rated[known] = r.usage.rated_bytes[keys[known]]
    missing = counted - rated
    value = np.zeros(len(refs), dtype=np.int64)
    k = keys[known]
    value[known] = r.usage.tariffs.rate(r.usage.plan[k], np.full(len(k), now), np.maximum(missing[known], 0),
                                        r.usage.cycle_bytes[k])  # fmt: skip
    leaking = np.flatnonzero(missing != 0)
    worst = leaking[np.argsort(-value[leaking], kind="stable")][:listed]
    return {
        "measured_bytes": int(counted.sum()),
        "rated_bytes": int(rated.sum()),
        "leakage": format(to_cents(from_micros(int(value.sum()))), "f"),
        "services_with_leakage": int(len(leaking)),
        "listed": [
            {"service_id": r.services.by_key[keys[i]].id if keys[i] >= 0 else None, "network_ref": int(refs[i]),
             "measured_bytes": int(counted[i]), "rated_bytes": int(rated[i]),
             "leakage": format(to_cents(from_micros(int(value[i]))), "f")}
            for i in worst
        ],
    }  # fmt: skip
