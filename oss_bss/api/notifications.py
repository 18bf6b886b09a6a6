"""TMF688-style event notifications: hubs per API, and delivery with retries.

A client registers a listener with ``POST <api>/hub`` (TMF630's
``EventSubscriptionInput``: ``callback`` and an optional ``query`` such as
``eventType=ProductOrderStateChangeEvent``) and removes it with ``DELETE
<api>/hub/{id}``. Each operator event the API covers (a product order
created or changing state, a service activated, an alarm raised...) becomes
a TMF event (``eventId``, ``eventTime``, ``eventType``, ``event: {<resource>:
{...}}``) holding the resource as the API shows it at that moment, and is
POSTed to every listener that asked for it and may see it (a customer's
listener hears only about that customer's records).

Delivery never holds up the run: each listener has its own queue and
thread, so events reach it in order and a slow or dead listener delays only
itself. A failed POST (no connection, a timeout, a 5xx or 429 answer) is
retried with exponential back-off (tenacity) up to ``attempts`` times; then
the event is counted as undelivered and the next one is tried. A 4xx answer
is the listener refusing the event: it is not retried.
"""

from __future__ import annotations

import queue
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import httpx
import orjson
import tenacity

from oss_bss.api.access import Caller
from oss_bss.errors import NotFound, ValidationError

# bus event type -> [(API resource, TMF event type, the event's field naming the record)]
ROUTES: dict[str, list[tuple[str, str, str]]] = {
    "CustomerRegistered": [("customer", "CustomerCreateEvent", "customer_id")],
    "CustomerChurned": [("customer", "CustomerStateChangeEvent", "customer_id")],
    "ProductOrderSubmitted": [("productOrder", "ProductOrderCreateEvent", "order_id")],
    **{t: [("productOrder", "ProductOrderStateChangeEvent", "order_id")]
       for t in ("ProductOrderCompleted", "ProductOrderFailed", "ProductOrderHeld", "ProductOrderCancelled")},
    "ServiceOrderCreated": [("serviceOrder", "ServiceOrderCreateEvent", "service_order_id")],
    "ServiceOrderFailed": [("serviceOrder", "ServiceOrderStateChangeEvent", "service_order_id")],
    "ServiceActivated": [("serviceOrder", "ServiceOrderStateChangeEvent", "service_order_id"),
                         ("service", "ServiceCreateEvent", "service_id")],
    **{t: [("service", "ServiceStateChangeEvent", "service_id")]
       for t in ("ServiceStateChanged", "ServiceSuspended", "ServiceResumed", "ServiceTerminated")},
    **{t: [("service", "ServiceAttributeValueChangeEvent", "service_id")]
       for t in ("ServiceModified", "ServiceMoved", "ServiceRerouted")},
    "AlarmRaised": [("alarm", "AlarmCreateEvent", "alarm_id")],
    "AlarmCleared": [("alarm", "AlarmStateChangeEvent", "alarm_id")],
    "AlarmAcknowledged": [("alarm", "AlarmStateChangeEvent", "alarm_id")],
    "TroubleTicketCreated": [("troubleTicket", "TroubleTicketCreateEvent", "ticket_id")],
    "TroubleTicketStateChanged": [("troubleTicket", "TroubleTicketStatusChangeEvent", "ticket_id")],
    "CustomerBillIssued": [("customerBill", "CustomerBillCreateEvent", "bill_id")],
    "CustomerBillSettled": [("customerBill", "CustomerBillStateChangeEvent", "bill_id")],
}  # fmt: skip

# TMF620 changes made through the API itself.
CATALOG_EVENTS = ("CreateEvent", "AttributeValueChangeEvent", "DeleteEvent")


def event_types(resource: str) -> set[str]:
    """The TMF event types of ``resource``'s records that operator events give."""
    return {tmf for routes in ROUTES.values() for res, tmf, _ in routes if res == resource}


def parse_query(query: str, allowed: set[str]) -> frozenset[str]:
    """The event types a subscription's ``query`` selects (empty: all of them)."""
    if not query.strip():
        return frozenset()
    params = parse_qs(query.replace(" ", ""), keep_blank_values=True)
    unknown = set(params) - {"eventType"}
    if unknown:
        raise ValidationError({"query": f"only eventType=... filters are taken, not {', '.join(sorted(unknown))}"})
    wanted = {t for value in params["eventType"] for t in value.split(",") if t}
    if bad := sorted(wanted - allowed):
        raise ValidationError({"query": f"unknown event type {bad[0]!r}; this API sends {', '.join(sorted(allowed))}"})
    return frozenset(wanted)


class Undelivered(Exception):
    """A listener answered with a status worth retrying (5xx, 429, 408)."""


@dataclass
class Listener:
    """One registered hub: where to POST, what to send, and how delivery went."""

    id: str
    api: str  # the API's base path, e.g. /tmf-api/productOrderingManagement/v4
    callback: str
    query: str
    types: frozenset[str]
    caller: Caller
    delivered: int = 0
    retries: int = 0
    undelivered: int = 0
    refused: int = 0  # 4xx answers: the listener does not want it
    last_error: str | None = None
    _queue: queue.Queue = field(default_factory=queue.Queue, repr=False)
    _closed: bool = False

    def view(self) -> dict:
        return {"id": self.id, "callback": self.callback, "query": self.query,
                "delivery": {"delivered": self.delivered, "retries": self.retries, "undelivered": self.undelivered,
                             "refused": self.refused, "pending": self._queue.unfinished_tasks,
                             "lastError": self.last_error}}  # fmt: skip


class Notifier:
    """The hubs of every API of one operator, and the threads delivering their events.

    ``render(resource, record_id)`` gives ``(resource dict, owner customer id)``
    for the record an event names, or None if it is not (or no longer) there;
    ``bases`` maps each resource to its API's base path (where its hub is).
    """

    def __init__(self, render: Callable[[str, str], tuple[dict, str | None] | None], clock: Callable[[float], str],
                 bases: dict[str, str], *, attempts: int = 5, backoff: float = 0.2, max_wait: float = 5.0, timeout: float = 5.0):  # fmt: skip
        self.render, self.clock, self.bases = render, clock, bases
        self.attempts, self.backoff, self.max_wait, self.timeout = attempts, backoff, max_wait, timeout
        self.listeners: dict[str, Listener] = {}
        self._by_api: dict[str, list[Listener]] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._seq = 0
        self._guard = threading.Lock()

    # -- hubs -----------------------------------------------------------

    def subscribe(self, api: str, body: dict, caller: Caller, allowed: set[str]) -> Listener:
        callback = body.get("callback")
        if not isinstance(callback, str) or not callback:
            raise ValidationError({"callback": "required: the listener's URL"})
        parts = urlsplit(callback)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValidationError({"callback": f"{callback!r} is not an http(s) URL"})
        query = body.get("query") or ""
        if not isinstance(query, str):
            raise ValidationError({"query": "must be a string such as eventType=...CreateEvent"})
        listener = Listener(uuid.uuid4().hex[:16], api, callback, query, parse_query(query, allowed), caller)
        thread = threading.Thread(target=self._deliver_all, args=(listener,), name=f"hub-{listener.id}", daemon=True)
        with self._guard:
            self.listeners[listener.id] = listener
            self._by_api.setdefault(api, []).append(listener)
            self._threads[listener.id] = thread
        thread.start()
        return listener

    def get(self, api: str, ident: str, caller: Caller) -> Listener:
        listener = self.listeners.get(ident)
        if listener is None or listener.api != api or not _same(listener.caller, caller):
            raise NotFound("EventSubscription", ident)
        return listener

    def unsubscribe(self, api: str, ident: str, caller: Caller) -> None:
        """Remove the hub; events not yet sent to it are dropped."""
        listener = self.get(api, ident, caller)
        with self._guard:
            del self.listeners[ident]
            self._by_api[api].remove(listener)
            thread = self._threads.pop(ident)
        listener._closed = True
        listener._queue.put(None)
        thread.join(timeout=0.1)

    # -- events ---------------------------------------------------------

    @property
    def active(self) -> bool:
        return bool(self.listeners)

    def on_event(self, event) -> None:
        """A bus log: turn an operator event into TMF events for the listeners that want them."""
        if not self.listeners:
            return
        routes = ROUTES.get(type(event).__name__)
        if routes is None:
            return
        for resource, tmf_type, id_field in routes:
            listeners = self._wanting(resource, tmf_type)
            if not listeners:
                continue
            found = self.render(resource, getattr(event, id_field))
            if found is None:
                continue
            body, owner = found
            self.publish(resource, tmf_type, body, owner, event.at, listeners)

    def publish(self, resource: str, tmf_type: str, body: dict, owner: str | None, at: float | None,
                listeners: list[Listener] | None = None) -> None:  # fmt: skip
        """Queue one TMF event for ``listeners`` (default: every hub of ``resource`` asking for it)."""
        if listeners is None:
            listeners = self._wanting(resource, tmf_type)
        listeners = [x for x in listeners if x.caller.sees(owner)]
        if not listeners:
            return
        with self._guard:
            self._seq += 1
            seq = self._seq
        when = self.clock(at) if at is not None else None
        payload = orjson.dumps({
            "eventId": f"EVT-{seq:09d}", "eventTime": when, "timeOcurred": when, "eventType": tmf_type,
            "correlationId": body.get("id"), "domain": resource, "title": tmf_type,
            "description": f"{tmf_type} for {body.get('@type', resource)} {body.get('id')}",
            "event": {resource: body},
        })  # fmt: skip
        for listener in listeners:
            listener._queue.put(payload)

    def _wanting(self, resource: str, tmf_type: str) -> list[Listener]:
        return [x for x in self._by_api.get(self.bases[resource], ()) if not x.types or tmf_type in x.types]

    def join(self, timeout: float = 10.0) -> bool:
        """Wait until every queued event has been delivered or given up; False on timeout."""
        import time

        deadline = time.monotonic() + timeout
        while any(x._queue.unfinished_tasks for x in list(self.listeners.values())):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def close(self) -> None:
        for ident in list(self.listeners):
            listener = self.listeners[ident]
            self.unsubscribe(listener.api, ident, listener.caller)

    # -- delivery (one thread per listener) --------------------------------

    def _deliver_all(self, listener: Listener) -> None:
        with httpx.Client(timeout=self.timeout) as client:
            while True:
                payload = listener._queue.get()
                try:
                    if payload is None or listener._closed:
                        if payload is None:
                            return
                        continue
                    self._deliver(client, listener, payload)
                finally:
                    listener._queue.task_done()

    def _deliver(self, client: httpx.Client, listener: Listener, payload: bytes) -> None:
        def note_retry(state: tenacity.RetryCallState) -> None:
            listener.retries += 1
            listener.last_error = _describe(state.outcome.exception())

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.attempts) | tenacity.stop_when_event_set(_Closed(listener)),
            wait=tenacity.wait_exponential(multiplier=self.backoff, max=self.max_wait),
            retry=tenacity.retry_if_exception_type((httpx.TransportError, Undelivered)),
            before_sleep=note_retry, reraise=True,
        )  # fmt: skip
        try:
            for attempt in retrying:
                with attempt:
                    answer = client.post(listener.callback, content=payload,
                                         headers={"Content-Type": "application/json"})  # fmt: skip
                    if answer.status_code >= 500 or answer.status_code in (408, 429):
                        raise Undelivered(f"{answer.status_code} from {listener.callback}")
            if answer.status_code >= 400:
                listener.refused += 1
                listener.last_error = f"{answer.status_code} from {listener.callback}"
            else:
                listener.delivered += 1
        except (httpx.HTTPError, Undelivered) as exc:
            listener.undelivered += 1
            listener.last_error = _describe(exc)


class _Closed:
    """Looks like a threading.Event to tenacity: set once the hub is removed (stop retrying)."""

    def __init__(self, listener: Listener):
        self.listener = listener

    def is_set(self) -> bool:
        return self.listener._closed


def _same(owner: Caller, caller: Caller) -> bool:
    """A hub is seen and removed by whoever registered it, and by the operator."""
    return owner == caller or caller.role == "operator"


def _describe(exc: BaseException | None) -> str:
    return f"{type(exc).__name__}: {exc}" if exc is not None else "unknown"
