"""Revenue reports: what finance reads at the end of a period.

* MRR: the monthly recurring prices of the services active now.
* ARPU: MRR per customer with an active service.
* Collected and receivables: payments received, and what issued bills still owe.
* DSO (days sales outstanding): receivables / invoiced x the days of the run.
* Aged debt: what is owed, by days past the due date (not due yet, 0-30, 31-60, 61-90, over 90).
"""

from __future__ import annotations

from oss_bss.money import ZERO


def revenue_report(operator, now: float) -> dict:
    r = operator.records
    active = [s for s in r.services if s.state in ("active", "suspended")]
    mrr = sum((operator.catalog.get(s.offering_id).monthly_price for s in active), ZERO)
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
