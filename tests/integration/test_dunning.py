"""scenarios/dunning.yaml: bills to cash, or to suspension in the network and back."""

import sqlite3
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest

from oss_bss.adapters.usage_files import load as load_usage
from tests.conftest import run_library_scenario

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_library_scenario("dunning", tmp_path_factory)


def of(rows, kind):
    return [r for r in rows if r["type"] == kind]


def test_a_suspended_service_carries_nothing_until_payment_resumes_it(run):
    result, rows = run
    suspended = {r["service_id"]: r for r in of(rows, "ServiceSuspended")}
    resumed = {r["service_id"]: r for r in of(rows, "ServiceResumed")}
    assert suspended and resumed and set(resumed) <= set(suspended)
    usage = load_usage(result.folder / "usage")
    with sqlite3.connect(result.folder / "run.db") as con:
        key_of = dict(con.execute("select id, key from service"))
    for service_id, resume in resumed.items():
        start = suspended[service_id]["at"]
        mine = usage["service_key"] == key_of[service_id]
        # Whole hours inside the suspension carry nothing; hours after it carry again.
        inside = mine & (usage["start"] >= np.ceil(start / 3600) * 3600) & (usage["end"] <= np.floor(resume["at"] / 3600) * 3600)
        assert not inside.any()
        assert (mine & (usage["start"] >= resume["at"])).any()
    payments = {(r["customer_id"], r["at"]) for r in of(rows, "PaymentReceived")}
    assert all((r["customer_id"], r["at"]) in payments for r in resumed.values())  # resumed by a payment


def test_never_payers_are_terminated_in_the_network_and_churn(run):
    result, rows = run
    terminated = of(rows, "ServiceTerminated")
    churned = {r["customer_id"] for r in of(rows, "CustomerChurned")}
    assert terminated and {r["customer_id"] for r in terminated} == churned
    with sqlite3.connect(result.folder / "run.db") as con:
        states = dict(con.execute("select id, state from service"))
        customers = dict(con.execute("select id, state from customer"))
        paid = dict(con.execute("select customer_id, sum(cast(paid as real)) from customer_bill group by customer_id"))
    assert all(states[r["service_id"]] == "terminated" for r in terminated)
    assert {c for c, s in customers.items() if s == "churned"} == churned
    assert all(not paid.get(c) for c in churned)  # they never paid a cent
    assert result.summary["churn"]["rate"] == pytest.approx(len(churned) / 500)
    usage = load_usage(result.folder / "usage")
    with sqlite3.connect(result.folder / "run.db") as con:
        key_of = dict(con.execute("select id, key from service"))
    for r in terminated:  # nothing carried after the hour of its termination
        after = (usage["service_key"] == key_of[r["service_id"]]) & (usage["start"] >= np.ceil(r["at"] / 3600) * 3600)
        assert not after.any()


def test_every_invoice_is_the_sum_of_its_lines_with_the_tax_on_its_net(run):
    result, rows = run
    with sqlite3.connect(result.folder / "run.db") as con:
        bills = {b: (Decimal(a), Decimal(p)) for b, a, p in con.execute("select id, amount, paid from customer_bill")}
        lines = defaultdict(list)
        for bill_id, kind, amount in con.execute("select bill_id, kind, amount from bill_line"):
            lines[bill_id].append((kind, Decimal(amount)))
    for bill_id, (amount, paid) in bills.items():
        assert sum(a for _, a in lines[bill_id]) == amount
        net = sum(a for k, a in lines[bill_id] if k != "tax")
        (tax,) = [a for k, a in lines[bill_id] if k == "tax"]
        assert tax == (net * Decimal("0.19")).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    receivable = sum(a - p for a, p in bills.values() if a > p)
    assert receivable == Decimal(result.summary["revenue"]["receivables"])
    assert Decimal(result.summary["revenue"]["collected"]) == sum(p for _, p in bills.values())
    aged = result.summary["revenue"]["aged_debt"]
    assert sum(Decimal(v) for v in aged.values()) == receivable


def test_the_summary_counts_what_dunning_did_to_services_and_each_customer_churns_once(run):
    result, rows = run
    d = result.summary["dunning"]
    assert d["suspended"] == sum(r["reason"] == "non-payment" for r in of(rows, "ServiceSuspended")) > 0
    assert d["terminated"] == sum(r["reason"] == "non-payment" for r in of(rows, "ServiceTerminated")) > 0
    assert 0 < d["resumed"] <= len(of(rows, "ServiceResumed"))
    churned = [r["customer_id"] for r in of(rows, "CustomerChurned")]
    assert churned and len(churned) == len(set(churned))
