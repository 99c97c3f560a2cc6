"""Plain typed helpers that make test data through the real API or the services."""

from collections.abc import Sequence
from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from kinsave.auth import service as auth
from kinsave.db import unit_of_work
from kinsave.errors import KinsaveError

Headers = dict[str, str]


def login(api: httpx.Client, user_id: str) -> Headers:
    response = api.post("/v1/auth/dev-login", json={"user_id": user_id})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def shop_key(
    session_factory: sessionmaker[Session], shop: str = "Test Shop", role: str = "operator"
) -> Headers:
    with unit_of_work(session_factory) as session:
        shop_row = auth.ensure_shop(session, shop)
        key = auth.create_api_key(session, shop_row.id, role)
    return {"Authorization": f"Bearer {key}"}


def create_campaign(
    api: httpx.Client, operator: Headers, *, budget: int = 1_000_000, **extra: Any
) -> dict[str, Any]:
    body = {"name": "Holiday", "budget": budget, **extra}
    response = api.post("/v1/admin/campaigns", json=body, headers=operator)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def give_credit(
    api: httpx.Client, operator: Headers, campaign_id: str, shopper_id: str, amount: int
) -> None:
    response = api.post(
        f"/v1/admin/campaigns/{campaign_id}/credits",
        json={"shopper_id": shopper_id, "amount": amount},
        headers=operator,
    )
    assert response.status_code == 201, response.text


def wallet_balance(api: httpx.Client, shopper: Headers, shop_id: str | None = None) -> int:
    """The shopper's credit at `shop_id`; without it, at the one shop they hold credit of (0
    when none; a shopper with credit of several shops must say which)."""
    response = api.get("/v1/wallet", headers=shopper)
    assert response.status_code == 200, response.text
    balances = {b["shop_id"]: b["balance"] for b in response.json()["balances"]}
    if shop_id is not None:
        return int(balances.get(shop_id, 0))
    assert len(balances) <= 1, f"credit of several shops: name one of {balances}"
    return int(sum(balances.values()))


def funded_shopper(
    api: httpx.Client, operator: Headers, campaign_id: str, user_id: str, amount: int
) -> Headers:
    headers = login(api, user_id)
    give_credit(api, operator, campaign_id, user_id, amount)
    return headers


def race(
    base_url: str, calls: list[tuple[str, str, Headers, dict[str, Any] | None]]
) -> list[httpx.Response]:
    """Fire the calls at once from one thread each, released together by a barrier."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    barrier = threading.Barrier(len(calls))

    def fire(call: tuple[str, str, Headers, dict[str, Any] | None]) -> httpx.Response:
        method, path, headers, body = call
        with httpx.Client(base_url=base_url, timeout=120) as client:
            barrier.wait()
            return client.request(method, path, headers=headers, json=body)

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(fire, calls))


def error_code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


def outcome_codes(outcomes: Sequence[object]) -> list[str]:
    """A batch's outcomes as codes: "ok" for a result, else the refusal's code."""
    return [o.code if isinstance(o, KinsaveError) else "ok" for o in outcomes]


def link_shopper(session_factory: sessionmaker[Session], shop_id: str, shopper_id: str) -> None:
    """The shopper linked the shop's store (as if the store had exchanged their link code)."""
    from kinsave.db import utcnow
    from kinsave.storelinks import service as storelinks

    with unit_of_work(session_factory) as session:
        auth.ensure_shopper(session, shopper_id)
        storelinks.link_shopper(session, shop_id, shopper_id, utcnow())


def store_shop_id(session_factory: sessionmaker[Session], store: Headers) -> str:
    """The shop a store key (as sent in its Authorization header) belongs to."""
    with unit_of_work(session_factory) as session:
        key = store["Authorization"].removeprefix("Bearer ")
        return auth.resolve_api_key(session, key, "store").shop_id
