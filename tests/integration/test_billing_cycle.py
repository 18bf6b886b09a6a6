"""scenarios/billing-cycle.yaml: every price component on real invoices, checked against the stored run."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest

from oss_bss.adapters.usage_files import load as load_usage
from oss_bss.billing import recurring_charge
from oss_bss.money import from_micros, to_cents
from oss_bss.periods import Calendar
from tests.conftest import run_library_scenario

pytestmark = pytest.mark.integration
DAY = 86_400.0
APRIL_20 = 19 * DAY
APRIL_8 = 7 * DAY
CALENDAR = Calendar(datetime(2026, 4, 1, tzinfo=UTC))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    result, _ = run_library_scenario("billing-cycle", tmp_path_factory)
    con = sqlite3.connect(result.folder / "run.db")
    con.row_factory = sqlite3.Row
    yield result, con
    con.close()


def lines(con, where: str = "1=1", *args):
    return con.execute(
        "select l.*, b.period_start, b.period_end, b.billing_account_id, s.offering_id, s.created_at, s.activated_at, "
        "s.terminated_at, s.offering_history "
        f"from bill_line l join customer_bill b on b.id = l.bill_id left join service s on s.id = l.service_id where {where}",
        args,
    ).fetchall()


def test_each_invoice_is_the_sum_of_its_lines_of_every_kind(run):
    result, con = run
    kinds = {r[0] for r in con.execute("select distinct kind from bill_line")}
    assert kinds == {"one_time", "recurring", "discount", "usage", "tax"}
    by_bill = defaultdict(Decimal)
    for row in con.execute("select bill_id, amount from bill_line"):
        by_bill[row[0]] += Decimal(row[1])
    for bill_id, amount in con.execute("select id, amount from customer_bill"):
        assert Decimal(amount) == by_bill[bill_id]


def test_the_price_rise_on_20_april_splits_the_recurring_line_at_its_day(run):
    _, con = run
    split = defaultdict(list)
    for row in lines(con, "l.kind = 'recurring' and s.offering_id = 'fibre-500' and b.period_start < ? and b.period_end > ?"
                     " and s.offering_history = '[]' and (s.terminated_at is null or s.terminated_at >= b.period_end)",
                     APRIL_20, APRIL_20):  # fmt: skip
        split[row["bill_id"], row["service_id"]].append(row)
    assert split
    # Services that kept Fibre 500 all cycle (a modify would split the line too).
    two = [parts for parts in split.values() if len(parts) == 2
           and all(p["description"].startswith("Fibre 500 at") for p in parts)]
    assert len(two) > 20
    for old, new in two:
        assert "39.90 a month" in old["description"] and "42.90 a month" in new["description"]
        # The parts are the cumulative-rounded proration of each price over its days of the cycle:
        # days [a, cut) at the old price and [cut, D) at the new, D the cycle's length.
        end = old["period_end"]
        D = CALENDAR.whole_days(CALENDAR.previous_cycle_date(end, CALENDAR.day_of_month(end)), end)
        q = new["quantity"]
        assert q == round((old["period_end"] - APRIL_20) / DAY)
        a = D - q - old["quantity"]
        assert Decimal(new["amount"]) == recurring_charge(Decimal("42.90"), D - q, D, D)
        assert Decimal(old["amount"]) == recurring_charge(Decimal("39.90"), a, D - q, D)


def test_the_launch_promotion_applies_to_orders_of_the_first_week_only(run):
    _, con = run
    promo = lines(con, "l.kind = 'discount' and l.description like 'Launch offer%'")
    assert promo
    assert all(r["created_at"] < APRIL_8 and "fibre-500" in r["offering_id"] + r["offering_history"] for r in promo)
    late_orders = lines(con, "l.kind = 'recurring' and s.offering_id = 'fibre-500' and s.created_at >= ?", APRIL_8)
    assert late_orders  # ordered after the window: billed, never discounted
    discounted = {r["service_id"] for r in promo}
    assert not discounted & {r["service_id"] for r in late_orders}
    checked = 0
    for r in promo:  # inside the 60 days: half of each recurring part, to the cent
        if r["period_end"] <= r["activated_at"] + 59 * DAY and r["offering_history"] == "[]":
            parts = lines(con, "l.bill_id = ? and l.service_id = ? and l.kind = 'recurring'", r["bill_id"], r["service_id"])
            offs = lines(con, "l.bill_id = ? and l.service_id = ? and l.description like 'Launch offer%'",
                         r["bill_id"], r["service_id"])
            assert sum(Decimal(o["amount"]) for o in offs) == -sum(to_cents(Decimal(p["amount"]) / 2) for p in parts)
            checked += 1
    assert checked > 10


def test_the_bundle_discount_goes_to_accounts_holding_both_offerings(run):
    _, con = run
    bundle = lines(con, "l.kind = 'discount' and l.description like 'Fibre + Mobile%' and s.offering_history = '[]'")
    assert bundle
    for r in bundle:
        if lines(con, "l.bill_id = ? and l.service_id = ? and l.description like 'Launch offer%'",
                 r["bill_id"], r["service_id"]):
            continue  # the bundle takes from what the promotion left (tested in the unit tests)
        held = {x[0].split(" at ")[0] for x in con.execute(  # the products billed (as they were then)
            "select description from bill_line where bill_id = ? and kind = 'recurring'", (r["bill_id"],))}
        assert {"Fibre 500", "Mobile Data"} <= held
        # 10% of each recurring part (a price change splits the line), each rounded to the cent.
        parts = lines(con, "l.bill_id = ? and l.service_id = ? and l.kind = 'recurring'", r["bill_id"], r["service_id"])
        discounts = lines(con, "l.bill_id = ? and l.service_id = ? and l.description like 'Fibre + Mobile%'",
                          r["bill_id"], r["service_id"])
        assert sum(Decimal(d["amount"]) for d in discounts) == -sum(
            to_cents(Decimal(p["amount"]) * Decimal("0.10")) for p in parts)


def test_one_time_prices_come_once_on_the_first_bill(run):
    _, con = run
    once = lines(con, "l.kind = 'one_time'")
    assert len({r["service_id"] for r in once}) == len(once)
    prices = {"fibre-500": "49.00", "fibre-1000": "49.00", "business-vpn": "250.00"}
    for r in once:
        assert Decimal(r["amount"]) == Decimal(prices[r["offering_id"]])
        first = con.execute("select min(b.period_end) from bill_line l join customer_bill b on b.id = l.bill_id "
                            "where l.service_id = ?", (r["service_id"],)).fetchone()[0]
        assert r["period_end"] == first
    assert not [r for r in once if r["offering_id"] == "mobile-data"]


def reference_charge(before: int, volume: int, hour: int) -> int:
    """Mobile Data in Decimal: 20 GB free, 2.00/GB to 50 GB, 1.00/GB after, half price 00:00-07:00."""
    gb = 10**9
    bands = [(0, 20 * gb, Decimal(0)), (20 * gb, 50 * gb, Decimal("2.00")), (50 * gb, 10**30, Decimal("1.00"))]
    total = sum((Decimal(max(0, min(before + volume, hi) - max(before, lo))) * p for lo, hi, p in bands), Decimal(0))
    total = total * 10**6 / gb * (Decimal("0.5") if hour < 7 else 1)
    return int(total.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def test_tiered_usage_with_allowance_and_off_peak_matches_a_decimal_reference(run):
    result, con = run
    usage = load_usage(result.folder / "usage")
    rows = lines(con, "l.kind = 'usage' and s.offering_id = 'mobile-data'")
    assert rows
    key_of = dict(con.execute("select id, key from service"))
    crossed = 0
    for r in rows:
        mine = np.flatnonzero((usage["service_key"] == key_of[r["service_id"]]) & (usage["start"] >= r["period_start"])
                              & (usage["start"] < r["period_end"]))
        mine = mine[np.argsort(usage["start"][mine], kind="stable")]
        before, expected = 0, 0
        for i in mine:
            volume = int(usage["volume_bytes"][i])
            charge = reference_charge(before, volume, int(usage["start"][i] // 3600) % 24)
            assert int(usage["charge_micros"][i]) == charge
            before += volume
            expected += charge
        crossed += before > 20 * 10**9
        assert Decimal(r["amount"]) == to_cents(from_micros(expected))
        assert r["quantity"] == before
    assert crossed > 5  # the allowance runs out for some: the tiers are exercised


def test_enterprises_have_a_parent_account_and_a_billed_child_per_site(run):
    result, con = run
    orgs = con.execute("select c.id, c.billing_account_id from customer c where c.segment = 'enterprise'").fetchall()
    assert orgs and all(con.execute("select party_type from customer where id = ?", (o[0],)).fetchone()[0]
                        == "organisation" for o in orgs)
    for customer_id, parent in orgs:
        children = [x[0] for x in con.execute("select id from billing_account where parent_id = ?", (parent,))]
        assert len(children) == 3
        sites = {x[0] for x in con.execute("select site from service where billing_account_id in (?, ?, ?)", children)}
        assert len(sites) == 3  # one site per child account
        assert con.execute("select count(*) from customer_bill where billing_account_id = ?", (parent,)).fetchone()[0] == 0
    assert result.summary["parties"]["child_accounts"] == 3 * len(orgs)


def test_fallout_is_retried_then_cancelled_and_changes_are_billed(run):
    result, con = run
    s = result.summary
    assert s["orders"]["fallout_retries"] > 0 and s["orders"]["cancelled"] > 0 and s["orders"]["failed"] == 0
    assert s["orders"]["fallout_retries"] == 2 * s["orders"]["cancelled"] + (
        s["orders"]["completed"] - con.execute("select count(*) from service_order where attempts = 1 and state = 'completed'").fetchone()[0]
    )
    assert s["changes"]["modified"] > 0 and s["changes"]["moved"] > 0 and s["changes"]["cancelled"] > 0
    states = dict(con.execute("select state, count(*) from product_order group by state"))
    assert states.get("cancelled") == s["orders"]["cancelled"]
