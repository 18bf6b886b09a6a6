"""The customer's events as the steps of its journey: each named by its eTOM process, told in a sentence.

A step's process is its event type's in :data:`~sim.journey.etom.ETOM`, or its variant's where the
table names one: a work order is an installation or a repair, a suspension is at the customer's
request, for debt or for an exhausted prepaid balance (a resumption follows the reason of the
service's last suspension, so the events are taken in log order). Its sentence comes from
:data:`~sim.journey.sentences.SENTENCES`; its records are the ids of those it touched (its ``*_id``
fields, the customer's services it names, the link, node or alarmed object).
"""

from __future__ import annotations

from sim.journey.etom import stage_of
from sim.journey.records import Step
from sim.journey.sentences import SENTENCES, Context, own_services


# Fields naming a resource (not a record id) that a step touched.
_RESOURCE_FIELDS = ("link_id", "node", "alarmed_object", "root_object")


def _touched(event: dict, ctx: Context) -> tuple[str, ...]:
    """The ids of the records an event touched: its *_id fields, the customer's services it names, the resource."""
    out: list[str] = []
    for key, value in event.items():
        if key == "service_ids":
            out += own_services(ctx, value)
        elif (key.endswith("_id") or key in _RESOURCE_FIELDS) and isinstance(value, str):
            out.append(value)
    return tuple(dict.fromkeys(out))


def _variant(event: dict, ctx: Context) -> str | None:
    kind = event["type"]
    if kind.startswith("WorkOrder"):
        return "repair" if ctx.work_kind.get(event["work_order_id"]) == "repair" else None
    if kind in ("ServiceSuspended", "ServiceTerminated", "CustomerChurned"):
        return event.get("reason")
    if kind == "ServiceResumed":
        return ctx.suspended_for.get(event["service_id"])
    return None


def steps_of(events: list[dict], ctx: Context) -> tuple[Step, ...]:
    """The steps of ``events`` (the customer's, in log order)."""
    out = []
    for e in events:
        stage = stage_of(e["type"], _variant(e, ctx))
        out.append(Step(e["seq"], e["at"], e["time"], stage.process, stage.vertical, stage.layer, e["type"],
                          SENTENCES[e["type"]](e, ctx), _touched(e, ctx)))  # fmt: skip
        if e["type"] == "ServiceSuspended":
            ctx.suspended_for[e["service_id"]] = e["reason"]
    return tuple(out)
