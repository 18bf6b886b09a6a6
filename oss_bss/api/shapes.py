"""What the OpenAPI document says each operation takes and answers (JSON Schema).

The views build plain dicts (they are TMF resources, far larger than any one
schema here); these shapes state the contract every answer keeps, so a
client generator and a fuzzer (schemathesis, in the tests) can hold the API
to it: every resource has ``id``, ``href`` and ``@type``; every error is the
TMF ``Error``; request bodies are JSON objects with the fields the handler reads.
"""

from __future__ import annotations

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from oss_bss.errors import ValidationError

_STR = {"type": "string"}

RESOURCE = {"type": "object", "required": ["id", "href", "@type"],
            "properties": {"id": _STR, "href": _STR, "@type": _STR}}  # fmt: skip
ERROR = {"type": "object", "required": ["code", "reason", "message", "status", "@type"],
         "properties": {"code": _STR, "reason": _STR, "message": _STR, "status": _STR, "@type": {"const": "Error"}}}  # fmt: skip
SUBSCRIPTION = {"type": "object", "required": ["id", "callback", "query"],
                "properties": {"id": _STR, "callback": _STR, "query": _STR, "delivery": {"type": "object"}}}  # fmt: skip

_ERRORS = {400: "invalid request", 401: "no valid API key", 403: "not allowed for this key",
           404: "no such resource (or another customer's)", 413: "body too large"}  # fmt: skip


def answers(status: int, schema: dict | None, description: str = "done") -> dict:
    """The ``responses`` of an operation: its success (with ``schema``, if any) and the TMF errors."""
    ok = {"description": description}
    if schema is not None:
        ok["content"] = {"application/json": {"schema": schema}}
    errors = {code: {"description": text, "content": {"application/json": {"schema": ERROR}}}
              for code, text in _ERRORS.items()}  # fmt: skip
    return {status: ok, **errors}


def body(schema: dict) -> dict:
    """``openapi_extra`` declaring a JSON request body (the handler reads the raw JSON itself)."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


LIST = {"type": "array", "items": RESOURCE}
OBJECT = {"type": "object"}
_NAME = {"type": "string", "pattern": r"\S"}
_REF = {"type": "object", "required": ["id"], "properties": {"id": {"type": "string", "minLength": 1}}}
_BUNDLE = {"required": ["isBundle"], "properties": {"isBundle": {"const": True}}}
PRODUCT_ORDER_IN = {
    "type": "object", "required": ["productOrderItem", "relatedParty"],
    "properties": {
        "productOrderItem": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["productOffering"],
            "properties": {"action": {"enum": ["add"]}, "productOffering": _REF}}},
        "relatedParty": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["id"], "properties": {"id": {"type": "string", "minLength": 1}, "role": {"enum": ["Customer"]}}}},
        "billingAccount": _REF,
    },
}
CATALOG_IN = {
    "productSpecification": {"type": "object", "required": ["name"], "properties": {"name": _NAME}},
    "productOffering": {"type": "object", "required": ["name"], "properties": {"name": _NAME},
                        "anyOf": [{"required": ["productSpecification"], "properties": {"productSpecification": _REF}},
                                  _BUNDLE]},
    "productOfferingPrice": {"type": "object", "required": ["name"], "properties": {"name": _NAME},
                             "anyOf": [{"required": ["priceType"], "properties": {"priceType": _STR}}, _BUNDLE]},
}
CATALOG_PATCH = {"type": "object", "properties": {"name": _NAME},
                 "propertyNames": {"not": {"enum": ["id", "href", "@type", "lastUpdate"]}}}  # fmt: skip
HUB_IN = {"type": "object", "required": ["callback"], "properties": {"callback": {"type": "string", "format": "uri"}, "query": _STR}}


def check(body: dict, schema: dict) -> None:
    """Refuse ``body`` (ValidationError naming the field) unless it matches ``schema``."""
    error = best_match(Draft202012Validator(schema).iter_errors(body))
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path) or "body"
        raise ValidationError({where: error.message})
