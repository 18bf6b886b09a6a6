"""Expectations checked against a real run: each measure recomputed here from the files the run wrote, the checks
made to fail by tampering with the stored records, the CLI's exit codes and messages, and the schema's errors."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from oss_bss.errors import ScenarioError
from sim import runner
from sim.expectations import Expectation, evaluate
from sim.scenario import load_scenario
from tests.conftest import SCENARIOS, read_events, run_cli
from tests.integration.test_report import SMALL

pytestmark = pytest.mark.integration

EXPECT = [
    {"name": "95 % of orders completed within a day", "duration": {"from": "ProductOrderSubmitted",
     "to": "ProductOrderCompleted"}, "stat": "p95", "at_most": "1d"},
    {"name": "mean time to restore an incident", "duration": {"from": {"event": "IncidentOpened", "where": {"planned": False}},
     "to": "IncidentResolved"}, "stat": "mean", "below": "2d"},
    {"name": "enterprise orders fall out", "count": {"event": "ProductOrderHeld", "segment": "enterprise"}, "at_least": 1},
    {"name": "suspensions for non-payment", "count": {"event": "ServiceSuspended", "where": {"reason": "non-payment"}},
     "at_least": 1},
    {"name": "fallout rate", "rate": {"of": "ProductOrderHeld", "per": "ProductOrderSubmitted"}, "at_most": "100%"},
    {"name": "invoiced", "metric": "revenue.invoiced", "above": "0.00"},
    {"name": "alarms while the link is cut", "count": {"event": "AlarmRaised", "after": "2026-04-22 10:00",
     "before": "2026-04-22 16:00"}, "at_least": 1},
    {"name": "the cut link's availability", "metric": "availability.links.Denver--Kansas City", "below": 1},
    {"name": "from the latest reminder to suspension", "duration": {"from": "DunningReminderSent",
     "to": "ServiceSuspended", "pair": "last"}, "stat": "median", "at_least": 0},
    {"check": "invoice_totals_equal_lines"},
    {"check": "no_usage_while_down"},
    {"check": "no_usage_while_suspended"},
    # Made to fail: no order completes within a minute.
    {"name": "every order completed within a minute", "duration": {"from": "ProductOrderSubmitted",
     "to": "ProductOrderCompleted"}, "at_most": "1m"},
]  # fmt: skip


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("expect")
    data = yaml.safe_load(SMALL.format(topology=SCENARIOS / "topologies" / "Abilene.graphml"))
    data["expect"] = EXPECT
    path = folder / "small.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def done(scenario):
    result = runner.run(load_scenario(scenario), scenario.parent / "run", report=False)
    return result, read_events(result.folder)


def outcome(result, name: str):
    (found,) = [o for o in result.verdict.outcomes if o.name == name]
    return found


def pairs(events: list[dict], start: str, end: str, key: str, keep=lambda e: True) -> dict[str, float]:
    opened = {e[key]: e["at"] for e in events if e["type"] == start and keep(e)}
    return {e[key]: e["at"] - opened[e[key]] for e in events if e["type"] == end and e[key] in opened}


def test_a_percentile_of_durations_is_the_nearest_rank_of_the_pairs_in_the_log(done):
    result, events = done
    durations = sorted(pairs(events, "ProductOrderSubmitted", "ProductOrderCompleted", "order_id").values())
    rank = int(np.ceil(0.95 * len(durations)))  # nearest rank: 95 % of the durations are at or under it
    got = outcome(result, "95 % of orders completed within a day")
    assert got.value == pytest.approx(durations[rank - 1])
    assert got.passed == (durations[rank - 1] <= 86_400)
    assert sum(d <= durations[rank - 1] for d in durations) >= 0.95 * len(durations)


def test_a_mean_duration_keeps_only_the_events_asked_for(done):
    result, events = done
    restored = pairs(events, "IncidentOpened", "IncidentResolved", "incident_id", keep=lambda e: not e["planned"])
    planned = pairs(events, "IncidentOpened", "IncidentResolved", "incident_id", keep=lambda e: e["planned"])
    assert restored and planned  # the run has both, so the filter matters
    got = outcome(result, "mean time to restore an incident")
    assert got.value == pytest.approx(sum(restored.values()) / len(restored))
    assert f"{len(restored):,} spans" in got.measured


def test_counts_filter_by_field_and_by_segment(done):
    result, events = done
    segment = {e["customer_id"]: e["segment"] for e in events if e["type"] == "CustomerRegistered"}
    held = [e["seq"] for e in events if e["type"] == "ProductOrderHeld" and segment[e["customer_id"]] == "enterprise"]
    got = outcome(result, "enterprise orders fall out")
    assert got.value == len(held) > 0 and list(got.evidence) == held and got.passed
    suspended = [e for e in events if e["type"] == "ServiceSuspended"]
    assert {e["reason"] for e in suspended} >= {"non-payment"}
    got = outcome(result, "suspensions for non-payment")
    assert got.value == sum(e["reason"] == "non-payment" for e in suspended) > 0


def test_a_rate_is_one_count_over_another(done):
    result, events = done
    held = sum(e["type"] == "ProductOrderHeld" for e in events)
    submitted = sum(e["type"] == "ProductOrderSubmitted" for e in events)
    assert outcome(result, "fallout rate").value == pytest.approx(held / submitted)


def test_a_window_keeps_the_events_between_its_instants(done):
    result, events = done
    low, high = (datetime(2026, 4, 22, h, tzinfo=UTC) - datetime(2026, 4, 20, tzinfo=UTC) for h in (10, 16))
    inside = [e["seq"] for e in events if e["type"] == "AlarmRaised" and low.total_seconds() <= e["at"] < high.total_seconds()]
    everywhere = [e for e in events if e["type"] == "AlarmRaised"]
    got = outcome(result, "alarms while the link is cut")
    assert got.value == len(inside) > 0 and list(got.evidence) == inside and len(everywhere) > len(inside)


def test_a_metric_key_may_hold_spaces(done):
    result, _ = done
    got = outcome(result, "the cut link's availability")
    assert got.value == result.summary["availability"]["links"]["Denver--Kansas City"] < 1 and got.passed


def test_pairing_with_the_last_start_takes_the_latest_one_before_each_end(done):
    result, events = done
    latest, durations = {}, []
    for e in events:
        if e["type"] == "DunningReminderSent":
            latest[e["customer_id"]] = e["at"]
        elif e["type"] == "ServiceSuspended" and e["customer_id"] in latest:
            durations.append(e["at"] - latest.pop(e["customer_id"]))
    durations.sort()
    got = outcome(result, "from the latest reminder to suspension")
    assert durations and got.value == pytest.approx(durations[(len(durations) + 1) // 2 - 1])  # nearest-rank median


def test_the_checks_hold_on_a_run_with_outages_and_suspensions_and_say_what_they_checked(done):
    result, _ = done
    totals = outcome(result, "check invoice_totals_equal_lines")
    down = outcome(result, "check no_usage_while_down")
    suspended = outcome(result, "check no_usage_while_suspended")
    assert totals.passed and down.passed and suspended.passed
    assert "all equal" in totals.measured and "none charged" in down.measured and "none charged" in suspended.measured


def test_a_failed_expectation_names_what_was_expected_measured_and_the_events(done):
    result, events = done
    got = outcome(result, "every order completed within a minute")
    assert not got.passed and not result.passed
    seqs = {e["seq"]: e for e in events}
    # The evidence is pairs of events (submitted, completed) of the orders over the bound, the longest first.
    first, second = seqs[got.evidence[0]], seqs[got.evidence[1]]
    assert (first["type"], second["type"]) == ("ProductOrderSubmitted", "ProductOrderCompleted")
    assert first["order_id"] == second["order_id"] == got.records[0]
    longest = max(pairs(events, "ProductOrderSubmitted", "ProductOrderCompleted", "order_id").items(), key=lambda kv: kv[1])
    assert got.records[0] == longest[0]
    text = got.explain()
    assert "expected max time from ProductOrderSubmitted to ProductOrderCompleted" in text and "at most 1 min" in text
    assert "measured" in text and f"seq {got.evidence[0]}" in text
    stored = json.loads((result.folder / "expectations.json").read_text())
    assert stored["failed"] == 1 and stored["passed"] == len(EXPECT) - 1
    assert stored["expectations"][-1]["evidence"]["events"][:2] == list(got.evidence[:2])
    assert json.loads((result.folder / "summary.json").read_text())["expectations"] == {"passed": len(EXPECT) - 1,
                                                                                         "failed": 1}


@pytest.fixture
def copy(done, tmp_path):
    """A copy of the run folder to tamper with."""
    target = tmp_path / "run"
    shutil.copytree(done[0].folder, target)
    return target


def test_invoice_totals_fail_on_a_bill_whose_lines_do_not_add_up(copy, done):
    with sqlite3.connect(copy / "run.db") as con:
        bill, amount = con.execute("select id, amount from customer_bill order by id limit 1").fetchone()
        con.execute("update customer_bill set amount = ? where id = ?", (str(Decimal(amount) + Decimal("0.01")), bill))
    (got,) = evaluate(copy, [Expectation(check="invoice_totals_equal_lines")]).outcomes
    assert not got.passed and got.records == (bill,)
    (issued,) = [e["seq"] for e in read_events(copy, "CustomerBillIssued") if e["bill_id"] == bill]
    assert got.evidence == (issued,) and bill in got.measured


def test_usage_inside_an_outage_fails_the_check_and_names_the_service(copy):
    down = [e for e in read_events(copy, "ServiceStateChanged") if e["operational_state"] == "down"][0]
    with sqlite3.connect(copy / "run.db") as con:
        (key,) = con.execute("select key from service where id = ?", (down["service_id"],)).fetchone()
    hour = np.ceil(down["at"] / 3600) * 3600  # the first whole hour of the outage (the service is down for hours)
    path = copy / "usage" / "rated.parquet"
    table = pq.read_table(path)
    extra = pa.table({"service_key": [key], "start": [hour], "end": [hour + 3600], "volume_bytes": [1_000_000],
                      "charge_micros": [5]}, schema=table.schema)  # fmt: skip
    pq.write_table(pa.concat_tables([table, extra]), path)
    (got,) = evaluate(copy, [Expectation(check="no_usage_while_down")]).outcomes
    assert not got.passed and got.records == (down["service_id"],) and got.evidence == (down["seq"],)
    assert "1 usage records charged" in got.measured


def test_the_cli_exits_1_on_a_failed_expectation_and_check_reads_a_finished_run_again(scenario, done, tmp_path):
    result = run_cli(scenario, "--out", tmp_path / "run", "-q")
    assert result.returncode == 1, result.stderr
    assert "FAILED every order completed within a minute: expected max time" in result.stderr
    assert "evidence: events.jsonl seq" in result.stderr and "Traceback" not in result.stderr
    # A run whose expectation failed keeps its evidence; its report lists every expectation with its outcome.
    report = (tmp_path / "run" / "report.html").read_text()
    assert report.count('data-passed="true"') == len(EXPECT) - 1 and report.count('data-passed="false"') == 1
    assert 'data-expectation="every order completed within a minute" data-passed="false"' in report
    again = run_cli("check", done[0].folder)
    assert again.returncode == 1 and f"{len(EXPECT) - 1} of {len(EXPECT)} held" in again.stdout
    passing = tmp_path / "passing.yaml"
    passing.write_text(yaml.safe_dump({"expect": EXPECT[:-1]}))
    assert run_cli("check", done[0].folder, "--scenario", passing).returncode == 0
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump({"expect": [{"count": "OrderShipped", "equals": 1}]}))
    result = run_cli("check", done[0].folder, "--scenario", broken)
    assert result.returncode == 2 and result.stderr.startswith(f"error: {broken}: expect[0].count")


@pytest.mark.parametrize(
    "entry, key, message",
    [
        ({"count": "ProductOrderShipped", "equals": 1}, "expect[0].count.event", "'ProductOrderShipped' is not an event type"),
        ({"count": "productorderfailed", "equals": 0}, "expect[0].count.event", "did you mean ProductOrderFailed"),
        ({"count": "ProductOrderFailed"}, "expect[0]", "give a bound"),
        ({"count": "ProductOrderFailed", "metric": "orders.failed", "equals": 0}, "expect[0]", "exactly one of"),
        ({"count": {"event": "ProductOrderFailed", "where": {"colour": "red"}}, "equals": 0}, "expect[0].count",
         "ProductOrderFailed has no field 'colour'"),
        ({"duration": {"from": "ProductOrderSubmitted", "to": "ProductOrderCompleted"}, "at_most": "2 fortnights"},
         "expect[0]", "at_most: cannot read '2 fortnights' as a duration"),
        ({"duration": {"from": "LinkDown", "to": "CustomerBillIssued"}, "at_most": 1}, "expect[0].duration",
         "share no id"),
        ({"duration": {"from": "ProductOrderSubmitted", "to": "ProductOrderCompleted", "by": "bill_id"},
          "at_most": 1}, "expect[0].duration", "by: 'bill_id' is not a field of every event"),
        ({"duration": {"from": "ProductOrderSubmitted", "to": "ProductOrderCompleted"}, "stat": "p100",
          "at_most": 1}, "expect[0].stat", "pattern"),
        ({"metric": "revenu.invoiced", "above": 0}, "expect[0]", "'revenu' is not a section of summary.json"),
        ({"rate": {"of": "ProductOrderFailed", "per": "ProductOrderSubmitted"}, "at_most": "five %"}, "expect[0]",
         "cannot read 'five %' as a number"),
        ({"check": "no_usage_while_down", "equals": 0}, "expect[0]", "takes no bound"),
        ({"check": "everything_fine"}, "expect[0].check", "Input should be"),
        ({"count": {"event": "LinkDown", "segment": "business"}, "equals": 0}, "expect[0].count",
         "LinkDown names no customer"),
        ({"count": {"event": "AlarmRaised", "after": "soon"}, "equals": 0}, "expect[0].count.after",
         "cannot read 'soon' as a duration"),
        ({"duration": {"from": "ProductOrderSubmitted", "to": "ProductOrderCompleted", "pair": "middle"},
          "at_most": 1}, "expect[0].duration.pair", "Input should be 'first' or 'last'"),
    ],
)  # fmt: skip
def test_a_bad_expectation_is_one_error_naming_its_key(write_scenario, entry, key, message):
    path = write_scenario({"expect": [entry]})
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert caught.value.key == key and message in caught.value.why, str(caught.value)
