"""The TMF APIs on loopback: requests per second and latency percentiles (``make bench``).

The server runs in its own process (uvicorn, one worker); the client sends
requests one after another over one keep-alive connection (httpx). Each
operation is measured beside a bare FastAPI application in the same kind of
process answering the same bytes, so the ratio is telcolab's own cost: key
check, lock, rendering the operator's records as TMF resources, paging; and
for the POST, the order entering order-to-activate.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx
import numpy as np
import pytest

from tests.bench.api_server import KEY, ROOT
from tests.bench.conftest import RESULTS

pytestmark = pytest.mark.bench

REQUESTS = 300
LIST = "/tmf-api/customerManagement/v4/customer?offset=1000&limit=100"
ORDER = "/tmf-api/productOrderingManagement/v4/productOrder"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    def __init__(self, *args: str):
        self.port = _port()
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.bench.api_server", str(self.port), *args],
                                     cwd=ROOT, stdout=subprocess.PIPE, text=True)  # fmt: skip
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", headers={"Authorization": f"Bearer {KEY}"})
        deadline = time.monotonic() + 180
        while True:
            try:
                self.client.get("/openapi.json")
                return
            except httpx.TransportError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the benchmark server did not start") from None
                time.sleep(0.1)

    def close(self) -> None:
        self.client.close()
        self.proc.terminate()
        self.proc.wait(timeout=20)


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    ours = Served("telcolab")
    customer = ours.client.get("/tmf-api/customerManagement/v4/customer?limit=1").json()[0]["id"]
    body = {"productOrderItem": [{"productOffering": {"id": "fibre-100"}}], "relatedParty": [{"id": customer}]}
    page = ours.client.get(LIST).content
    order = ours.client.post(ORDER, json=body).content
    folder = tmp_path_factory.mktemp("bare")
    (folder / "page.json").write_bytes(page)
    (folder / "order.json").write_bytes(order)
    bare = Served("bare", str(folder / "page.json"), str(folder / "order.json"))
    yield ours, bare, body
    ours.close()
    bare.close()


def _load(served: Served, method: str, path: str, body: dict | None, latencies: list):
    def run():
        latencies.clear()
        for _ in range(REQUESTS):
            started = time.perf_counter()
            r = served.client.request(method, path, json=body)
            latencies.append(time.perf_counter() - started)
            assert r.status_code in (200, 201), r.text
    return run


def _note(name: str, latencies: list) -> None:
    p50, p99 = np.percentile(latencies, [50, 99]) * 1000
    RESULTS[name]["note"] = f"p50 {p50:.2f} ms, p99 {p99:.2f} ms"


@pytest.mark.parametrize("kind", ["bare", "telcolab"])
def test_collection_get(measure, servers, kind):
    """GET a page of 100 customers (of 5,000) with X-Total-Count."""
    ours, bare, _ = servers
    latencies: list[float] = []
    name = f"api: GET customer page ({kind})"
    measure(name, _load(ours if kind == "telcolab" else bare, "GET", LIST, None, latencies), items=REQUESTS,
            baseline=None if kind == "bare" else "api: GET customer page (bare)", rounds=3)  # fmt: skip
    if name in RESULTS:
        _note(name, latencies)
    assert len(latencies) == REQUESTS


@pytest.mark.parametrize("kind", ["bare", "telcolab"])
def test_tmf622_post(measure, servers, kind):
    """POST a product order: it is acknowledged, its service designed and its installation booked."""
    ours, bare, body = servers
    latencies: list[float] = []
    name = f"api: POST productOrder ({kind})"
    measure(name, _load(ours if kind == "telcolab" else bare, "POST", ORDER, body, latencies), items=REQUESTS,
            baseline=None if kind == "bare" else "api: POST productOrder (bare)", rounds=3)  # fmt: skip
    if name in RESULTS:
        _note(name, latencies)
    assert len(latencies) == REQUESTS
