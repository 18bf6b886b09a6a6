"""A finished run served read-only from its folder shows what the live run showed at its end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from oss_bss.adapters import sql
from oss_bss.api.access import AccessKeys
from oss_bss.api.app import create_app
from oss_bss.api.resources import APIS
from sim import runner
from sim.scenario import load_scenario
from sim.stored_run import NotARun, StoredRun
from tests.api.conftest import OPERATOR_KEY, READ_KEY, auth

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """fiber-cut-sla, smaller: alarms, incidents, tickets, SLA credits and bills; and the live operator at its end."""
    loaded = load_scenario(ROOT / "scenarios" / "fiber-cut-sla.yaml", overrides={"population.customers": 150})
    folder = tmp_path_factory.mktemp("served") / "run"
    live = []
    runner.run(loaded, folder, on_start=live.append)
    return folder, live[0]


def every(client: TestClient, path: str) -> list[dict]:
    items, offset = [], 0
    while True:
        r = client.get(f"{path}?offset={offset}&limit=1000", headers=auth(OPERATOR_KEY))
        assert r.status_code == 200, r.text
        items += r.json()
        if len(items) >= int(r.headers["X-Total-Count"]):
            return items
        offset = len(items)


def test_every_api_answers_the_same_for_the_stored_run_as_for_the_live_operator_at_its_end(finished):
    folder, operator = finished
    keys = AccessKeys(OPERATOR_KEY, READ_KEY, customers=lambda cid: cid in operator.records.customers)
    live = TestClient(create_app(operator, keys))
    stored = TestClient(create_app(StoredRun(folder), keys, read_only=True))
    for api in APIS:
        path = f"{api.base}/{api.resource}"
        a, b = every(live, path), every(stored, path)
        assert len(a) > 0 or api.resource == "usage", path
        if api.resource == "resource":  # nodes and links: no order of their own
            a, b = sorted(a, key=lambda x: x["id"]), sorted(b, key=lambda x: x["id"])
        assert a == b, path
    assert live.get("/tmf-api/productCatalogManagement/v4/productOffering", headers=auth(OPERATOR_KEY)).json() == \
        stored.get("/tmf-api/productCatalogManagement/v4/productOffering", headers=auth(OPERATOR_KEY)).json()
    state = stored.get("/dashboard/state", headers=auth(OPERATOR_KEY)).json()
    assert state["orders"] == live.get("/dashboard/state", headers=auth(OPERATOR_KEY)).json()["orders"]


def test_the_database_reads_back_column_for_column(finished):
    folder, operator = finished
    stored = sql.load(f"sqlite:///{folder / 'run.db'}")
    r, s = operator.records, stored.records
    pairs = [(sql.customer, r.customers.values(), s.customers.values()),
             (sql.service, r.services, s.services),
             (sql.customer_bill, r.bills.values(), s.bills.values()),
             (sql.bill_line, [x for b in r.bills.values() for x in b.lines], [x for b in s.bills.values() for x in b.lines]),
             (sql.alarm, operator.assurance.alarms, stored.alarms),
             (sql.incident, operator.assurance.incidents.values(), stored.incidents.values()),
             (sql.trouble_ticket, operator.assurance.tickets.values(), stored.tickets.values())]  # fmt: skip
    for table, a, b in pairs:
        assert sql._rows(table, a) == sql._rows(table, b), table.name


def test_a_stored_run_is_read_only_and_keeps_its_access_rules(finished):
    folder, operator = finished
    keys = AccessKeys(OPERATOR_KEY, READ_KEY, customers=lambda cid: cid in operator.records.customers)
    client = TestClient(create_app(StoredRun(folder), keys, read_only=True))
    body = {"productOrderItem": [{"productOffering": {"id": "home-100"}}],
            "relatedParty": [{"id": next(iter(operator.records.customers)), "role": "Customer"}]}  # fmt: skip
    r = client.post("/tmf-api/productOrderingManagement/v4/productOrder", headers=auth(OPERATOR_KEY), json=body)
    assert r.status_code == 403 and "read-only" in r.json()["message"]
    one, other = list(operator.records.customers)[:2]
    key = keys.customer_key(one)
    bills = client.get("/tmf-api/customerBillManagement/v4/customerBill", headers=auth(key)).json()
    assert bills and {b["relatedParty"][0]["id"] for b in bills} == {one}
    assert client.get(f"/tmf-api/customerManagement/v4/customer/{other}", headers=auth(key)).status_code == 404


def test_serve_rundir_serves_on_loopback_until_interrupted(finished, tmp_path):
    folder, operator = finished
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "TELCOLAB_OPERATOR_KEY": OPERATOR_KEY}
    proc = subprocess.Popen([sys.executable, str(ROOT / "run_scenario.py"), "serve", str(folder), "--port", str(port)],
                            env=env, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/tmf-api/customerManagement/v4/customer?limit=1",
                              headers=auth(OPERATOR_KEY))  # fmt: skip
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.poll() else "slow"
                time.sleep(0.2)
        assert r.status_code == 200 and r.headers["X-Total-Count"] == str(len(operator.records.customers))
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)


@pytest.mark.parametrize("part", ["summary.json", "scenario.yaml", "run.db"])
def test_a_folder_missing_a_part_is_named(finished, tmp_path, part):
    folder, _ = finished
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("summary.json", "scenario.yaml", "run.db"):
        if name != part:
            (copy / name).write_bytes((folder / name).read_bytes())
    with pytest.raises(NotARun, match=part.replace(".", r"\.")):
        StoredRun(copy)
    result = subprocess.run([sys.executable, str(ROOT / "run_scenario.py"), "serve", str(copy)],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 2 and str(copy) in result.stderr and "Traceback" not in result.stderr


def test_a_served_run_takes_orders_while_it_runs_and_turns_read_only_when_it_ends(tmp_path):
    import yaml

    data = yaml.safe_load((ROOT / "scenarios" / "quickstart.yaml").read_text())
    data.update(duration_days=0.5, name="tiny")
    data["population"]["customers"] = 40
    data["topology"]["file"] = str(ROOT / "scenarios" / "topologies" / "Abilene.graphml")
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(yaml.safe_dump(data))
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "TELCOLAB_OPERATOR_KEY": OPERATOR_KEY}
    proc = subprocess.Popen([sys.executable, str(ROOT / "run_scenario.py"), str(scenario), "--serve", "--port", str(port),
                             "--pace", "0.5", "-q", "--out", str(tmp_path / "run")],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    orders = f"{base}/tmf-api/productOrderingManagement/v4/productOrder"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                customers = httpx.get(f"{base}/tmf-api/customerManagement/v4/customer", headers=auth(OPERATOR_KEY)).json()
                if customers:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        body = {"productOrderItem": [{"productOffering": {"id": "fibre-100"}}], "relatedParty": [{"id": customers[0]["id"]}]}
        during = httpx.post(orders, headers=auth(OPERATOR_KEY), json=body)
        assert during.status_code == 201, during.text
        while not (tmp_path / "run" / "summary.json").exists():  # the run ends; the server goes on
            assert proc.poll() is None and time.monotonic() < deadline + 60
            time.sleep(0.2)
        time.sleep(0.5)
        after = httpx.post(orders, headers=auth(OPERATOR_KEY), json=body)
        assert after.status_code == 403 and "read-only" in after.json()["message"]
        got = httpx.get(f"{orders}/{during.json()['id']}", headers=auth(OPERATOR_KEY))
        assert got.status_code == 200 and proc.poll() is None
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
