"""The client's typed answers match /openapi.json, so they cannot drift from the API unnoticed.

Every operation of the store API (the paths under /v1/store/) has a client method here, and the
model that method returns has the operation's answer's fields, with the same types, the same
required fields and the same nesting; the bodies a store builds (cart lines, refund lines,
products, landing templates) match the request schemas they go into. A new store endpoint, a new
or renamed field, or a field that became optional or nullable fails this test until the client
follows. Closed sets of strings (enums) may be plain `str` in the client (see client/models.py).
"""

import ast
from pathlib import Path
from typing import Any, get_type_hints

import pytest
from pydantic import BaseModel

from kinsave.app import create_app
from kinsave.client import (
    CartLine,
    Landing,
    LandingTemplates,
    LinkRequest,
    Order,
    ProductPage,
    ProductUpsert,
    Quote,
    Refund,
    RefundLine,
    ResolvedToken,
    ShopperCoupons,
    StoreLink,
    StoreVisit,
    Upserted,
    Wallet,
)
from kinsave.client.store import KinsaveStoreClient

Schema = dict[str, Any]

# operationId -> (the client method that calls it, the model it returns)
ANSWERS: dict[str, tuple[str, type[BaseModel]]] = {
    "create_link_request": ("link_request", LinkRequest),
    "exchange_link_code": ("exchange_link_code", StoreLink),
    "shopper_wallet": ("wallet", Wallet),
    "shopper_coupons": ("shopper_coupons", ShopperCoupons),
    "put_products": ("push_products", Upserted),
    "store_products": ("products", ProductPage),
    "get_store_landing": ("landing", Landing),
    "put_store_landing": ("put_landing", Landing),
    "record_store_visit": ("record_visit", StoreVisit),
    "resolve_token": ("resolve_token", ResolvedToken),
    "checkout_quote": ("quote", Quote),
    "checkout_reserve": ("reserve", Order),
    "mark_order_paid": ("paid", Order),
    "cancel_order": ("cancel", Order),
    "refund_order": ("refund", Refund),
    "get_order": ("order", Order),
}
# The bodies a store builds, and the API's request schemas they are sent as.
BODIES: dict[type[BaseModel], str] = {
    CartLine: "CartLineIn",
    RefundLine: "RefundLineIn",
    ProductUpsert: "ProductIn",
    LandingTemplates: "StoreLandingIn",
}


@pytest.fixture(scope="module")
def document() -> Schema:
    openapi: Schema = create_app().openapi()
    return openapi


def store_operations(document: Schema) -> dict[str, Schema]:
    return {
        operation["operationId"]: operation
        for path, item in document["paths"].items()
        if path.startswith("/v1/store/")
        for operation in item.values()
    }


def answer_schema(operation: Schema) -> Schema:
    [answer] = [
        response["content"]["application/json"]["schema"]
        for status, response in operation["responses"].items()
        if status.startswith("2")
    ]
    return answer


def shape(schema: Schema, definitions: Schema) -> Any:
    """A schema reduced to what a client relies on: types, formats, nesting, which properties
    there are and which are required (no titles, limits, patterns, descriptions or enums)."""
    if "$ref" in schema:
        return shape(definitions[schema["$ref"].rsplit("/", 1)[-1]], definitions)
    if "anyOf" in schema:
        return ("any of", sorted(repr(shape(option, definitions)) for option in schema["anyOf"]))
    kind = schema.get("type")
    if kind == "object" and "properties" in schema:
        required = set(schema.get("required", []))
        fields = {
            name: (shape(field, definitions), name in required)
            for name, field in schema["properties"].items()
        }
        return ("object", sorted(fields.items()))
    if kind == "object":
        return ("map of", shape(schema.get("additionalProperties", {}), definitions))
    if kind == "array":
        return ("list of", shape(schema["items"], definitions))
    return (kind, schema.get("format"))


def client_shape(model: type[BaseModel]) -> Any:
    schema = model.model_json_schema()
    return shape(schema, schema.get("$defs", {}))


def test_every_store_operation_has_a_client_method(document):
    assert set(store_operations(document)) == set(ANSWERS)
    for method, _model in ANSWERS.values():
        assert callable(getattr(KinsaveStoreClient, method))


@pytest.mark.parametrize("operation_id", sorted(ANSWERS))
def test_each_answer_matches_the_api(document, operation_id):
    method, model = ANSWERS[operation_id]
    assert get_type_hints(getattr(KinsaveStoreClient, method))["return"] is model
    expected = shape(answer_schema(store_operations(document)[operation_id]), schemas(document))
    assert client_shape(model) == expected


@pytest.mark.parametrize("model", list(BODIES), ids=lambda model: model.__name__)
def test_each_body_matches_the_api(document, model):
    expected = shape({"$ref": BODIES[model]}, schemas(document))
    assert client_shape(model) == expected


def schemas(document: Schema) -> Schema:
    components: Schema = document["components"]["schemas"]
    return components


def test_the_client_imports_nothing_else_of_kinsave():
    """A store installs the client alone (httpx, stamina, pydantic): no server package may creep
    in, not even for a schema."""
    package = Path(KinsaveStoreClient.__module__.replace(".", "/")).parent
    root = Path(__file__).resolve().parents[2] / "src"
    sources = sorted((root / package).glob("*.py"))
    assert len(sources) >= 4  # __init__, models, store, webhooks
    for source in sources:
        for node in ast.walk(ast.parse(source.read_text())):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                assert not name.startswith("kinsave") or name.startswith("kinsave.client"), (
                    f"{source.name} imports {name}"
                )
