"""TMF688 notifications: hubs per API, events to real HTTP listeners on loopback, retries while a listener is down."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient

from oss_bss import commands as c
from oss_bss.api.access import AccessKeys
from oss_bss.api.app import create_app
from tests.api.conftest import OPERATOR_KEY, READ_KEY, auth

ORDERS = "/tmf-api/productOrderingManagement/v4"
SERVICES = "/tmf-api/serviceInventoryManagement/v4"
ALARMS = "/tmf-api/alarmManagement/v4"
CATALOG = "/tmf-api/productCatalogManagement/v4"


class Listener:
    """A real HTTP listener on loopback that records what it is sent; ``fail`` answers that status N times first."""

    def __init__(self, port: int = 0, fail: int = 0, status: int = 503):
        self.received: list[dict] = []
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests += 1
                if outer.requests <= fail:
                    self.send_response(status)
                else:
                    outer.received.append(json.loads(body))
                    self.send_response(201)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/listener"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def types(self) -> list[str]:
        return [e["eventType"] for e in self.received]


@pytest.fixture
def listener():
    made = []

    def make(**kw) -> Listener:
        made.append(Listener(**kw))
        return made[-1]

    yield make
    for x in made:
        x.close()


@pytest.fixture(scope="module")
def app(operator):
    keys = AccessKeys(OPERATOR_KEY, READ_KEY, customers=lambda cid: cid in operator.records.customers)
    app = create_app(operator, keys, clock=lambda: 40 * 86_400.0,
                     notifier_options={"attempts": 6, "backoff": 0.05, "max_wait": 0.5, "timeout": 2.0})  # fmt: skip
    yield app
    app.state.notifier.close()


@pytest.fixture(scope="module")
def client(app):
    return TestClient(app)


@pytest.fixture(autouse=True)
def no_hubs_left(app):
    """Each test starts with no hub registered (a dead listener of one test would slow the next)."""
    yield
    app.state.notifier.close()


def register(client, base: str, callback: str, query: str = "", key: str = OPERATOR_KEY) -> dict:
    r = client.post(f"{base}/hub", headers=auth(key), json={"callback": callback, **({"query": query} if query else {})})
    assert r.status_code == 201, r.text
    return r.json()


def settle(app) -> None:
    assert app.state.notifier.join(timeout=20), "notifications still pending"


def test_an_order_placed_through_tmf622_is_notified_as_created_then_completed(app, client, operator, listener):
    orders, services = listener(), listener()
    hub = register(client, ORDERS, orders.url, "eventType=ProductOrderCreateEvent,ProductOrderStateChangeEvent")
    register(client, SERVICES, services.url)
    ada = next(iter(operator.records.customers))
    body = {"productOrderItem": [{"productOffering": {"id": "fibre"}}], "relatedParty": [{"id": ada, "role": "Customer"}]}
    order = client.post(f"{ORDERS}/productOrder", headers=auth(OPERATOR_KEY), json=body).json()
    work = next(w for w in operator.records.work_orders.values()
                if w.service_order_id == operator.records.product_orders[order["id"]].service_order_id)  # fmt: skip
    operator.bus.handle(c.CompleteWorkOrder(41 * 86_400.0, work.id))
    settle(app)
    mine = [e for e in orders.received if e["event"]["productOrder"]["id"] == order["id"]]
    assert [e["eventType"] for e in mine] == ["ProductOrderCreateEvent", "ProductOrderStateChangeEvent"]
    assert mine[0]["event"]["productOrder"]["@type"] == "ProductOrder"
    assert mine[1]["event"]["productOrder"]["state"] == "completed"
    assert mine[1]["eventTime"].startswith("2026-05-12")  # simulated time: 41 days after 1 April
    assert mine[0]["eventId"] != mine[1]["eventId"]
    created = [e for e in services.received if e["eventType"] == "ServiceCreateEvent"]
    assert created and created[-1]["event"]["service"]["state"] == "active"
    assert client.get(f"{ORDERS}/hub/{hub['id']}", headers=auth(OPERATOR_KEY)).json()["delivery"]["delivered"] == 2


def test_a_listener_that_is_down_gets_its_events_in_order_once_it_is_back(app, client, operator, listener):
    flaky = listener(fail=3, status=503)
    hub = register(client, ORDERS, flaky.url, "eventType=ProductOrderCreateEvent")
    ada = next(iter(operator.records.customers))
    ids = [operator.bus.handle(c.SubmitProductOrder(42 * 86_400.0, ada, "fibre")) for _ in range(3)]
    settle(app)
    assert [e["event"]["productOrder"]["id"] for e in flaky.received] == ids  # none lost, none reordered
    delivery = client.get(f"{ORDERS}/hub/{hub['id']}", headers=auth(OPERATOR_KEY)).json()["delivery"]
    assert delivery["retries"] == 3 and delivery["delivered"] == 3 and delivery["undelivered"] == 0
    assert "503" in delivery["lastError"]


def test_a_listener_not_yet_listening_is_retried_until_it_answers(app, client, operator, listener):
    with socket.socket() as s:  # a free port, with nobody on it yet
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    hub = register(client, ORDERS, f"http://127.0.0.1:{port}/listener", "eventType=ProductOrderCreateEvent")
    ada = next(iter(operator.records.customers))
    order = operator.bus.handle(c.SubmitProductOrder(43 * 86_400.0, ada, "fibre"))
    deadline = time.monotonic() + 10
    while client.get(f"{ORDERS}/hub/{hub['id']}", headers=auth(OPERATOR_KEY)).json()["delivery"]["retries"] == 0:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    late = listener(port=port)  # the listener comes up
    settle(app)
    assert [e["event"]["productOrder"]["id"] for e in late.received] == [order]
    assert "ConnectError" in client.get(f"{ORDERS}/hub/{hub['id']}", headers=auth(OPERATOR_KEY)).json()["delivery"]["lastError"]


def test_a_listener_down_for_good_is_given_up_after_the_attempts_and_the_next_event_is_tried(app, client, operator, listener):
    dead = listener(fail=10**6, status=500)
    hub = register(client, ORDERS, dead.url, "eventType=ProductOrderCreateEvent")
    ada = next(iter(operator.records.customers))
    operator.bus.handle(c.SubmitProductOrder(44 * 86_400.0, ada, "fibre"))
    operator.bus.handle(c.SubmitProductOrder(44 * 86_400.0, ada, "fibre"))
    settle(app)
    delivery = client.get(f"{ORDERS}/hub/{hub['id']}", headers=auth(OPERATOR_KEY)).json()["delivery"]
    assert delivery["undelivered"] == 2 and delivery["delivered"] == 0 and dead.requests == 12  # 6 attempts each


def test_a_refusal_is_not_retried(app, client, operator, listener):
    picky = listener(fail=1, status=400)
    hub = register(client, ORDERS, picky.url, "eventType=ProductOrderCreateEvent")
    operator.bus.handle(c.SubmitProductOrder(45 * 86_400.0, next(iter(operator.records.customers)), "fibre"))
    settle(app)
    delivery = client.get(f"{ORDERS}/hub/{hub['id']}", headers=auth(OPERATOR_KEY)).json()["delivery"]
    assert (delivery["refused"], delivery["retries"], picky.requests) == (1, 0, 1)


def test_a_customer_listener_hears_only_about_its_own_records(app, client, operator, listener):
    ada, bob = list(operator.records.customers)[:2]
    key = client.get(f"/keys/customer/{ada}", headers=auth(OPERATOR_KEY)).json()["key"]
    own, alarms = listener(), listener()
    hub = register(client, ORDERS, own.url, key=key)
    register(client, ALARMS, alarms.url, key=key)
    mine = operator.bus.handle(c.SubmitProductOrder(46 * 86_400.0, ada, "fibre"))
    operator.bus.handle(c.SubmitProductOrder(46 * 86_400.0, bob, "fibre"))
    operator.network.fail_link("a--gw", 46 * 86_400.0 + 60)  # an alarm: the operator's, not the customer's
    operator.network.repair_link("a--gw", 46 * 86_400.0 + 120)
    settle(app)
    assert {e["event"]["productOrder"]["relatedParty"][0]["id"] for e in own.received} == {ada}
    assert mine in {e["event"]["productOrder"]["id"] for e in own.received}
    assert alarms.received == []
    # the hub is the customer's: another customer cannot see or remove it, the operator can
    other = client.get(f"/keys/customer/{bob}", headers=auth(OPERATOR_KEY)).json()["key"]
    assert client.delete(f"{ORDERS}/hub/{hub['id']}", headers=auth(other)).status_code == 404
    assert client.get(f"{ORDERS}/hub/{hub['id']}", headers=auth(OPERATOR_KEY)).status_code == 200


def test_alarms_are_notified_as_raised_and_cleared(app, client, operator, listener):
    watcher = listener()
    register(client, ALARMS, watcher.url)
    operator.network.fail_link("b--gw", 47 * 86_400.0)
    operator.network.repair_link("b--gw", 47 * 86_400.0 + 600)
    settle(app)
    raised = [e for e in watcher.received if e["eventType"] == "AlarmCreateEvent"]
    cleared = [e for e in watcher.received if e["eventType"] == "AlarmStateChangeEvent"]
    assert raised and raised[0]["event"]["alarm"]["alarmedObject"]["id"] == "b--gw"
    assert any(e["event"]["alarm"]["state"] == "cleared" for e in cleared)


def test_a_removed_hub_gets_nothing_more(app, client, operator, listener):
    gone = listener()
    hub = register(client, ORDERS, gone.url)
    assert client.delete(f"{ORDERS}/hub/{hub['id']}", headers=auth(OPERATOR_KEY)).status_code == 204
    operator.bus.handle(c.SubmitProductOrder(48 * 86_400.0, next(iter(operator.records.customers)), "fibre"))
    settle(app)
    assert gone.received == []
    assert client.get(f"{ORDERS}/hub/{hub['id']}", headers=auth(OPERATOR_KEY)).status_code == 404
    assert client.delete(f"{ORDERS}/hub/{hub['id']}", headers=auth(OPERATOR_KEY)).status_code == 404


def test_catalog_changes_through_the_api_are_notified(app, client, listener):
    watcher = listener()
    register(client, CATALOG, watcher.url, "eventType=ProductSpecificationCreateEvent,ProductSpecificationDeleteEvent")
    made = client.post(f"{CATALOG}/productSpecification", headers=auth(OPERATOR_KEY), json={"name": "Router"}).json()
    client.patch(f"{CATALOG}/productSpecification/{made['id']}", headers=auth(OPERATOR_KEY), json={"name": "R2"})
    client.delete(f"{CATALOG}/productSpecification/{made['id']}", headers=auth(OPERATOR_KEY))
    settle(app)
    assert watcher.types() == ["ProductSpecificationCreateEvent", "ProductSpecificationDeleteEvent"]
    assert watcher.received[0]["event"]["productSpecification"]["id"] == made["id"]


@pytest.mark.parametrize(("body", "field"), [
    ({}, "callback"),
    ({"callback": "ftp://x/y"}, "callback"),
    ({"callback": "http://127.0.0.1:9/x", "query": "eventType=AlarmCreateEvent"}, "query"),
    ({"callback": "http://127.0.0.1:9/x", "query": "state=completed"}, "query"),
])  # fmt: skip
def test_a_bad_registration_is_a_400_naming_the_field(client, body, field):
    r = client.post(f"{ORDERS}/hub", headers=auth(OPERATOR_KEY), json=body)
    assert r.status_code == 400 and field in r.json()["message"], r.text
    assert client.post(f"{ORDERS}/hub", json={"callback": "http://127.0.0.1:9/x"}).status_code == 401
