"""A whole run on the simulated network, checked against what it stored."""

import json
import sqlite3
from decimal import Decimal

import numpy as np
import pytest

from oss_bss.adapters.usage_files import load as load_usage
from oss_bss.money import from_micros, to_cents
from sim import runner
from sim.scenario import load_scenario
from tests.conftest import SCENARIOS

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory):
    """The real quickstart, run once through the CLI's code path."""
    out = tmp_path_factory.mktemp("runs") / "quickstart"
    return runner.run(load_scenario(SCENARIOS / "quickstart.yaml"), out)


def db(folder):
    return sqlite3.connect(folder / "run.db")


def test_quickstart_completes_orders_and_bills_revenue(quickstart):
    s = json.loads((quickstart.folder / "summary.json").read_text())
    assert s["scenario"] == "quickstart" and s["backend"] == "sim" and s["seed"] == 42
    assert s["customers"] == 1000 and s["simulated_days"] == 30
    assert s["orders"]["submitted"] == 1000
    assert s["orders"]["completed"] + s["orders"]["failed"] + s["orders"]["in_progress"] == 1000
    assert s["orders"]["completed"] > 900
    assert s["services"]["active"] == s["orders"]["completed"]
    assert s["usage"]["records"] > 100_000 and s["usage"]["volume_bytes"] > 0
    assert s["invoices"]["count"] == s["services"]["active"]  # one account, one service each
    assert Decimal(s["revenue"]["invoiced"]) > 0
    assert s["events"]["count"] == sum(s["events"]["by_type"].values())
    assert s["wall_seconds"] > 0


def test_revenue_equals_the_invoices_in_the_database_and_each_invoice_its_lines(quickstart):
    s = quickstart.summary
    with db(quickstart.folder) as con:
        totals = [Decimal(a) for (a,) in con.execute("select amount from customer_bill")]
        assert len(totals) == s["invoices"]["count"]
        assert sum(totals) == Decimal(s["revenue"]["invoiced"])
        per_bill = dict(con.execute("select id, amount from customer_bill"))
        lines: dict[str, Decimal] = {}
        for bill_id, amount in con.execute("select bill_id, amount from bill_line"):
            lines[bill_id] = lines.get(bill_id, Decimal(0)) + Decimal(amount)
        assert {k: Decimal(v) for k, v in per_bill.items()} == lines
        counts = dict(con.execute("select state, count(*) from product_order group by state"))
        assert counts.get("completed", 0) == s["orders"]["completed"]
        assert con.execute("select count(*) from customer").fetchone()[0] == 1000
        assert con.execute("select count(*) from resource where kind = 'link'").fetchone()[0] == 14


def test_every_usage_line_is_recomputed_from_the_stored_usage_records(quickstart):
    usage = load_usage(quickstart.folder / "usage")
    assert len(usage["service_key"]) == quickstart.summary["usage"]["records"]
    assert int(usage["volume_bytes"].sum()) == quickstart.summary["usage"]["volume_bytes"]
    with db(quickstart.folder) as con:
        key_of = dict(con.execute("select id, key from service"))
        rows = con.execute("select l.service_id, l.quantity, l.amount, b.period_start, b.period_end "
                           "from bill_line l join customer_bill b on b.id = l.bill_id where l.kind = 'usage'").fetchall()
    assert rows
    for service_id, quantity, amount, start, end in rows:
        mine = (usage["service_key"] == key_of[service_id]) & (usage["start"] >= start) & (usage["start"] < end)
        assert int(usage["volume_bytes"][mine].sum()) == quantity
        assert to_cents(from_micros(int(usage["charge_micros"][mine].sum()))) == Decimal(amount)


def test_no_usage_is_counted_before_a_service_is_activated(quickstart):
    usage = load_usage(quickstart.folder / "usage")
    with db(quickstart.folder) as con:
        activated = dict(con.execute("select key, activated_at from service where activated_at is not null"))
    keys = usage["service_key"]
    first_start = {int(k): float(usage["start"][keys == k].min()) for k in np.unique(keys)}
    for key, start in first_start.items():
        # Intervals are hourly: the first record's interval ends after activation.
        assert start + 3600 > activated[key]


def test_same_seed_same_results_byte_for_byte(write_scenario, tmp_path):
    path = write_scenario({"population.customers": 150, "duration_days": 31})
    a = runner.run(load_scenario(path), tmp_path / "a")
    b = runner.run(load_scenario(path), tmp_path / "b")
    assert (tmp_path / "a" / "events.jsonl").read_bytes() == (tmp_path / "b" / "events.jsonl").read_bytes()
    sa, sb = dict(a.summary), dict(b.summary)
    for machine in ("wall_seconds", "peak_memory_mb"):  # of the machine, not of the model
        sa.pop(machine), sb.pop(machine)
    assert sa == sb
    with db(tmp_path / "a") as ca, db(tmp_path / "b") as cb:
        for table in ("customer", "service", "customer_bill", "bill_line"):
            query = f"select * from {table} order by id"
            assert ca.execute(query).fetchall() == cb.execute(query).fetchall()
    c = runner.run(load_scenario(path, seed=43), tmp_path / "c")
    assert c.summary["usage"]["volume_bytes"] != a.summary["usage"]["volume_bytes"]


def test_the_cli_writes_the_run_folder_and_prints_the_summary(cli, write_scenario, tmp_path):
    path = write_scenario({"population.customers": 30, "duration_days": 2})
    result = cli(path, "--out", tmp_path / "run")
    assert result.returncode == 0, result.stderr
    assert "orders completed" in result.stdout and "revenue invoiced" in result.stdout
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["events.jsonl", "expectations.json", "kpi", "report.html", "run.db", "scenario.yaml", "summary.json", "usage"]
    first = json.loads((tmp_path / "run" / "events.jsonl").read_text().splitlines()[0])
    assert first["seq"] == 1 and first["type"] == "CustomerRegistered" and first["time"].startswith("2026-04-01T")


def test_a_database_url_puts_the_records_there(cli, write_scenario, tmp_path):
    path = write_scenario({"population.customers": 20, "duration_days": 2})
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    result = cli(path, "--out", tmp_path / "run", "--db", url, "-q")
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "run" / "run.db").exists()
    with sqlite3.connect(tmp_path / "elsewhere.db") as con:
        assert con.execute("select count(*) from customer").fetchone()[0] == 20
    # A database that already holds a run is refused rather than mixed.
    again = cli(path, "--out", tmp_path / "run2", "--db", url, "-q")
    assert again.returncode == 2 and "already holds a run" in again.stderr


def test_an_invoice_is_reproduced_from_the_stored_run_as_a_page_and_as_tmf678(quickstart, cli, tmp_path):
    with db(quickstart.folder) as con:
        bill_id, amount, customer_id = con.execute("select id, amount, customer_id from customer_bill limit 1").fetchone()
        name = con.execute("select name from customer where id = ?", (customer_id,)).fetchone()[0]
        lines = con.execute("select description, amount from bill_line where bill_id = ?", (bill_id,)).fetchall()
    result = cli("invoice", quickstart.folder, bill_id, "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["@type"] == "CustomerBill" and doc["id"] == bill_id and doc["href"].endswith(f"/customerBill/{bill_id}")
    assert Decimal(str(doc["amountDue"]["value"])) == Decimal(amount)
    assert len(doc["appliedCustomerBillingRate"]) == len(lines)
    page = tmp_path / "invoice.html"
    assert cli("invoice", quickstart.folder, bill_id, "--out", page).returncode == 0
    text = page.read_text()
    assert name.replace("&", "&amp;").replace("'", "&#39;") in text and f"{amount} EUR" in text
    assert all(description in text for description, _ in lines)
    missing = cli("invoice", quickstart.folder, "BILL-999999")
    assert missing.returncode == 2 and "not found" in missing.stderr and "Traceback" not in missing.stderr
