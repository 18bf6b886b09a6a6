"""Property-based fuzzing of the served OpenAPI (schemathesis): no 5xx, answers as documented.

Every operation of ``/openapi.json`` gets generated requests (valid and
invalid path ids, query parameters and bodies) with the operator's key;
schemathesis's checks hold each answer to the document: not a server error,
a documented status, a documented content type, a body matching the
documented schema. Registering a hub is left out: a generated callback URL
could point off this machine (hubs have their own tests, on loopback).
"""

from __future__ import annotations

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from oss_bss.api.access import AccessKeys
from oss_bss.api.app import create_app
from tests.api.conftest import OPERATOR_KEY, READ_KEY, build_operator

# Built at import: schemathesis makes one test per operation when the module is collected.
# (Its from_fixture loader does not work with pytest 9.2.)
_operator = build_operator()
_keys = AccessKeys(OPERATOR_KEY, READ_KEY, customers=lambda cid: cid in _operator.records.customers)
APP = create_app(_operator, _keys, clock=lambda: 40 * 86_400.0)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP).exclude(method="POST", path_regex=r"/hub$")


@pytest.fixture(scope="module")
def fuzzed_app():
    return APP


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_operation_answers_a_server_error_or_off_its_schema(case):
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {OPERATOR_KEY}"}
    case.call_and_validate()


def test_malformed_and_oversized_bodies_get_a_4xx(fuzzed_app):
    client = TestClient(fuzzed_app)
    headers = {"Authorization": f"Bearer {OPERATOR_KEY}", "Content-Type": "application/json"}
    orders = "/tmf-api/productOrderingManagement/v4/productOrder"
    for bad in (b"{", b"[]", b'"x"', b"\xff\xfe", b'{"productOrderItem": "x"}', b'{"productOrderItem": [1]}'):
        r = client.post(orders, headers=headers, content=bad)
        assert r.status_code == 400 and r.json()["@type"] == "Error", (bad, r.text)
    r = client.post(orders, headers=headers, content=b"{" + b" " * 1_000_001 + b"}")
    assert r.status_code == 413 and r.json()["code"] == "payloadTooLarge"
    r = client.post(orders, headers={**headers, "Content-Length": "abc"}, content=b"{}")
    assert 400 <= r.status_code < 500
