"""The composition root: wires one run of a scenario and writes its results.

World (SimPy) -> bus -> operator -> network port, with the event log, the
usage archive and the SQL store attached; then runs simulated time to the
scenario's end and summarises.
"""

from __future__ import annotations

import resource
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from datetime import time as clock_time
from pathlib import Path

import simpy
import simpy.rt
import yaml

from oss_bss.adapters import kpi_files, sql
from oss_bss.adapters.usage_files import ParquetUsageArchive
from oss_bss.bus import MessageBus
from oss_bss.dunning import DunningPolicy
from oss_bss.errors import ScenarioError, ValidationError
from oss_bss.reports import revenue_assurance, revenue_report
from oss_bss.money import ZERO, from_micros, to_cents
from oss_bss.ordering import FalloutPolicy
from oss_bss.operator import Operator
from oss_bss.periods import Calendar
from sim.backends import backend
from sim.checks import check_against_topology
from sim.expectations import FILE as EXPECTATIONS, Verdict, evaluate
from sim.faults import FaultInjector
from sim.outputs import EventLog, RunFolder, write_json
from sim.population import generate
from sim.products import catalog_of
from sim.rng import RandomStreams
from sim.scenario import LoadedScenario, Scenario
from sim.sessions import SessionClasses
from sim.topology import Topology, load_topology
from sim.world import World


@dataclass(frozen=True)
class RunResult:
    folder: Path
    summary: dict
    verdict: Verdict = Verdict(())  # the scenario's expectations, checked against the run

    @property
    def passed(self) -> bool:
        return self.verdict.passed


def prepare(scenario: LoadedScenario) -> Topology:
    """Everything that can be checked before a run: the topology and what names it."""
    try:
        catalog_of(scenario.spec)
    except ValidationError as exc:
        key, reason = next(iter(exc.errors.items()))
        raise ScenarioError(str(scenario.path), reason, key) from None
    topology = load_topology(scenario, RandomStreams(scenario.spec.seed).int_seed("topology"))
    check_against_topology(scenario, topology)
    return topology


def run(
    scenario: LoadedScenario,
    out: Path,
    *,
    db_url: str | None = None,
    on_tick: Callable[[float], None] | None = None,
    lock=None,
    pace: float | None = None,
    on_start: Callable | None = None,
    report: bool = True,
) -> RunResult:
    """Run ``scenario`` and write its results into the folder ``out``.

    After the run, its expectations are checked against what it wrote (``expectations.json``)
    and, unless ``report`` is false, ``report.html`` is written; the folder appears only then.

    For a served run: ``lock`` (a re-entrant lock) is held by every message on
    the bus, so the API reads whole updates; ``pace`` runs simulated time at
    that many real seconds per simulated hour; ``on_start(operator)`` is
    called once the operator exists.
    """
    started = time.perf_counter()
    spec = scenario.spec
    make_network = backend(spec.backend)
    streams = RandomStreams(spec.seed)
    topology = prepare(scenario)
    epoch = datetime.combine(spec.start, clock_time.min, UTC)
    calendar = Calendar(epoch)
    catalog = catalog_of(spec)
    with RunFolder(out) as work:
        # The scenario as run (overrides applied), so a run folder explains itself.
        _write_scenario(scenario, work / "scenario.yaml")
        with open(work / "events.jsonl", "wb") as stream:
            log = EventLog(stream, calendar)
            bus = MessageBus(log)
            if lock is not None:
                bus.handle = _locked(bus.handle, lock)
            network = make_network(topology, bus.handle, spec)
            try:
                summary = _run(spec, topology, calendar, catalog, work, log, bus, network, streams, on_tick, epoch,
                               db_url, started, pace, on_start)  # fmt: skip
            finally:
                close = getattr(network, "close", None)
                if close is not None:  # an emulated network stops what it started
                    close()
        verdict = evaluate(work, spec.expect, db_url=db_url)
        if spec.expect:
            write_json(work / EXPECTATIONS, verdict.as_json())
            summary["expectations"] = {"passed": len(verdict.outcomes) - len(verdict.failed),
                                       "failed": len(verdict.failed)}  # fmt: skip
            write_json(work / "summary.json", summary)
        if report:
            from sim.report import write_report

            write_report(work, db_url)
    return RunResult(out, summary, verdict)


def _write_scenario(scenario: LoadedScenario, path: Path) -> None:
    """The scenario as run (overrides applied, the topology file by its absolute path), loadable as it is."""
    data = scenario.spec.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    if scenario.spec.topology.file is not None:
        data["topology"]["file"] = str(scenario.resolve(scenario.spec.topology.file))
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def _locked(handle, lock):
    def handle_locked(message):
        with lock:
            return handle(message)

    return handle_locked


def _run(spec, topology, calendar, catalog, work, log, bus, network, streams, on_tick, epoch, db_url, started,
         pace=None, on_start=None) -> dict:  # fmt: skip
    """Simulated time from start to end, then what the run writes; returns the summary."""
    archive = ParquetUsageArchive(work / "usage")
    operator = Operator(
        bus, catalog, network, epoch=epoch, currency=spec.currency,
        bill_cycle_day=spec.billing.cycle_days or spec.billing.cycle_day, archive=archive,
        thresholds=(spec.topology.utilisation_alarm, spec.topology.utilisation_clear),
        tax_percent=spec.billing.tax_percent,
        dunning=DunningPolicy(spec.billing.payment_terms, spec.dunning.reminder_after,
                              spec.dunning.suspend_after, spec.dunning.terminate_after),
        fallout=FalloutPolicy(spec.ordering.fallout.retry_after, spec.ordering.fallout.max_retries),
    )  # fmt: skip
    if on_start is not None:
        on_start(operator)
    if getattr(network, "realtime", False):  # an emulated network: simulated time paced by the wall clock
        env = simpy.rt.RealtimeEnvironment(factor=spec.emulation.seconds_per_hour / 3600.0, strict=False)
    elif pace is not None:  # served live: slow enough to watch
        env = simpy.rt.RealtimeEnvironment(factor=pace / 3600.0, strict=False)
    else:
        env = simpy.Environment()
    people = generate(spec.population, list(network.topology_model.graph.nodes), streams)
    faults = FaultInjector(env, network, spec, streams)
    World(env, bus, spec, network, people, streams, on_tick, faults).start()
    faults.start()
    sessions = SessionClasses(env, network, spec.capacity.classes, streams)
    sessions.start()
    end = spec.duration_seconds
    env.run(until=end)
    while env.peek() <= end:  # what falls due at the very end (the last hour, a bill run)
        env.step()
    archive.close()
    kpi_files.save(operator.performance, work / "kpi")
    sql.save(operator.records, catalog, db_url or f"sqlite:///{work / 'run.db'}", operator.assurance)
    summary = summarise(spec, network.topology().name, operator, log, time.perf_counter() - started)
    summary["availability"] = network.availability(end)
    if spec.capacity.classes:
        summary["blocking"] = sessions.summary()
    if getattr(network, "realtime", False):
        summary["performance"] = operator.performance.summary("measured on the emulated switches")
        summary["emulation"] = network.report()
    else:
        summary["performance"] = operator.performance.summary(
            f"M/M/1/K per link, {spec.topology.packet_bytes}-byte packets, K = {spec.topology.buffer_packets + 1}"
        )
    write_json(work / "summary.json", summary)
    return summary


def _experience(records) -> dict:
    by_segment: dict[str, list[float]] = {}
    for x in records.experience:
        by_segment.setdefault(x.segment, []).append(x.index)
    every = [i for values in by_segment.values() for i in values]
    return {
        "mean": round(sum(every) / len(every), 2) if every else None,
        "by_segment": {k: round(sum(v) / len(v), 2) for k, v in sorted(by_segment.items())},
    }


def _tickets(operator: Operator) -> dict:
    tickets = list(operator.assurance.tickets.values())
    restored = [t.time_to_restore for t in tickets if t.time_to_restore is not None]
    return {
        "opened": len(tickets),
        "by_channel": dict(sorted(Counter(t.channel for t in tickets).items())),
        "closed": sum(t.state == "closed" for t in tickets),
        "mttr_hours": round(sum(restored) / len(restored) / 3600, 4) if restored else None,
    }


def summarise(spec: Scenario, topology_name: str, operator: Operator, log: EventLog, wall: float) -> dict:
    """The figures of a run, under names that later versions keep."""
    r = operator.records
    orders = Counter(o.state for o in r.product_orders.values())
    reasons = Counter(o.failure_code for o in r.product_orders.values() if o.failure_code)
    services = Counter(s.state for s in r.services)
    ledger = r.usage
    view = operator.network.topology()
    return {
        "scenario": spec.name,
        "seed": spec.seed,
        "backend": spec.backend,
        "topology": {"name": topology_name, "nodes": len(view.nodes), "links": len(view.links)},
        "start": spec.start.isoformat(),
        "simulated_days": spec.duration_days,
        "wall_seconds": round(wall, 3),
        "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),  # of the process
        "currency": spec.currency,
        "customers": len(r.customers),
        "orders": {
            "submitted": len(r.product_orders),
            "completed": orders["completed"],
            "failed": orders["failed"],
            "cancelled": orders["cancelled"],
            "held": orders["held"],
            "in_progress": orders["inProgress"] + orders["acknowledged"],
            "fallout_retries": log.by_type.get("ProductOrderHeld", 0),
            "failure_reasons": dict(sorted(reasons.items())),
        },
        "changes": {
            "modified": log.by_type.get("ServiceModified", 0),
            "moved": log.by_type.get("ServiceMoved", 0),
            "refused": log.by_type.get("ServiceModificationRefused", 0) + log.by_type.get("ServiceMoveRefused", 0),
            "cancelled": operator.fulfilment.cancelled,
        },
        "parties": {
            "individuals": sum(c.party_type == "individual" for c in r.customers.values()),
            "organisations": sum(c.party_type == "organisation" for c in r.customers.values()),
            "billing_accounts": len(r.accounts),
            "child_accounts": sum(a.parent_id is not None for a in r.accounts.values()),
        },
        "prepaid": {
            "accounts": len(operator.charging.key_of),
            # Exact to the micro-unit: topped_up = charged + balance, to the last digit.
            "charged": format(from_micros(operator.charging.charged_micros), "f"),
            "topped_up": format(operator.charging.topped_up, "f"),
            "cutoffs": operator.charging.cutoffs,
            "balance": format(sum((operator.charging.balance_of(a) for a in operator.charging.key_of), ZERO), "f"),
        },
        "services": {"active": services["active"], "by_state": dict(sorted(services.items()))},
        "usage": {
            "records": ledger.records,
            "volume_bytes": ledger.volume_bytes,
            "rejected": sum(ledger.rejected.values()),
        },
        "revenue": {
            "invoiced": format(operator.invoiced(), "f"),
            "unbilled_usage": format(to_cents(operator.unbilled()), "f"),
            **revenue_report(operator, spec.duration_seconds),
        },
        "revenue_assurance": revenue_assurance(operator, spec.duration_seconds),
        "churn": {"rate": round(sum(c.state == "churned" for c in r.customers.values()) / len(r.customers), 6)
                  if r.customers else 0.0},  # fmt: skip
        "dunning": {  # for non-payment only: services (a customer's pause, a prepaid cut-off, a cancellation apart)
            "reminders": log.by_type.get("DunningReminderSent", 0),
            "accounts_suspended": operator.collections.accounts_suspended,
            "suspended": operator.collections.suspended,
            "resumed": operator.collections.resumed,
            "terminated": operator.collections.terminated,
        },
        "invoices": {
            "count": len(r.bills),
            "lines_by_kind": dict(sorted(Counter(line.kind for b in r.bills.values() for line in b.lines).items())),
            "discounts": format(-sum((line.amount for b in r.bills.values() for line in b.lines
                                      if line.kind == "discount"), ZERO), "f"),  # fmt: skip
        },
        "alarms": {
            "raised": len(operator.assurance.alarms),
            "root_causes": sum(1 for a in operator.assurance.alarms if a.is_root_cause),
            "active": sum(1 for a in operator.assurance.alarms if a.active),
        },
        "incidents": {"count": sum(1 for i in operator.assurance.incidents.values() if i.state != "merged")},
        "tickets": _tickets(operator),
        "experience": _experience(r),
        "sla": {
            "breaches": len(r.sla_breaches),
            "credits": format(-sum((line.amount for b in r.bills.values() for line in b.lines
                                    if line.kind == "sla_credit"), ZERO), "f"),  # fmt: skip
        },
        "events": {"count": log.count, "by_type": dict(sorted(log.by_type.items()))},
    }
