"""Expectations: what a scenario says must hold of its run, checked against what the run wrote.

A scenario's ``expect:`` list holds entries of five kinds, each with one or more bounds
(``at_most``, ``at_least``, ``below``, ``above``, ``equals``)::

    expect:
      - name: orders are activated within 2 hours (95th percentile)
        duration: {from: ProductOrderSubmitted, to: ProductOrderCompleted}
        stat: p95
        at_most: 2h
      - count: {event: ServiceSuspended, where: {reason: non-payment}}
        at_least: 1
      - rate: {of: ProductOrderFailed, per: ProductOrderSubmitted}
        at_most: 1%
      - metric: tickets.mttr_hours
        below: 4
      - check: invoice_totals_equal_lines

- ``metric``: a figure of ``summary.json`` by its dotted key (money compared as Decimal).
- ``count``: how many events of some types (optionally ``where`` fields equal values, of
  customers of some ``segment``).
- ``rate``: the count of ``of`` events over the count of ``per`` events.
- ``duration``: for each ``from`` event, the time to the next ``to`` event with the same
  correlating id (``by``: ``order_id``, ``incident_id``, ...; inferred when the two types share
  one), summarised by ``stat`` (``max`` unless said; ``mean``, ``median``, ``min``, or ``pNN``,
  the nearest-rank percentile: NN % of the durations are at or under it). Pairs still open at the
  end of the run are left out and counted.
- ``check``: an invariant over the stored records (:mod:`sim.invariants`).

Evaluation reads only the run folder (``summary.json``, the lines of ``events.jsonl`` of the
types asked for, ``run.db`` and ``usage/`` for checks), so a finished run can be checked again.
Each outcome says what was expected, what was measured and which events are the evidence, by
their ``seq`` in the event log; ``expectations.json`` keeps them all.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Literal, Union

import numpy as np
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from oss_bss import events as event_module
from oss_bss.bus import Event
from sim.timespec import Instant, parse_duration, parse_instant

__all__ = ["Expectation", "Events", "Outcome", "Verdict", "evaluate", "EVENT_TYPES", "CHECKS", "describe_duration"]

# Every event the operator and the network publish, by the name the event log gives it.
EVENT_TYPES: dict[str, type[Event]] = {
    name: cls for name, cls in vars(event_module).items()
    if isinstance(cls, type) and issubclass(cls, Event) and cls is not Event
}  # fmt: skip
CHECKS = ("invoice_totals_equal_lines", "no_usage_while_down", "no_usage_while_suspended")
# The sections of summary.json a metric can name (sim.runner.summarise and what the runner adds).
SUMMARY_SECTIONS = (
    "customers", "orders", "changes", "parties", "prepaid", "services", "usage", "revenue", "revenue_assurance",
    "churn", "dunning", "invoices", "alarms", "incidents", "tickets", "experience", "sla", "events", "availability",
    "blocking", "performance", "emulation", "topology", "simulated_days",
)  # fmt: skip
# Ids that correlate two events, most specific first: the one a duration pairs by when not told.
CORRELATING = ("work_order_id", "service_order_id", "order_id", "ticket_id", "incident_id", "alarm_id", "bill_id",
               "service_id", "billing_account_id", "customer_id", "link_id", "node")  # fmt: skip
MAX_EVIDENCE = 1_000  # event ids kept per outcome in expectations.json (the total is always given)


def _fields(name: str) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(EVENT_TYPES[name]))


def _known_event(name: str) -> str:
    if name not in EVENT_TYPES:
        close = [n for n in EVENT_TYPES if n.lower() == name.lower() or name.lower() in n.lower()]
        hint = f" (did you mean {', '.join(sorted(close)[:3])}?)" if close else ""
        raise ValueError(f"{name!r} is not an event type{hint}")
    return name


EventName = Annotated[str, AfterValidator(_known_event), Field(json_schema_extra={"enum": sorted(EVENT_TYPES)})]
Scalar = Union[bool, int, float, str]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Events(Strict):
    """Events of some types, optionally only those whose fields equal values, of some customers' segment, or in a
    window of time (``after`` and ``before``: instants, a duration after the start or a UTC date-time)."""

    event: EventName | Annotated[list[EventName], Field(min_length=1)]
    where: dict[str, Scalar | list[Scalar]] = Field(default_factory=dict)
    segment: str | list[str] | None = None  # customers of these segments (by the event's customer_id)
    after: Instant | None = None  # at or after this instant
    before: Instant | None = None  # strictly before it

    @property
    def types(self) -> tuple[str, ...]:
        return (self.event,) if isinstance(self.event, str) else tuple(self.event)

    @property
    def segments(self) -> tuple[str, ...] | None:
        return None if self.segment is None else (self.segment,) if isinstance(self.segment, str) else tuple(self.segment)

    @model_validator(mode="after")
    def _fields_exist(self):
        for key in self.where:
            lacking = [t for t in self.types if key not in _fields(t)]
            if lacking:
                raise ValueError(f"where: {lacking[0]} has no field {key!r} (it has {', '.join(_fields(lacking[0]))})")
        if self.segment is not None:
            lacking = [t for t in self.types if "customer_id" not in _fields(t)]
            if lacking:
                raise ValueError(f"segment: {lacking[0]} names no customer, so it has no segment")
        return self

    def label(self) -> str:
        text = " or ".join(self.types)
        conditions = [f"{k} {'in' if isinstance(v, list) else '='} {v}" for k, v in self.where.items()]
        if self.segments:
            conditions.append(f"segment {' or '.join(self.segments)}")
        for word in ("after", "before"):
            value = getattr(self, word)
            if value is not None:
                conditions.append(f"{word} {value if not isinstance(value, float) else describe_duration(value)}")
        return f"{text} ({', '.join(conditions)})" if conditions else text

    def window(self, start: date) -> tuple[float, float]:
        """``after`` and ``before`` as seconds from the run's start (the whole run when not given)."""
        low = parse_instant(self.after, start) if self.after is not None else -math.inf
        high = parse_instant(self.before, start) if self.before is not None else math.inf
        return low, high


def _as_events(value):
    """``ProductOrderFailed`` or ``[A, B]`` is short for ``{event: ...}``."""
    return {"event": value} if isinstance(value, (str, list)) else value


Selector = Annotated[Events, BeforeValidator(_as_events,
                                             json_schema_input_type=Union[EventName, list[EventName], Events])]


class Rate(Strict):
    of: Selector
    per: Selector


class Duration(Strict):
    from_: Annotated[Selector, Field(alias="from")]
    to: Selector
    by: str | None = None  # the correlating id; inferred when the two types share one
    # Which start an end closes when several came before it: the first still open (the time since the first
    # report), or the last (the time since the latest, e.g. the payment that resumed a service).
    pair: Literal["first", "last"] = "first"

    @model_validator(mode="after")
    def _pairing(self):
        shared = set.intersection(*(set(_fields(t)) for t in (*self.from_.types, *self.to.types)))
        if self.by is not None:
            if self.by not in shared:
                raise ValueError(f"by: {self.by!r} is not a field of every event named (shared: "
                                 f"{', '.join(sorted(f for f in shared if f != 'at')) or 'none'})")  # fmt: skip
        elif not any(c in shared for c in CORRELATING):
            raise ValueError("the events share no id to pair them by: give 'by'")
        return self

    @property
    def key(self) -> str:
        if self.by is not None:
            return self.by
        shared = set.intersection(*(set(_fields(t)) for t in (*self.from_.types, *self.to.types)))
        return next(c for c in CORRELATING if c in shared)


Stat = Annotated[str, Field(pattern=r"^(mean|median|min|max|p\d{1,2}(\.\d+)?)$")]
Bound = Union[int, float, str]
BOUNDS = ("at_most", "at_least", "below", "above", "equals")


class Expectation(Strict):
    """One thing that must hold of a run: a measure and its bounds (see the module's docstring)."""

    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    metric: Annotated[str, Field(pattern=r"^[A-Za-z0-9_]+(\.[^.]+)*$")] | None = None  # key parts may hold spaces
    count: Selector | None = None
    rate: Rate | None = None
    duration: Duration | None = None
    check: Literal[CHECKS] | None = None  # type: ignore[valid-type]
    stat: Stat | None = None  # durations only
    evidence: Selector | None = None  # metrics only: the events to list as evidence
    at_most: Bound | None = None
    at_least: Bound | None = None
    below: Bound | None = None
    above: Bound | None = None
    equals: Bound | None = None

    @property
    def kind(self) -> str:
        return next(k for k in ("metric", "count", "rate", "duration", "check") if getattr(self, k) is not None)

    @model_validator(mode="after")
    def _consistent(self):
        kinds = [k for k in ("metric", "count", "rate", "duration", "check") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("give exactly one of metric, count, rate, duration, check")
        kind = kinds[0]
        bounds = self.bounds()
        if kind == "check":
            if bounds:
                raise ValueError("a check holds when nothing breaks it: it takes no bound")
        elif not bounds:
            raise ValueError("give a bound: at_most, at_least, below, above or equals")
        if self.stat is not None and kind != "duration":
            raise ValueError("stat is for durations")
        if self.evidence is not None and kind != "metric":
            raise ValueError("evidence is for metrics (the other kinds list their own events)")
        if kind == "metric" and self.metric.split(".")[0] not in SUMMARY_SECTIONS:
            raise ValueError(f"metric: {self.metric.split('.')[0]!r} is not a section of summary.json "
                             f"({', '.join(SUMMARY_SECTIONS)})")  # fmt: skip
        for name, raw in bounds.items():
            try:
                self.bound_value(raw)
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
        return self

    def bounds(self) -> dict[str, Bound]:
        return {b: getattr(self, b) for b in BOUNDS if getattr(self, b) is not None}

    def bound_value(self, raw: Bound) -> float | Decimal:
        """A bound as the measure is compared with it: seconds for durations, a share for ``5%``."""
        if self.kind == "duration":
            return parse_duration(raw)
        if isinstance(raw, bool):
            raise ValueError("a bound is a number")
        if isinstance(raw, str):
            text = raw.strip()
            try:
                if text.endswith("%"):
                    return Decimal(text[:-1].strip()) / 100
                return Decimal(text)
            except InvalidOperation:
                raise ValueError(f"cannot read {raw!r} as a number (or a share like '5%')") from None
        if isinstance(raw, float) and not math.isfinite(raw):
            raise ValueError("a bound must be finite")
        return raw

    def label(self) -> str:
        """The expectation in words, for a name when it has none and for its outcome."""
        return self.name or f"{self.measure_label()} {self.bounds_label()}".strip()

    def measure_label(self) -> str:
        if self.metric is not None:
            return self.metric
        if self.count is not None:
            return f"count of {self.count.label()}"
        if self.rate is not None:
            return f"rate of {self.rate.of.label()} per {self.rate.per.label()}"
        if self.duration is not None:
            d = self.duration
            return f"{self.stat or 'max'} time from {d.from_.label()} to {d.to.label()} (by {d.key})"
        return f"check {self.check}"

    def bounds_label(self) -> str:
        words = {"at_most": "at most", "at_least": "at least", "below": "below", "above": "above", "equals": "equal to"}
        parts = []
        for name, raw in self.bounds().items():
            shown = describe_duration(parse_duration(raw)) if self.kind == "duration" else str(raw)
            parts.append(f"{words[name]} {shown}")
        return " and ".join(parts)


def describe_duration(seconds: float) -> str:
    """A duration as a reader wants it: ``45 s``, ``12.5 min``, ``3.2 h``, ``4.1 days``."""
    if seconds < 60:
        return f"{seconds:.3g} s"
    if seconds < 3_600:
        return f"{seconds / 60:.3g} min"
    if seconds < 2 * 86_400:
        return f"{seconds / 3_600:.3g} h"
    return f"{seconds / 86_400:.3g} days"


# --- Outcomes ------------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What came of one expectation: passed or not, what was expected and measured, and the evidence."""

    name: str
    passed: bool
    expected: str
    measured: str
    value: float | str | None  # the measure (seconds for durations; money as Decimal text)
    evidence: tuple[int, ...] = ()  # event seqs in events.jsonl, at most MAX_EVIDENCE
    evidence_total: int = 0
    records: tuple[str, ...] = ()  # ids of the records at fault (bills, services, orders), for checks

    def as_json(self) -> dict:
        return {"name": self.name, "passed": self.passed, "expected": self.expected, "measured": self.measured,
                "value": self.value, "evidence": {"events": list(self.evidence), "total": self.evidence_total,
                                                  "records": list(self.records)}}  # fmt: skip

    def explain(self, shown: int = 10) -> str:
        """One paragraph for a terminal or a test report: expected (unless the name says it), measured, evidence."""
        text = f"measured {self.measured}" if self.name == self.expected else (
            f"expected {self.expected}; measured {self.measured}")  # fmt: skip
        if self.evidence_total:
            ids = ", ".join(str(s) for s in self.evidence[:shown])
            more = f" and {self.evidence_total - shown} more" if self.evidence_total > shown else ""
            text += f"; evidence: events.jsonl seq {ids}{more}"
        if self.records:
            ids = ", ".join(self.records[:shown])
            more = f" and {len(self.records) - shown} more" if len(self.records) > shown else ""
            text += f"; records: {ids}{more}"
        return text


@dataclasses.dataclass(frozen=True)
class Verdict:
    """Every expectation's outcome, in the scenario's order."""

    outcomes: tuple[Outcome, ...]

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.passed]

    @property
    def passed(self) -> bool:
        return not self.failed

    def as_json(self) -> dict:
        return {"passed": sum(o.passed for o in self.outcomes), "failed": len(self.failed),
                "expectations": [o.as_json() for o in self.outcomes]}  # fmt: skip


FILE = "expectations.json"


def names(expectations: Sequence[Expectation]) -> list[str]:
    """Each expectation's name, made unique (``#2`` after a repeat): a test id per expectation."""
    seen: dict[str, int] = defaultdict(int)
    out = []
    for x in expectations:
        label = x.label()
        seen[label] += 1
        out.append(label if seen[label] == 1 else f"{label} #{seen[label]}")
    return out


# --- Evaluation ----------------------------------------------------------------------------------------------------


def evaluate(folder: Path, expectations: Sequence[Expectation], *, db_url: str | None = None) -> Verdict:
    """Check ``expectations`` against the finished run in ``folder`` (one pass over the event log for all)."""
    from sim import invariants  # it builds outcomes with this module's types
    from sim.report.data import scan_events

    folder = Path(folder)
    if not expectations:
        return Verdict(())
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    wanted: set[str] = set()
    for x in expectations:
        for selector in _selectors(x):
            wanted.update(selector.types)
            if selector.segments:
                wanted.add("CustomerRegistered")
    log = _Log(scan_events(folder / "events.jsonl", tuple(sorted(wanted))) if wanted else [],
               date.fromisoformat(str(summary["start"])[:10]))
    end = float(summary["simulated_days"]) * 86_400.0
    outcomes = []
    for name, x in zip(names(expectations), expectations):
        if x.check is not None:
            outcomes.append(invariants.run(x.check, name, folder, db_url, end))
        else:
            outcomes.append(_measure(name, x, summary, log))
    return Verdict(tuple(outcomes))


def _selectors(x: Expectation) -> list[Events]:
    if x.count is not None:
        return [x.count]
    if x.rate is not None:
        return [x.rate.of, x.rate.per]
    if x.duration is not None:
        return [x.duration.from_, x.duration.to]
    if x.evidence is not None:
        return [x.evidence]
    return []


class _Log:
    """The events read for the expectations, by type, with each customer's segment."""

    def __init__(self, rows: list[dict], start: date):
        self.start = start
        self.by_type: dict[str, list[dict]] = defaultdict(list)
        for row in rows:
            self.by_type[row["type"]].append(row)
        self.segment = {r["customer_id"]: r["segment"] for r in self.by_type.get("CustomerRegistered", ())}

    def select(self, selector: Events) -> list[dict]:
        rows = [r for t in selector.types for r in self.by_type.get(t, ())]
        if len(selector.types) > 1:
            rows.sort(key=lambda r: r["seq"])
        for key, want in selector.where.items():
            allowed = want if isinstance(want, list) else [want]
            rows = [r for r in rows if r.get(key) in allowed]
        if selector.segments:
            rows = [r for r in rows if self.segment.get(r.get("customer_id")) in selector.segments]
        if selector.after is not None or selector.before is not None:
            low, high = selector.window(self.start)
            rows = [r for r in rows if low <= r["at"] < high]
        return rows


def _exact(value) -> Decimal:
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def _holds(x: Expectation, value) -> bool:
    """Whether ``value`` meets every bound; compared as Decimal when either side is one (money, '5%')."""
    for name, raw in x.bounds().items():
        a, b = value, x.bound_value(raw)
        if isinstance(a, Decimal) or isinstance(b, Decimal):
            a, b = _exact(a), _exact(b)
        ok = {"at_most": a <= b, "at_least": a >= b, "below": a < b, "above": a > b, "equals": a == b}[name]
        if not ok:
            return False
    return True


def _seqs(rows: list[dict]) -> tuple[tuple[int, ...], int]:
    return tuple(r["seq"] for r in rows[:MAX_EVIDENCE]), len(rows)


def _measure(name: str, x: Expectation, summary: dict, log: _Log) -> Outcome:
    expected = x.label() if x.name is None else f"{x.measure_label()} {x.bounds_label()}"
    if x.metric is not None:
        return _metric(name, x, expected, summary, log)
    if x.count is not None:
        rows = log.select(x.count)
        n = len(rows)
        evidence, total = _seqs(rows)
        return Outcome(name, _holds(x, n), expected, f"{n:,}", n, evidence, total)
    if x.rate is not None:
        of, per = log.select(x.rate.of), log.select(x.rate.per)
        evidence, total = _seqs(of)
        if not per:
            return Outcome(name, False, expected, f"undefined: no {x.rate.per.label()} event in the run", None,
                           evidence, total)  # fmt: skip
        rate = len(of) / len(per)
        return Outcome(name, _holds(x, rate), expected, f"{rate:.4%} ({len(of):,} of {len(per):,})", rate, evidence,
                       total)  # fmt: skip
    return _duration(name, x, expected, log)


def _metric(name: str, x: Expectation, expected: str, summary: dict, log: _Log) -> Outcome:
    node = summary
    for part in x.metric.split("."):
        if not isinstance(node, dict) or part not in node:
            where = ", ".join(sorted(node)) if isinstance(node, dict) else "a value"
            return Outcome(name, False, expected, f"no such figure in summary.json ({part!r} not among: {where})", None)
        node = node[part]
    evidence, total = _seqs(log.select(x.evidence)) if x.evidence is not None else ((), 0)
    if node is None or isinstance(node, (bool, dict, list)):
        what = "null: nothing was measured" if node is None else f"{type(node).__name__}, not a number"
        return Outcome(name, False, expected, f"no value ({what})", None, evidence, total)
    value = node
    if isinstance(node, str):
        try:
            value = Decimal(node)
        except InvalidOperation:
            return Outcome(name, False, expected, f"{node!r}, not a number", node, evidence, total)
    shown = format(value, "f") if isinstance(value, Decimal) else f"{value:,}" if isinstance(value, int) else f"{value:g}"
    return Outcome(name, _holds(x, value), expected, shown, format(value, "f") if isinstance(value, Decimal) else value,
                   evidence, total)  # fmt: skip


def _duration(name: str, x: Expectation, expected: str, log: _Log) -> Outcome:
    d = x.duration
    key = d.key
    starts, ends = log.select(d.from_), log.select(d.to)
    # Each start opens a span for its id (unless one is open); the next end with that id closes it.
    merged = sorted([(r["seq"], 0, r) for r in starts] + [(r["seq"], 1, r) for r in ends], key=lambda t: t[0])
    open_: dict[object, dict] = {}
    pairs: list[tuple[float, dict, dict]] = []
    for _, is_end, row in merged:
        ident = row.get(key)
        if is_end:
            began = open_.pop(ident, None)
            if began is not None:  # to the microsecond: 6 days by construction is 6 days, not 5.99999999999
                pairs.append((round(row["at"] - began["at"], 6), began, row))
        elif d.pair == "last" or ident not in open_:
            open_[ident] = row
    unfinished = len(open_)
    tail = f"; {unfinished:,} still open at the end, left out" if unfinished else ""
    if not pairs:
        return Outcome(name, False, expected, f"no duration: no {d.from_.label()} was followed by "
                       f"{d.to.label()}{tail}", None)  # fmt: skip
    values = np.array([p[0] for p in pairs])
    stat = x.stat or "max"
    value = _statistic(values, stat)
    passed = _holds(x, value)
    # Evidence: the spans that break the bounds (all of them when it passed: none), longest first.
    breaking = [p for p in pairs if not _holds(x, p[0])]
    breaking.sort(key=lambda p: (-p[0], p[1]["seq"]))
    evidence = tuple(s for p in breaking[: MAX_EVIDENCE // 2] for s in (p[1]["seq"], p[2]["seq"]))
    records = tuple(str(p[1].get(key)) for p in breaking[:MAX_EVIDENCE])
    measured = f"{describe_duration(value)} ({len(values):,} spans paired by {key}"
    measured += f", {len(breaking):,} of them outside the bound{tail})" if breaking else f"{tail})"
    return Outcome(name, passed, expected, measured, float(value), evidence if not passed else (),
                   2 * len(breaking) if not passed else 0, records if not passed else ())  # fmt: skip


def _statistic(values: np.ndarray, stat: str) -> float:
    if stat == "mean":
        return float(values.mean())
    if stat == "median":  # the nearest rank, as pNN: half of the durations are at or under it
        return float(np.percentile(values, 50, method="inverted_cdf"))
    if stat == "min":
        return float(values.min())
    if stat == "max":
        return float(values.max())
    q = float(stat[1:])
    return float(np.percentile(values, q, method="inverted_cdf"))
