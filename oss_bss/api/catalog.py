"""TMF620 Product Catalog Management: specifications, offerings and prices, as TMF resources.

Seeded from the operator's catalog: each offering becomes a
``ProductSpecification`` (what the network provides: bandwidth, protection,
SLA, as characteristics), a ``ProductOffering`` (what is sold, with its
lifecycle status) and one ``ProductOfferingPrice`` per price component and
version (recurring, one-time, usage tiers with their validity). Bundles are
offerings with ``isBundle``; promotions are discount prices. Resources
created through the API are kept beside them, and may be changed and deleted.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from oss_bss.catalog import Catalog
from oss_bss.errors import NotFound, ValidationError
from oss_bss.periods import Calendar

BASE = "/tmf-api/productCatalogManagement/v4"
KINDS = {"productSpecification": "ProductSpecification", "productOffering": "ProductOffering",
         "productOfferingPrice": "ProductOfferingPrice"}  # fmt: skip
READ_ONLY = {"id", "href", "@type", "lastUpdate"}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _money(value, unit: str) -> dict:
    return {"unit": unit, "value": float(value)}


class CatalogResources:
    """The TMF620 resources by kind and id."""

    def __init__(self, catalog: Catalog, calendar: Calendar, currency: str):
        self.items: dict[str, dict[str, dict]] = {kind: {} for kind in KINDS}
        when = calendar.isoformat(0.0)
        for o in catalog:
            spec_id = f"PS-{o.id}"
            chars = [{"name": "bandwidth", "valueType": "integer", "productSpecCharacteristicValue":
                      [{"value": o.bandwidth_bps, "unitOfMeasure": "bit/s"}]},
                     {"name": "protected", "valueType": "boolean", "productSpecCharacteristicValue": [{"value": o.protected}]}]  # fmt: skip
            if o.sla is not None:
                chars.append({"name": "sla", "valueType": "string",
                              "productSpecCharacteristicValue": [{"value": o.sla.name}]})  # fmt: skip
            self._put("productSpecification", {
                "id": spec_id, "name": o.name, "lifecycleStatus": o.lifecycle_status, "lastUpdate": when,
                "isBundle": False, "productSpecCharacteristic": chars,
            })  # fmt: skip
            prices = []
            for number, v in enumerate(o.prices.versions):
                valid = {"startDateTime": calendar.isoformat(max(v.valid_from, 0.0))}
                if number + 1 < len(o.prices.versions):
                    valid["endDateTime"] = calendar.isoformat(o.prices.versions[number + 1].valid_from)
                parts = [("recurring", "monthly", v.monthly, {"recurringChargePeriodType": "monthly",
                                                              "recurringChargePeriodLength": 1})]  # fmt: skip
                if v.one_time:
                    parts.append(("oneTime", "one-time", v.one_time, {}))
                for i, tier in enumerate(v.tiers):
                    extra = {"unitOfMeasure": {"amount": 1, "units": "GB"},
                             "tierFrom": {"amount": float(max(tier.from_gb, v.included_gb)), "units": "GB"}}  # fmt: skip
                    parts.append(("usage", f"usage tier {i + 1}", tier.price_per_gb, extra))
                if v.included_gb:
                    parts.append(("allowance", "included usage", 0, {"unitOfMeasure": {"amount": float(v.included_gb),
                                                                                     "units": "GB"}}))  # fmt: skip
                for kind, label, amount, extra in parts:
                    pop_id = f"POP-{o.id}-v{number + 1}-{label.replace(' ', '-')}"
                    self._put("productOfferingPrice", {
                        "id": pop_id, "name": f"{o.name}, {label}", "lifecycleStatus": o.lifecycle_status,
                        "lastUpdate": when, "isBundle": False, "priceType": kind, "validFor": valid,
                        "version": str(number + 1), "price": {"taxIncludedAmount": _money(amount, currency)}, **extra,
                    })  # fmt: skip
                    prices.append({"id": pop_id, "href": f"{BASE}/productOfferingPrice/{pop_id}", "name": label})
            self._put("productOffering", {
                "id": o.id, "name": o.name, "lifecycleStatus": o.lifecycle_status, "lastUpdate": when,
                "isBundle": False, "isSellable": o.orderable,
                "productSpecification": {"id": spec_id, "href": f"{BASE}/productSpecification/{spec_id}", "name": o.name},
                "productOfferingPrice": prices,
            })  # fmt: skip
        for b in catalog.bundles.values():
            members = [{"id": oid, "href": f"{BASE}/productOffering/{oid}"} for oid in b.offering_ids]
            self._put("productOffering", {
                "id": b.id, "name": b.name, "lifecycleStatus": "Launched", "lastUpdate": when, "isBundle": True,
                "bundledProductOffering": members,
                "bundledProductSpecification": [{"id": f"PS-{oid}", "href": f"{BASE}/productSpecification/PS-{oid}"}
                                                for oid in b.offering_ids],
                "productOfferingPrice": [{"id": f"POP-{b.id}-discount", "href": f"{BASE}/productOfferingPrice/POP-{b.id}-discount"}],
            })  # fmt: skip
            self._discount(f"POP-{b.id}-discount", f"{b.name}: {b.percent_off}% off", b.percent_off, when, None)
        for p in catalog.promotions:
            valid = {"startDateTime": calendar.isoformat(max(p.order_from, 0.0)) if p.order_from > float("-inf") else when}
            if p.order_until < float("inf"):
                valid["endDateTime"] = calendar.isoformat(p.order_until)
            self._discount(f"POP-{p.id}", f"{p.name}: {p.percent_off}% off", p.percent_off, when, valid)

    def _discount(self, pop_id: str, name: str, percent, when: str, valid) -> None:
        body = {"id": pop_id, "name": name, "lifecycleStatus": "Launched", "lastUpdate": when, "isBundle": False,
                "priceType": "discount", "percentage": float(percent)}  # fmt: skip
        if valid:
            body["validFor"] = valid
        self._put("productOfferingPrice", body)

    def _put(self, kind: str, body: dict) -> dict:
        resource = {"id": body["id"], "href": f"{BASE}/{kind}/{body['id']}", "@type": KINDS[kind], **body}
        self.items[kind][resource["id"]] = resource
        return resource

    # -- the API's verbs ------------------------------------------------

    def list(self, kind: str) -> list[dict]:
        return list(self.items[kind].values())

    def get(self, kind: str, ident: str) -> dict:
        try:
            return self.items[kind][ident]
        except KeyError:
            raise NotFound(KINDS[kind], ident) from None

    def create(self, kind: str, body: dict) -> dict:
        body = {k: v for k, v in body.items() if k not in READ_ONLY}
        errors = {}
        if not isinstance(body.get("name"), str) or not body["name"].strip():
            errors["name"] = "required: a non-empty string"
        if kind == "productOffering" and not body.get("isBundle") and not isinstance(body.get("productSpecification"), dict):
            errors["productSpecification"] = "required (a reference object) unless isBundle is true"
        if kind == "productOfferingPrice" and not body.get("isBundle") and not isinstance(body.get("priceType"), str):
            errors["priceType"] = "required unless isBundle is true"
        if errors:
            raise ValidationError(errors)
        body.setdefault("lifecycleStatus", "In study")
        body["id"], body["lastUpdate"] = str(uuid.uuid4()), _now()
        return self._put(kind, body)

    def patch(self, kind: str, ident: str, body: dict) -> dict:
        resource = self.get(kind, ident)
        bad = sorted(set(body) & READ_ONLY)
        if bad:
            raise ValidationError({k: "cannot be changed" for k in bad})
        if "name" in body and (not isinstance(body["name"], str) or not body["name"].strip()):
            raise ValidationError({"name": "a non-empty string"})
        resource.update(body)
        resource["lastUpdate"] = _now()
        return resource

    def delete(self, kind: str, ident: str) -> None:
        self.get(kind, ident)
        del self.items[kind][ident]
