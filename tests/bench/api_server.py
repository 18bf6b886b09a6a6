"""A server for the API benchmark, in its own process (so client and server do not share one interpreter).

``python -m tests.bench.api_server PORT telcolab`` orders and activates 5,000
customers on the quickstart's network and catalog, then serves that operator;
``... PORT bare`` serves a bare FastAPI application answering the same bytes
for the same two operations, the baseline. It prints ``ready`` when it listens.
"""

from __future__ import annotations

import sys
from pathlib import Path

import orjson
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import Response

from sim.scenario import load_scenario

KEY = "bench-operator-key"
ROOT = Path(__file__).resolve().parents[2]
CUSTOMERS = 5000


def telcolab_app():
    """The quickstart's network and catalog with 5,000 customers ordered and activated, served live."""
    from datetime import UTC, datetime

    from oss_bss import commands as c
    from oss_bss.api.access import AccessKeys
    from oss_bss.api.app import create_app
    from oss_bss.bus import MessageBus
    from oss_bss.operator import Operator
    from oss_bss.periods import Calendar
    from sim.network import SimulatedNetwork
    from sim.outputs import EventLog
    from sim.products import catalog_of
    from sim.topology import load_topology

    loaded = load_scenario(ROOT / "scenarios" / "quickstart.yaml")
    epoch = datetime(2026, 4, 1, tzinfo=UTC)
    bus = MessageBus(EventLog(None, Calendar(epoch)))  # events counted, not written
    network = SimulatedNetwork(load_topology(loaded, 1), publish=bus.handle)
    operator = Operator(bus, catalog_of(loaded.spec), network, epoch=epoch, currency="EUR")
    sites = sorted(network.topology_model.graph.nodes)
    for i in range(CUSTOMERS):
        cid = bus.handle(c.RegisterCustomer(float(i), f"Customer {i}", "residential", f"c{i}@example.org", "Road",
                                            sites[i % len(sites)]))  # fmt: skip
        bus.handle(c.SubmitProductOrder(float(i), cid, "fibre-100"))
    for work in list(operator.records.work_orders):
        bus.handle(c.CompleteWorkOrder(86_400.0, work))
    keys = AccessKeys(KEY, "bench-read-key", customers=lambda cid: cid in operator.records.customers)
    return create_app(operator, keys, clock=lambda: 2 * 86_400.0)


def bare_app(page: bytes, order: bytes):
    """The framework alone: the same answers as pre-made bytes, a JSON body parsed for the POST."""
    app = FastAPI()

    @app.get("/tmf-api/customerManagement/v4/customer")
    def listing():
        return Response(page, media_type="application/json", headers={"X-Total-Count": str(CUSTOMERS)})

    @app.post("/tmf-api/productOrderingManagement/v4/productOrder")
    async def post(request: Request):
        orjson.loads(await request.body())
        return Response(order, status_code=201, media_type="application/json")

    return app


if __name__ == "__main__":
    port, kind = int(sys.argv[1]), sys.argv[2]
    if kind == "bare":
        page, order = Path(sys.argv[3]).read_bytes(), Path(sys.argv[4]).read_bytes()
        app = bare_app(page, order)
    else:
        app = telcolab_app()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    print("ready", flush=True)  # uvicorn binds within milliseconds; the client retries until it answers
    server.run()
