"""The operator's live dashboard: one page, and the state it polls.

``GET /`` is the page (no data in it); ``GET /dashboard/state`` (any valid
key) is everything it shows: the network map with each link's state and
utilisation, active alarms and open incidents, open tickets, the order
funnel, revenue to date and customer experience by segment. The page polls it
every second, so it follows a running scenario live.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from oss_bss.money import ZERO, fmt

PAGE = (Path(__file__).parent / "templates" / "dashboard.html").read_text(encoding="utf-8")


def state(operator) -> dict:
    r, a = operator.records, operator.assurance
    down_links = {x.alarmed_object for x in a.alarms if x.active and x.alarmed_object_type == "link"
                  and x.alarm_type == "communicationsAlarm"}  # fmt: skip
    perf = operator.performance
    last = perf.utilisation[-1] if perf.utilisation else None
    util = {lid: float(last[i]) for i, lid in enumerate(perf.link_ids)} if last is not None else {}
    nodes = [{"id": x.id, "lat": x.latitude, "lon": x.longitude, "gateway": x.gateway}
             for x in r.resources.values() if x.kind == "node"]  # fmt: skip
    links = [{"id": x.id, "a": x.a, "b": x.b, "up": x.id not in down_links, "utilisation": round(util.get(x.id, 0.0), 4)}
             for x in r.resources.values() if x.kind == "link"]  # fmt: skip
    by_segment: dict[str, list[float]] = {}
    for e in r.experience:
        by_segment.setdefault(e.segment, []).append(e.index)
    now = operator.revenue.last_collection
    return {
        "time": operator.calendar.isoformat(now), "at": now,
        "network": {"nodes": nodes, "links": links},
        "alarms": [{"id": x.id, "object": x.alarmed_object, "severity": x.perceived_severity, "cause": x.probable_cause,
                    "raised": operator.calendar.isoformat(x.raised_time), "rootCause": x.is_root_cause}
                   for x in a.alarms if x.active],
        "incidents": [{"id": i.id, "state": i.state, "services": len(i.services), "customers": len(i.customers),
                       "revenueAtRisk": fmt(i.revenue_at_risk)}
                      for i in a.incidents.values() if i.state not in ("resolved", "merged")],
        "tickets": [{"id": t.id, "customer": t.customer_id, "state": t.state, "severity": t.severity}
                    for t in a.tickets.values() if t.state not in ("resolved", "closed")],
        "orders": dict(Counter(o.state for o in r.product_orders.values())),
        "revenue": {"invoiced": fmt(sum((b.amount for b in r.bills.values()), ZERO)),
                    "collected": fmt(operator.collections.payments), "currency": operator.currency},
        "experience": {k: round(sum(v) / len(v), 1) for k, v in sorted(by_segment.items())},
    }  # fmt: skip
