"""The customer journey (``sim.journey``) read back against what the run stored.

One small run with a link cut (tickets, SLA breaches and credits), planned work on a node, bills,
payments, dunning (suspension, termination, churn), enterprises with a child account per site and
prepaid customers. Every check is computed independently of the module: the events by a plain
parse of the whole ``events.jsonl``, the records with ``sqlite3``, the usage with pyarrow.
"""

from __future__ import annotations

import dataclasses
import inspect
import io
import json
import os
import sqlite3
import typing
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from rich.console import Console

from oss_bss import events as bus_events
from oss_bss.bus import Event
from oss_bss.errors import TelcolabError
from oss_bss.money import to_cents
from oss_bss.periods import Calendar
from sim import journey, runner
from sim.journey import ETOM, NETWORK_WIDE, PROCESSES, UnknownCustomer, default_customer, stage_of, trace
from sim.outputs import EventLog
from sim.report import NotARunFolder
from sim.scenario import load_scenario
from tests import postgres
from tests.conftest import SCENARIOS

pytestmark = pytest.mark.integration

SMALL = """
name: journey-small
description: A small run for the journey's tests.
seed: 7
start: 2026-04-20
duration_days: 20
currency: EUR
topology: {{file: "{topology}", gateways: [New York, Los Angeles]}}
catalog:
  - {{id: home-100, name: Home 100, bandwidth_mbps: 5, monthly_price: "45.00", usage_price_per_gb: "0.003"}}
  - id: enterprise-vpn
    name: Enterprise Internet with SLA
    bandwidth_mbps: 50
    monthly_price: "1200.00"
    usage_price_per_gb: "0.005"
    sla: {{name: gold, availability_percent: 99.9, time_to_restore: 4h, credit_percent: 10}}
  - {{id: mobile-prepaid, name: Mobile Prepaid, bandwidth_mbps: 2, monthly_price: "0", prepaid: true,
     usage_price_per_gb: "1.50"}}
population:
  customers: 240
  segments:
    residential:
      share: 0.7
      offerings: {{home-100: 1}}
      sessions_per_day: 10
      session_volume: {{median_mb: 100, sigma: 1.0}}
      patience: 1h
      payment: {{on_time: 0.5, late: 0.3, never: 0.2, late_days: {{min: 1, mode: 4, max: 8}}}}
    enterprise:
      share: 0.2
      party: organisation
      sites: 3
      offerings: {{enterprise-vpn: 1}}
      sessions_per_day: 30
      session_volume: {{median_mb: 150, sigma: 1.0}}
      patience: 20m
    mobile:
      share: 0.1
      offerings: {{mobile-prepaid: 1}}
      sessions_per_day: 10
      session_volume: {{median_mb: 40, sigma: 1.0}}
      prepaid: {{initial_balance: "0.50", amount: "5.00", after: 10h, share: 0.5}}
ordering:
  arrivals_per_day: 400
  install_hours: {{min: 1, mode: 4, max: 12}}
billing: {{cycle_days: [25, 1], payment_terms: 2d}}
dunning: {{reminder_after: 1d, suspend_after: 2d, terminate_after: 10d}}
faults:
  maintenance: [{{name: houston-upgrade, nodes: [Houston], start: "2026-04-28 02:00", duration: 2h}}]
timeline: [{{at: "2026-04-22 10:00", fail_link: Chicago--Indianapolis, for: 6h}}]
"""

# The field that ties a logged event to its party, in order of precedence: the customer when the event
# names one, else its service(s), else its work order, incident or alarm.
OWNER_FIELDS = ("customer_id", "service_id", "service_ids", "work_order_id", "incident_id", "alarm_id")


def _run(folder: Path, db_url: str | None = None) -> Path:
    path = folder / "scenario.yaml"
    path.write_text(SMALL.format(topology=SCENARIOS / "topologies" / "Abilene.graphml"))
    return runner.run(load_scenario(path), folder / "run", db_url=db_url).folder


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    return _run(tmp_path_factory.mktemp("journey"))


@pytest.fixture(scope="module")
def log(run) -> list[dict]:
    return [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def db(run):
    conn = sqlite3.connect(run / "run.db")
    yield conn
    conn.close()


class Expected:
    """The events of one customer, worked out from the whole log and the database (no code of sim.journey).

    A customer's events are those whose owner field names the customer, one of its services, its work
    orders, or the incidents, alarms and repairs that hit its services: the standing incidents whose impact
    lists it or one of its services (cut or rerouted), that its tickets name, or with an alarm raised by a
    failure that cut one of its services; their root alarms and their alarms on a link or node its services
    crossed; incidents merged into them whose root alarm is one of those.
    """

    def __init__(self, log: list[dict], db: sqlite3.Connection):
        self.events = [(e, self.owner(e)) for e in log if e["type"] not in NETWORK_WIDE]
        links = db.execute("select id, a, b from resource where kind = 'link'")
        self.link_of = {frozenset((a, b)): i for i, a, b in links}
        self.services = defaultdict(list)
        for sid, cid, path, links in db.execute("select id, customer_id, path, links from service"):
            self.services[cid].append((sid, json.loads(path), json.loads(links)))
        self.incidents = [dict(zip(("id", "root", "state", "alarms", "services", "protected", "customers"), r))
                          for r in db.execute("select id, root_alarm_id, state, alarm_ids, services, protected, "
                                              "customers from incident")]  # fmt: skip
        alarms = db.execute("select id, alarmed_object, raised_time, cleared_time from alarm")
        self.alarms = {r[0]: r[1:] for r in alarms}
        self.tickets = defaultdict(set)
        for cid, incident in db.execute("select customer_id, incident_id from trouble_ticket"):
            self.tickets[cid].add(incident)
        self.work = defaultdict(set)
        for wid, cid, incident in db.execute("select id, customer_id, incident_id from work_order"):
            self.work[cid or incident].add(wid)

    @staticmethod
    def owner(event: dict) -> set[str]:
        for key in OWNER_FIELDS:
            value = event.get(key)
            if value is not None:
                return set(value) if isinstance(value, list) else {value}
        return set()

    def seqs(self, cid: str) -> list[int]:
        services = {s for s, _, _ in self.services[cid]}
        own = {cid} | services | self.work[cid]
        mine = [e for e, o in self.events if o & own]
        crossed = set()
        for _, path, links in self.services[cid]:
            crossed |= set(path) | set(links)
        for e in mine:
            p = e.get("path") or []
            crossed |= set(p) | set(e.get("links") or [])
            crossed |= {self.link_of[frozenset(x)] for x in zip(p, p[1:]) if frozenset(x) in self.link_of}
            if e["type"] in ("LinkDown", "LinkUp", "NodeDown", "NodeUp"):
                crossed.add(e.get("link_id") or e.get("node"))
        downs = [(e.get("link_id") or e.get("node"), e["at"]) for e in mine if e["type"] in ("LinkDown", "NodeDown")]

        def struck(alarm_id: str) -> bool:
            obj, raised, cleared = self.alarms[alarm_id]
            return any(o == obj and raised <= t <= (cleared if cleared is not None else np.inf) for o, t in downs)

        standing = [i for i in self.incidents if i["state"] != "merged" and (
            cid in json.loads(i["customers"]) or services & set(json.loads(i["services"]))
            or services & set(json.loads(i["protected"])) or i["id"] in self.tickets[cid]
            or any(struck(a) for a in json.loads(i["alarms"])))]  # fmt: skip
        roots = {i["root"] for i in standing}
        alarms = {a for i in standing for a in json.loads(i["alarms"]) if a in roots or self.alarms[a][0] in crossed}
        merged = [i["id"] for i in self.incidents if i["state"] == "merged" and i["root"] in alarms]
        incidents = {i["id"] for i in standing} | set(merged)
        ids = own | incidents | alarms | {w for i in incidents for w in self.work[i]}
        return [e["seq"] for e, o in self.events if o & ids]


@pytest.fixture(scope="module")
def expected(log, db) -> Expected:
    return Expected(log, db)


@pytest.fixture(scope="module")
def cast(run, log, db) -> dict[str, str]:
    """Customers whose journeys show each part of the run (the first by id of each kind)."""
    def first(kind: str, test=lambda e: True) -> str:
        return min(e["customer_id"] for e in log if e["type"] == kind and e.get("customer_id") and test(e))

    enterprise = db.execute("select customer_id from billing_account where parent_id is not null "
                            "order by customer_id limit 1").fetchone()[0]  # fmt: skip
    return {
        "default": default_customer(run),
        "outage": first("TroubleTicketCreated"),
        "sla": first("SlaBreached"),
        "enterprise": enterprise,
        "dunned": first("ServiceSuspended", lambda e: e["reason"] == "non-payment"),
        "churned": first("CustomerChurned"),
        "prepaid": first("PrepaidBalanceExhausted"),
        "quiet": db.execute("select min(id) from customer").fetchone()[0],
    }


@pytest.fixture(scope="module")
def journeys(run, cast) -> dict[str, journey.Journey]:
    return {role: trace(run, cid) for role, cid in cast.items()}


def _event_classes() -> dict[str, type]:
    return {name: cls for name, cls in inspect.getmembers(bus_events, inspect.isclass)
            if issubclass(cls, Event) and cls is not Event and cls.__module__ == bus_events.__name__}  # fmt: skip


# -- the eTOM table ---------------------------------------------------------------------------------------------------


def test_the_etom_table_names_a_process_for_every_event_a_customer_can_meet():
    classes = _event_classes()
    base = {key.split("/")[0] for key in ETOM}
    assert base | NETWORK_WIDE == set(classes), "an event type of oss_bss.events is neither mapped nor network-wide"
    assert not base & NETWORK_WIDE
    for key, stage in ETOM.items():
        kind = key.split("/")[0]
        names = {f.name for f in dataclasses.fields(classes[kind])}
        assert stage.process in PROCESSES, key
        assert stage.vertical in journey.VERTICALS and stage.layer in journey.LAYERS, key
        assert stage.keys and set(stage.keys) <= names & set(journey.MARKED_FIELDS), key
        assert kind in journey.SENTENCES, key


def _sample(cls: type) -> object:
    """An instance of an event class with plausible values for its fields."""
    hints = typing.get_type_hints(cls)
    values = {}
    for f in dataclasses.fields(cls):
        kind = str(hints[f.name])
        if f.name == "at":
            values[f.name] = 3600.0
        elif "tuple" in kind:
            values[f.name] = ("SVC-000001", "SVC-000002") if "ids" in f.name else ("Denver", "Kansas City")
        elif "Decimal" in kind:
            values[f.name] = Decimal("12.34")
        elif "bool" in kind:
            values[f.name] = False
        elif "int" in kind:
            values[f.name] = 2
        elif "float" in kind:
            values[f.name] = 7200.0
        else:
            values[f.name] = f"{f.name.upper()}-1"
    return cls(**values)


def test_every_customer_event_reads_as_a_sentence():
    stream = io.BytesIO()
    log = EventLog(stream, Calendar(datetime(2026, 4, 1, tzinfo=UTC)))
    for name, cls in sorted(_event_classes().items()):
        if name not in NETWORK_WIDE:
            log(_sample(cls))
    for line in stream.getvalue().splitlines():
        event = json.loads(line)
        text = journey.describe(event, "EUR")
        assert text and "{" not in text and "None" not in text, (event["type"], text)


# -- the steps --------------------------------------------------------------------------------------------------------


def test_the_steps_are_exactly_the_customers_events_in_log_order(journeys, expected, log):
    by_seq = {e["seq"]: e for e in log}
    for role, j in journeys.items():
        seqs = [s.seq for s in j.steps]
        assert seqs == expected.seqs(j.customer_id), role
        assert seqs == sorted(seqs)
        for step in j.steps:
            event = by_seq[step.seq]
            assert (step.type, step.at, step.time) == (event["type"], event["at"], event["time"])
            assert step.text


def test_every_step_is_named_by_its_process_in_the_etom_table(journeys):
    processes = {stage.process for stage in ETOM.values()}
    for j in journeys.values():
        for step in j.steps:
            assert step.process in processes
            assert step.layer == PROCESSES[step.process]
            assert step.process in {stage_of(step.type).process} | {s.process for k, s in ETOM.items()
                                                                    if k.startswith(step.type + "/")}


def test_a_customer_hit_by_the_outage_sees_problem_handling_and_service_problem_management(journeys, db):
    j = journeys["outage"]
    assert {"Problem Handling", "Service Problem Management", "Resource Trouble Management"} <= set(j.processes)
    ticket = db.execute("select id, incident_id from trouble_ticket where customer_id = ?", (j.customer_id,)).fetchone()
    assert ticket[0] in {t.id for t in j.tickets}
    assert ticket[1] in {i.id for i in j.incidents}
    incident = next(i for i in j.incidents if i.id == ticket[1])
    assert incident.customer_services and incident.root_alarm_id in {a.id for a in j.alarms}
    opened = next(s for s in j.steps if s.type == "TroubleTicketCreated")
    assert opened.process == "Problem Handling" and opened.vertical == "Assurance"
    assert ticket[0] in opened.text and ticket[0] in opened.records
    down = [s for s in j.steps if s.type in ("LinkDown", "NodeDown")]
    assert down and all(sid in {x.id for x in j.services} for s in down for sid in s.records if sid.startswith("SVC-"))


def test_sla_breaches_are_measured_and_credited_on_the_next_bill(journeys, log):
    j = journeys["sla"]
    breaches = [e for e in log if e["type"] == "SlaBreached" and e["customer_id"] == j.customer_id]
    assert [(b.service_id, b.metric, b.measured) for b in j.sla_breaches] == \
        [(e["service_id"], e["metric"], e["measured"]) for e in breaches]
    assert "Customer QoS/SLA Management" in j.processes
    assert any(line.kind == "sla_credit" and line.amount < 0 for b in j.bills for line in b.lines)


def test_dunning_suspension_is_collections_and_churn_is_retention(journeys):
    j = journeys["dunned"]
    suspended = [s for s in j.steps if s.type == "ServiceSuspended"]
    assert suspended and {(s.process, s.vertical) for s in suspended} == {
        ("Bill Payments & Receivables Management", "Billing & Revenue Management")}
    assert any(s.type == "DunningReminderSent" for s in j.steps)
    churned = journeys["churned"]
    step = next(s for s in churned.steps if s.type == "CustomerChurned")
    assert step.process == "Retention & Loyalty"
    assert churned.state == "churned"


# -- the records -----------------------------------------------------------------------------------------------------


def test_the_bills_and_their_lines_are_the_databases(journeys, db):
    for role, j in journeys.items():
        rows = db.execute("select id, billing_account_id, period_start, period_end, state, amount, paid "
                          "from customer_bill where customer_id = ? order by id", (j.customer_id,)).fetchall()
        assert sorted((b.id, b.billing_account_id, b.period_start, b.period_end, b.state, str(b.amount), str(b.paid))
                      for b in j.bills) == sorted(rows), role  # fmt: skip
        for bill in j.bills:
            lines = db.execute("select id, service_id, kind, description, quantity, amount from bill_line "
                               "where bill_id = ?", (bill.id,)).fetchall()
            assert sorted((x.id, x.service_id, x.kind, x.description, x.quantity, str(x.amount))
                          for x in bill.lines) == sorted(lines)  # fmt: skip
            assert sum((x.amount for x in bill.lines), Decimal(0)) == bill.amount
            assert all(isinstance(x.amount, Decimal) for x in bill.lines)
    assert any(j.bills for j in journeys.values())


def test_payments_are_the_logged_ones(journeys, log):
    j = journeys["default"]
    logged = [(e["bill_id"], e["amount"]) for e in log if e["type"] == "PaymentReceived"
              and e["customer_id"] == j.customer_id]  # fmt: skip
    assert [(p.bill_id, str(p.amount)) for p in j.payments] == logged


def test_usage_per_period_is_the_parquet_sum_and_is_what_the_bill_charged(run, journeys, db):
    table = pq.read_table(run / "usage" / "rated.parquet")
    key, start = table.column("service_key").to_numpy(), table.column("start").to_numpy()
    volume, charge = table.column("volume_bytes").to_numpy(), table.column("charge_micros").to_numpy()
    keys = dict(db.execute("select id, key from service"))
    checked = 0
    for j in journeys.values():
        for sid in {s.id for s in j.services}:
            mine = key == keys[sid]
            rows = [u for u in j.usage if u.service_id == sid]
            assert sum(u.records for u in rows) == int(mine.sum())  # every record is in some period
            for u in rows:
                m = mine & (start >= u.period_start) & (start < u.period_end)
                assert (u.records, u.volume_bytes) == (int(m.sum()), int(volume[m].sum()))
                assert u.charge == Decimal(int(charge[m].sum())) / 1_000_000
                if u.bill_id is not None:
                    line = db.execute("select amount, quantity from bill_line where bill_id = ? and service_id = ? "
                                      "and kind = 'usage'", (u.bill_id, sid)).fetchone()  # fmt: skip
                    if u.records:
                        assert (Decimal(line[0]), line[1]) == (u.billed, u.volume_bytes) == (to_cents(u.charge),
                                                                                              u.volume_bytes)
                    checked += 1
    assert checked


def test_an_enterprise_with_several_sites_shows_its_parent_and_child_accounts(journeys, db):
    j = journeys["enterprise"]
    rows = db.execute("select id, parent_id from billing_account where customer_id = ? order by id",
                      (j.customer_id,)).fetchall()  # fmt: skip
    assert sorted((a.id, a.parent_id) for a in j.accounts) == rows
    parent = next(a for a in j.accounts if a.parent_id is None)
    children = [a for a in j.accounts if a.parent_id == parent.id]
    assert j.party_type == "organisation" and len(children) == 3
    assert j.accounts[0] is parent  # the parent first
    assert {s.billing_account_id for s in j.services} <= {a.id for a in children}
    opened = [s for s in j.steps if s.type == "BillingAccountOpened"]
    assert {c.id for c in children} <= {r for s in opened for r in s.records}
    text = _text(j)
    assert all(c.id in text for c in children)


def test_a_prepaid_balance_is_what_was_topped_up_less_what_was_charged_online(run, cast, log, db):
    summary = json.loads((run / "summary.json").read_text())
    prepaid = [r[0] for r in db.execute("select distinct customer_id from billing_account "
                                        "where payment_type = 'prepaid'")]
    total = Decimal(0)
    for cid in sorted(prepaid):
        j = trace(run, cid)
        (balance,) = j.prepaid
        topped = sum((Decimal(e["amount"]) for e in log if e["type"] == "PrepaidToppedUp" and e["customer_id"] == cid),
                     Decimal(0))  # fmt: skip
        assert balance.topped_up == topped and balance.balance == topped - balance.charged
        assert not j.bills
        total += balance.balance
    assert total == Decimal(summary["prepaid"]["balance"])
    cut = trace(run, cast["prepaid"])
    assert any(s.type == "PrepaidBalanceExhausted" and s.process == "Charging" for s in cut.steps)


# -- errors ----------------------------------------------------------------------------------------------------------


def test_an_unknown_customer_is_an_error_naming_the_folder_the_id_and_the_run_s_ids(run, db):
    first, last = db.execute("select min(id), max(id) from customer").fetchone()
    with pytest.raises(UnknownCustomer) as caught:
        trace(run, "CUS-999999")
    message = str(caught.value)
    assert isinstance(caught.value, TelcolabError)
    assert str(run) in message and "CUS-999999" in message and first in message and last in message


def test_a_folder_that_is_not_a_run_is_named(tmp_path):
    with pytest.raises(NotARunFolder, match="no summary.json"):
        trace(tmp_path, "CUS-000001")
    with pytest.raises(NotARunFolder, match="no such folder"):
        default_customer(tmp_path / "missing")


# -- showing it ------------------------------------------------------------------------------------------------------


def _text(j: journey.Journey, width: int = 250) -> str:
    out = io.StringIO()
    Console(file=out, width=width, no_color=True, force_terminal=False).print(journey.render_text(j, width=width))
    return out.getvalue()


def test_the_text_view_names_every_process_and_fits_100_columns(journeys):
    j = journeys["default"]
    wide = _text(j)
    for process in j.processes:
        assert process in wide
    for step in j.steps:
        assert str(step.seq) in wide
    narrow = _text(j, width=100)
    assert max(len(line) for line in narrow.splitlines()) <= 100
    assert "\x1b[" not in narrow  # no escape codes when piped
    odd = _text(dataclasses.replace(j, name="[bold]Smith[/] & Sons [x"))
    assert "[bold]Smith[/] & Sons [x" in odd and "[records touched]" in odd  # shown as written, never as markup


class _Tags(HTMLParser):
    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_the_html_fragment_is_escaped_and_loads_nothing(journeys):
    j = journeys["default"]
    html = str(journey.render_html(j))
    tags = _Tags(html).tags
    names = {t for t, _ in tags}
    assert not names & {"script", "link", "img", "iframe", "object", "embed", "html", "body", "head"}
    assert not any(k in ("src", "href") or k.startswith("on") for _, attrs in tags for k in attrs)
    assert "url(" not in html and "http" not in html
    rows = [a for t, a in tags if t == "tr" and "data-seq" in a]
    assert [int(a["data-seq"]) for a in rows] == [s.seq for s in j.steps]
    assert {a["data-process"] for a in rows} == set(j.processes)
    evil = dataclasses.replace(j, name='<script>alert("x")</script>')
    escaped = str(journey.render_html(evil))
    assert "<script>" not in escaped and "&lt;script&gt;" in escaped


def test_the_json_view_is_plain_json_with_money_as_text(journeys):
    j = journeys["default"]
    data = json.loads(json.dumps(journey.to_json(j)))
    assert data["customer_id"] == j.customer_id and len(data["steps"]) == len(j.steps)
    assert data["processes"] == list(j.processes)
    for bill, original in zip(data["bills"], j.bills):
        assert bill["amount"] == format(original.amount, "f")
        assert all(isinstance(line["amount"], str) for line in bill["lines"])


def test_the_default_customer_is_deterministic_and_crosses_the_three_verticals(run, journeys, cast):
    assert default_customer(run) == cast["default"]
    verticals = {s.vertical for s in journeys["default"].steps}
    assert {"Fulfillment", "Assurance", "Billing & Revenue Management"} <= verticals
    assert len(journeys["default"].processes) >= len(journeys["quiet"].processes)


@pytest.mark.postgres
def test_a_run_stored_in_postgresql_gives_the_same_journeys(journeys, cast, tmp_path):
    try:
        with postgres.private_server() as url:
            folder = _run(tmp_path, db_url=url)
            with pytest.raises(NotARunFolder, match=r"no run\.db"):
                trace(folder, cast["default"])
            assert default_customer(folder, url) == cast["default"]
            theirs = {role: journey.to_json(trace(folder, cid, url)) for role, cid in cast.items()}
    except postgres.Unavailable as exc:
        if os.environ.get("TELCOLAB_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL required (TELCOLAB_REQUIRE_POSTGRES=1): {exc}")
        pytest.skip(str(exc))
    for role, j in journeys.items():
        mine = journey.to_json(j)
        del mine["folder"], theirs[role]["folder"]
        assert theirs[role] == mine, role  # money too: NUMERIC(18, 6) reads back as the same text
