"""The FastAPI application: TMF Open APIs v4 over one operator, with API keys.

``create_app(operator, keys)`` serves the operator's records live (it reads
the same objects the domains change; a lock shared with the run keeps a
request from reading half an update). Paths are
``/tmf-api/<apiName>/v4/<resource>``; collections take ``fields=``,
attribute filters, ``offset`` and ``limit`` and answer ``X-Total-Count``;
errors are the TMF ``Error`` shape; the OpenAPI document is at
``/openapi.json``.
"""

from __future__ import annotations

import threading
from contextlib import nullcontext

from fastapi import Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from oss_bss import commands as c
from oss_bss.api import dashboard, query, shapes
from oss_bss.api.access import AccessKeys, Caller
from oss_bss.api.catalog import BASE as CATALOG, KINDS, CatalogResources
from oss_bss.api.notifications import CATALOG_EVENTS, Notifier, event_types
from oss_bss.api.resources import APIS, Api
from oss_bss.api.shapes import CATALOG_IN, CATALOG_PATCH, HUB_IN, LIST, OBJECT, PRODUCT_ORDER_IN, RESOURCE, SUBSCRIPTION, answers, body
from oss_bss.errors import NotFound, TelcolabError, ValidationError

MAX_BODY = 1_000_000  # bytes; larger bodies get 413


class Forbidden(TelcolabError):
    status = 403
    code = "forbidden"

    def __init__(self, what: str):
        self._say(what, what)


class Unauthorized(TelcolabError):
    status = 401
    code = "unauthorized"

    def __init__(self):
        self._say("give a valid API key as 'Authorization: Bearer <key>'")


class Context:
    """What the views need: the operator's records, calendar and catalog."""

    def __init__(self, operator):
        self.operator = operator
        self.records, self.calendar, self.catalog = operator.records, operator.calendar, operator.catalog
        self.currency = operator.currency
        self._accounts: dict[str, list] = {}
        self._accounts_seen = -1

    def accounts_of(self, customer_id: str) -> list:
        """A customer's billing accounts (indexed again only when accounts were opened: they are never removed)."""
        accounts = self.records.accounts
        if len(accounts) != self._accounts_seen:
            index: dict[str, list] = {}
            for a in accounts.values():
                index.setdefault(a.customer_id, []).append(a)
            self._accounts, self._accounts_seen = index, len(accounts)
        return self._accounts.get(customer_id, [])


def create_app(operator, keys: AccessKeys | None = None, lock: threading.Lock | None = None,
               clock=None, read_only: bool = False, notifier_options: dict | None = None) -> FastAPI:  # fmt: skip
    """The API over ``operator``. ``clock()`` is the simulated time for commands (default: the last collection).

    Hubs (``POST``/``DELETE <api>/hub``) register listeners for the operator's
    events (see :mod:`oss_bss.api.notifications`); ``notifier_options`` tunes
    their delivery (attempts, backoff, max_wait, timeout). ``app.state.notifier``
    holds them.
    """
    keys = keys or AccessKeys(customers=lambda cid: cid in operator.records.customers)
    guard = lock or nullcontext()
    ctx = Context(operator)
    catalog = CatalogResources(operator.catalog, operator.calendar, operator.currency)
    now = clock or (lambda: operator.revenue.last_collection)
    app = FastAPI(title="telcolab TMF Open APIs", version="4.0.0",
                  description="TM Forum Open APIs (v4) over the embedded OSS/BSS of a telcolab run.")  # fmt: skip
    app.state.keys, app.state.catalog = keys, catalog
    by_resource = {api.resource: api for api in APIS}

    def render_for_event(resource: str, ident: str):
        api = by_resource[resource]
        record = api.find(operator, ident)
        return None if record is None else (render(api, record), api.owner(record))

    bases = {api.resource: api.base for api in APIS} | {kind: CATALOG for kind in KINDS}
    notifier = Notifier(render_for_event, ctx.calendar.isoformat, bases, **(notifier_options or {}))
    app.state.notifier = notifier
    bus = getattr(operator, "bus", None)
    if bus is not None:  # a live operator: its events reach the hubs
        bus.add_log(notifier.on_event)
    hub_types = {api.base: event_types(api.resource) for api in APIS}
    hub_types[CATALOG] = {f"{name}{suffix}" for name in KINDS.values() for suffix in CATALOG_EVENTS}

    @app.middleware("http")
    async def limit_body(request: Request, call_next):
        size = request.headers.get("content-length")
        if size is not None and (not size.isdigit() or int(size) > MAX_BODY):
            return JSONResponse(query.error(413, "payloadTooLarge", f"bodies are limited to {MAX_BODY} bytes"), 413)
        return await call_next(request)

    @app.exception_handler(TelcolabError)
    async def tmf_error(request: Request, exc: TelcolabError):
        return JSONResponse(query.error(exc.status, exc.code, exc.reason, str(exc)), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(x) for x in first.get("loc", ()))
        return JSONResponse(query.error(400, "badRequest", "ValidationError", f"{where}: {first.get('msg', 'invalid')}"), 400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:  # Allow: every method of every route on this path, not just the first route's
            methods = set()
            for route in app.router.routes:
                if isinstance(route, APIRoute) and route.matches(request.scope)[0] == Match.PARTIAL:
                    methods |= route.methods
            headers = {"Allow": ", ".join(sorted(methods))}
        return JSONResponse(query.error(exc.status_code, "error", str(exc.detail)), status_code=exc.status_code,
                            headers=headers)  # fmt: skip

    def caller(authorization: str | None = Header(default=None)) -> Caller:
        who = keys.caller(authorization)
        if who is None:
            raise Unauthorized()
        return who

    app.state.read_only = read_only  # a served run turns it on when the run ends

    def writer(who: Caller) -> None:
        if app.state.read_only:
            raise Forbidden("a finished run is served read-only")
        if not who.can_write:
            raise Forbidden("this key may only read")

    async def body_of(request: Request, schema: dict | None = None) -> dict:
        """The JSON body, checked against the schema the OpenAPI document gives for it."""
        try:
            body = await request.json()
        except ValueError:
            raise ValidationError({"body": "must be a JSON object"}) from None
        if not isinstance(body, dict):
            raise ValidationError({"body": "must be a JSON object"})
        if schema is not None:
            shapes.check(body, schema)
        return body

    def listing(items: list[dict], request: Request) -> Response:
        page, total = query.select(items, dict(request.query_params))
        return JSONResponse(page, headers={"X-Total-Count": str(total)})

    # -- TMF620: the catalog -------------------------------------------------

    for kind in KINDS:
        def routes(kind=kind):
            @app.get(f"{CATALOG}/{kind}", tags=["TMF620"], name=f"list {kind}", responses=answers(200, LIST))
            def list_(request: Request, who: Caller = Depends(caller)):
                with guard:
                    return listing(catalog.list(kind), request)

            @app.get(f"{CATALOG}/{kind}/{{ident}}", tags=["TMF620"], name=f"get {kind}", responses=answers(200, RESOURCE))
            def get_(ident: str, request: Request, who: Caller = Depends(caller)):
                with guard:
                    return query.trim(catalog.get(kind, ident), dict(request.query_params))

            @app.post(f"{CATALOG}/{kind}", tags=["TMF620"], status_code=201, name=f"create {kind}",
                      responses=answers(201, RESOURCE), openapi_extra=body(CATALOG_IN[kind]))  # fmt: skip
            async def create_(request: Request, who: Caller = Depends(caller)):
                if who.role != "operator":
                    raise Forbidden("only the operator changes the catalog")
                writer(who)
                body = await body_of(request, CATALOG_IN[kind])
                with guard:
                    made = catalog.create(kind, body)
                    notifier.publish(kind, f"{KINDS[kind]}CreateEvent", made, None, None)
                    return JSONResponse(made, status_code=201)

            @app.patch(f"{CATALOG}/{kind}/{{ident}}", tags=["TMF620"], name=f"patch {kind}",
                       responses=answers(200, RESOURCE), openapi_extra=body(CATALOG_PATCH))  # fmt: skip
            async def patch_(ident: str, request: Request, who: Caller = Depends(caller)):
                if who.role != "operator":
                    raise Forbidden("only the operator changes the catalog")
                writer(who)
                body = await body_of(request, CATALOG_PATCH)
                with guard:
                    changed = catalog.patch(kind, ident, body)
                    notifier.publish(kind, f"{KINDS[kind]}AttributeValueChangeEvent", changed, None, None)
                    return changed

            @app.delete(f"{CATALOG}/{kind}/{{ident}}", tags=["TMF620"], status_code=204, name=f"delete {kind}",
                        responses=answers(204, None))  # fmt: skip
            def delete_(ident: str, who: Caller = Depends(caller)):
                if who.role != "operator":
                    raise Forbidden("only the operator changes the catalog")
                writer(who)
                with guard:
                    gone = catalog.get(kind, ident)
                    catalog.delete(kind, ident)
                    notifier.publish(kind, f"{KINDS[kind]}DeleteEvent", gone, None, None)
                return Response(status_code=204)

        routes()

    # -- the operator's records ---------------------------------------------

    def render(api: Api, record) -> dict:
        ident = api.ident(record)
        body = {k: v for k, v in api.view(record, ctx).items() if v is not None}
        return {"id": ident, "href": api.href(ident), "@type": api.kind, **body}

    def find(api: Api, ident: str, who: Caller):
        record = api.find(operator, ident)
        if record is None or not who.sees(api.owner(record)):  # another customer's: as if it did not exist
            raise NotFound(api.kind, ident)
        return record

    for api in APIS:
        def read_routes(api=api):
            @app.get(f"{api.base}/{api.resource}", tags=[api.name], name=f"list {api.resource}", responses=answers(200, LIST))
            def list_(request: Request, who: Caller = Depends(caller)):
                params = dict(request.query_params)
                with guard:
                    records = [r for r in api.records(operator) if who.sees(api.owner(r))]
                    if query.filters(params):  # a filter reads the rendered resources
                        page, total = query.select([render(api, r) for r in records], params)
                    else:  # render only the page asked for
                        page, total = query.select([render(api, r) for r in query.window(records, params)], params,
                                                   total=len(records), paged=True)  # fmt: skip
                return JSONResponse(page, headers={"X-Total-Count": str(total)})

            @app.get(f"{api.base}/{api.resource}/{{ident}}", tags=[api.name], name=f"get {api.resource}",
                     responses=answers(200, RESOURCE))  # fmt: skip
            def get_(ident: str, request: Request, who: Caller = Depends(caller)):
                with guard:
                    return query.trim(render(api, find(api, ident, who)), dict(request.query_params))

        read_routes()

    orders = next(a for a in APIS if a.resource == "productOrder")

    @app.post(f"{orders.base}/productOrder", tags=["TMF622"], status_code=201, responses=answers(201, RESOURCE),
              openapi_extra=body(PRODUCT_ORDER_IN))  # fmt: skip
    async def place_order(request: Request, who: Caller = Depends(caller)):
        """A product order enters the same order-to-activate flow as a simulated customer's."""
        writer(who)
        body = await body_of(request, PRODUCT_ORDER_IN)
        parties = [p for p in body.get("relatedParty") or [] if isinstance(p, dict) and p.get("role", "Customer") == "Customer"]
        customer_id = parties[0].get("id") if parties else who.customer_id
        if not customer_id:
            raise ValidationError({"relatedParty": "name the customer (role Customer)"})
        if not who.sees(customer_id):
            raise NotFound("Customer", customer_id)
        items = body.get("productOrderItem")
        if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
            raise ValidationError({"productOrderItem": "give at least one item with a productOffering"})
        created = []
        with guard:
            if customer_id not in operator.records.customers:
                raise NotFound("Customer", customer_id)
            for item in items:
                if item.get("action", "add") != "add":
                    raise ValidationError({"productOrderItem.action": "only 'add' is taken here; change services through TMF638"})
                offering = (item.get("productOffering") or {}).get("id")
                if not isinstance(offering, str):
                    raise ValidationError({"productOrderItem.productOffering.id": "required"})
                account = (body.get("billingAccount") or {}).get("id")
                created.append(operator.bus.handle(c.SubmitProductOrder(now(), customer_id, offering, None, account)))
            first = operator.records.product_orders[created[0]]
            return JSONResponse(render(orders, first), status_code=201)

    # -- TMF688 hubs: one per API ------------------------------------------

    for base, allowed in hub_types.items():
        def hub_routes(base=base, allowed=allowed):
            tag = "TMF620" if base == CATALOG else next(a.name for a in APIS if a.base == base)

            @app.post(f"{base}/hub", tags=[tag, "TMF688"], status_code=201, name=f"register listener {base}",
                      responses=answers(201, SUBSCRIPTION), openapi_extra=body(HUB_IN))  # fmt: skip
            async def register(request: Request, who: Caller = Depends(caller)):
                """Register a listener (``callback``, optional ``query`` such as ``eventType=...``)."""
                body = await body_of(request, HUB_IN)
                listener = notifier.subscribe(base, body, who, allowed)
                return JSONResponse(listener.view(), status_code=201)

            @app.get(f"{base}/hub/{{ident}}", tags=[tag, "TMF688"], name=f"get listener {base}",
                     responses=answers(200, SUBSCRIPTION))  # fmt: skip
            def get_hub(ident: str, who: Caller = Depends(caller)):
                """A listener, with how delivery to it has gone."""
                return notifier.get(base, ident, who).view()

            @app.delete(f"{base}/hub/{{ident}}", tags=[tag, "TMF688"], status_code=204, name=f"remove listener {base}",
                        responses=answers(204, None))  # fmt: skip
            def unregister(ident: str, who: Caller = Depends(caller)):
                notifier.unsubscribe(base, ident, who)
                return Response(status_code=204)

        hub_routes()

    @app.get("/", include_in_schema=False)
    def page():
        """The live dashboard (it asks for its data with the key given as ``?key=``)."""
        return HTMLResponse(dashboard.PAGE)

    @app.get("/dashboard/state", tags=["dashboard"], responses=answers(200, OBJECT))
    def dashboard_state(who: Caller = Depends(caller)):
        if who.role == "customer":
            raise Forbidden("the dashboard is the operator's")
        with guard:
            return dashboard.state(operator)

    @app.get("/keys/customer/{customer_id}", tags=["access"], responses=answers(200, OBJECT))
    def customer_key(customer_id: str, who: Caller = Depends(caller)):
        """The API key of a customer (operator only), to hand to that customer."""
        if who.role != "operator":
            raise Forbidden("only the operator hands out keys")
        if customer_id not in operator.records.customers:
            raise NotFound("Customer", customer_id)
        return {"customerId": customer_id, "key": keys.customer_key(customer_id)}

    return app
