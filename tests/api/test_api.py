"""The TMF APIs over a real operator: shapes, collections, errors and access control."""

from __future__ import annotations

import pytest

from oss_bss.api.resources import APIS
from tests.api.conftest import OPERATOR_KEY, READ_KEY, auth

CATALOG = "/tmf-api/productCatalogManagement/v4"
PATHS = [f"{api.base}/{api.resource}" for api in APIS]


@pytest.mark.parametrize("path", PATHS + [f"{CATALOG}/productOffering"])
def test_every_collection_answers_with_tmf_resources_and_a_total(client, path):
    r = client.get(path, headers=auth(OPERATOR_KEY))
    assert r.status_code == 200, r.text
    items = r.json()
    assert int(r.headers["X-Total-Count"]) == len(items) > 0
    for item in items:
        assert isinstance(item["id"], str) and item["href"].endswith(item["id"]) and item["@type"]
        assert client.get(item["href"], headers=auth(OPERATOR_KEY)).json()["id"] == item["id"]


def test_fields_filters_and_paging(client):
    headers = auth(OPERATOR_KEY)
    everyone = client.get("/tmf-api/customerManagement/v4/customer", headers=headers).json()
    r = client.get("/tmf-api/customerManagement/v4/customer?fields=name", headers=headers)
    assert [set(x) for x in r.json()] == [{"id", "href", "@type", "name"}] * len(everyone)
    r = client.get("/tmf-api/customerManagement/v4/customer?name=Bob", headers=headers)
    assert [x["name"] for x in r.json()] == ["Bob"]
    r = client.get("/tmf-api/customerManagement/v4/customer?offset=1&limit=1", headers=headers)
    assert len(r.json()) == 1 and r.headers["X-Total-Count"] == str(len(everyone))
    assert client.get("/tmf-api/customerManagement/v4/customer?limit=x", headers=headers).status_code == 400
    services = client.get("/tmf-api/serviceInventoryManagement/v4/service?state=active", headers=headers).json()
    assert len(services) == 3


def test_errors_have_the_tmf_shape(client):
    r = client.get("/tmf-api/customerManagement/v4/customer/CUS-999999", headers=auth(OPERATOR_KEY))
    assert r.status_code == 404
    assert set(r.json()) >= {"code", "reason", "message", "status"} and r.json()["status"] == "404"
    r = client.post(f"{CATALOG}/productOffering", headers=auth(OPERATOR_KEY), content=b"{not json")
    assert r.status_code == 400 and r.json()["code"] == "validationError"
    r = client.post(f"{CATALOG}/productOffering", headers={**auth(OPERATOR_KEY), "Content-Length": "5000000"},
                    content=b"x" * 10)
    assert r.status_code == 413
    assert client.get("/openapi.json").json()["info"]["title"].startswith("telcolab")


def test_no_key_or_a_wrong_key_is_401_and_a_read_only_key_cannot_write(client):
    path = "/tmf-api/customerManagement/v4/customer"
    assert client.get(path).status_code == 401
    assert client.get(path, headers=auth("guess")).status_code == 401
    assert client.get(path, headers={"Authorization": OPERATOR_KEY}).status_code == 401  # no "Bearer"
    assert client.get(path, headers=auth(READ_KEY)).status_code == 200
    r = client.post(f"{CATALOG}/productSpecification", headers=auth(READ_KEY), json={"name": "x"})
    assert r.status_code == 403
    r = client.post("/tmf-api/productOrderingManagement/v4/productOrder", headers=auth(READ_KEY), json={})
    assert r.status_code == 403


def test_a_customer_sees_only_its_own_records_on_every_api(client, operator):
    ada, bob = [c.id for c in operator.records.customers.values()][:2]
    key = client.get(f"/keys/customer/{ada}", headers=auth(OPERATOR_KEY)).json()["key"]
    assert client.get(f"/keys/customer/{ada}", headers=auth(key)).status_code == 403
    checked = 0
    for api in APIS:
        path = f"{api.base}/{api.resource}"
        mine = client.get(path, headers=auth(key)).json()
        everything = client.get(path, headers=auth(OPERATOR_KEY)).json()
        owners = {api.ident(r): api.owner(r) for r in api.records(operator)}
        assert {x["id"] for x in mine} == {i for i, owner in owners.items() if owner == ada}
        for item in everything:  # another customer's id answers 404, as if it did not exist
            if owners[item["id"]] != ada:
                assert client.get(f"{path}/{item['id']}", headers=auth(key)).status_code == 404
                checked += 1
    assert checked > 10
    forged = key.replace(ada, bob)
    assert client.get("/tmf-api/customerManagement/v4/customer", headers=auth(forged)).status_code == 401


def test_a_tmf622_order_enters_the_order_to_activate_flow(client, operator):
    ada = next(iter(operator.records.customers))
    key = client.get(f"/keys/customer/{ada}", headers=auth(OPERATOR_KEY)).json()["key"]
    before = len(operator.records.work_orders)
    body = {"productOrderItem": [{"action": "add", "productOffering": {"id": "biz"}}],
            "relatedParty": [{"id": ada, "role": "Customer"}]}  # fmt: skip
    r = client.post("/tmf-api/productOrderingManagement/v4/productOrder", headers=auth(key), json=body)
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["state"] == "inProgress" and order["productOrderItem"][0]["productOffering"]["id"] == "biz"
    assert len(operator.records.work_orders) == before + 1  # the installation visit is booked
    other = list(operator.records.customers)[1]
    body["relatedParty"] = [{"id": other, "role": "Customer"}]
    assert client.post("/tmf-api/productOrderingManagement/v4/productOrder", headers=auth(key), json=body).status_code == 404
    body["productOrderItem"] = [{"productOffering": {"id": "nope"}}]
    r = client.post("/tmf-api/productOrderingManagement/v4/productOrder", headers=auth(OPERATOR_KEY), json=body)
    assert r.status_code == 404 and "nope" in r.json()["message"]


def test_the_catalog_shows_prices_bundles_and_takes_changes(client):
    headers = auth(OPERATOR_KEY)
    duo = client.get(f"{CATALOG}/productOffering/duo", headers=headers).json()
    assert duo["isBundle"] and [x["id"] for x in duo["bundledProductOffering"]] == ["fibre", "biz"]
    prices = client.get(f"{CATALOG}/productOfferingPrice?priceType=usage", headers=headers).json()
    assert {p["price"]["taxIncludedAmount"]["value"] for p in prices} == {1.0, 2.0}
    made = client.post(f"{CATALOG}/productSpecification", headers=headers, json={"name": "Router"}).json()
    assert client.patch(f"{CATALOG}/productSpecification/{made['id']}", headers=headers,
                        json={"name": "Router 2"}).json()["name"] == "Router 2"  # fmt: skip
    assert client.delete(f"{CATALOG}/productSpecification/{made['id']}", headers=headers).status_code == 204
    assert client.get(f"{CATALOG}/productSpecification/{made['id']}", headers=headers).status_code == 404
    assert client.patch(f"{CATALOG}/productOffering/fibre", headers=headers, json={"id": "x"}).status_code == 400
