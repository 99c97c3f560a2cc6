"""The storm endpoints (grab, daily claim, coupon claim): one route each, the one in /openapi.json,
batched behind it; a request with an Idempotency-Key runs alone through the same function."""

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute

from kinsave.app import create_app
from kinsave.config import Settings
from tests.coupons.factories import create_template
from tests.factories import create_campaign, funded_shopper, login, shop_key

STORM_PATHS = {
    "/v1/envelopes/{envelope_id}/grab": "grab_envelope",
    "/v1/daily/{campaign_id}/claim": "claim_daily",
    "/v1/coupons/claim": "claim_coupon",
}


def _routes(routes: list[Any]) -> Iterator[Any]:
    """Every route of the app, through the routers it includes."""
    for route in routes:
        included = getattr(route, "original_router", None)
        yield from _routes(included.routes) if included is not None else [route]


def _answer(response) -> tuple[int, str | None]:
    if response.status_code < 400:
        return response.status_code, None
    return response.status_code, response.json()["error"]["code"]


class TestOneRoute:
    def test_each_storm_path_is_served_by_its_documented_route_alone(self, settings: Settings):
        app = create_app(settings)
        schema = app.openapi()
        for path, name in STORM_PATHS.items():
            serving = [r for r in _routes(app.router.routes) if getattr(r, "path", None) == path]
            assert len(serving) == 1, path
            (route,) = serving
            assert isinstance(route, APIRoute) and route.include_in_schema
            assert route.endpoint.__name__ == name
            assert "post" in schema["paths"][path]


class TestAnswers:
    def test_refusals_have_their_documented_codes(self, api, session_factory):
        operator = shop_key(session_factory)
        shopper = login(api, "grandma")
        template = create_template(api, operator)
        claim = "/v1/coupons/claim"
        cases: list[tuple[str, dict[str, str], str | None, tuple[int, str]]] = [
            ("/v1/envelopes/env_missing/grab", {}, None, (401, "unauthorized")),
            ("/v1/envelopes/env_missing/grab", operator, None, (401, "unauthorized")),
            ("/v1/envelopes/env_missing/grab", shopper, None, (404, "not_found")),
            (
                "/v1/envelopes/env_missing/grab",
                {**shopper, "Idempotency-Key": "k" * 201},
                None,
                (422, "invalid_request"),
            ),
            ("/v1/daily/cmp_missing/claim", shopper, None, (404, "not_found")),
            (claim, shopper, "not json", (422, "invalid_request")),
            (claim, shopper, "{}", (422, "invalid_request")),
            (claim, shopper, '{"template_id": "ctpl_missing"}', (404, "not_found")),
            (claim, {}, f'{{"template_id": "{template["id"]}"}}', (401, "unauthorized")),
        ]
        for path, headers, body, expected in cases:
            sent = {"headers": {**headers, "Content-Type": "application/json"}}
            if body is not None:
                sent["content"] = body  # type: ignore[assignment]
            assert _answer(api.post(path, **sent)) == expected, (path, headers, body)  # type: ignore[arg-type]

    def test_a_cookie_session_needs_the_csrf_header(self, api, session_factory):
        token = login(api, "aunt")["Authorization"].removeprefix("Bearer ")
        template = create_template(api, shop_key(session_factory))
        api.cookies.set("ks_session", token)
        refused = api.post("/v1/coupons/claim", json={"template_id": template["id"]})
        assert _answer(refused) == (403, "forbidden")

    def test_an_idempotent_retry_replays_the_first_claim(self, api, session_factory):
        template = create_template(api, shop_key(session_factory), per_shopper_limit=2)
        shopper = {**login(api, "uncle"), "Idempotency-Key": "coupon-once"}
        body = {"template_id": template["id"]}
        first = api.post("/v1/coupons/claim", json=body, headers=shopper)
        again = api.post("/v1/coupons/claim", json=body, headers=shopper)
        assert first.status_code == again.status_code == 201
        assert again.headers.get("Idempotent-Replayed") == "true"
        assert again.json() == first.json()
        mine = api.get("/v1/coupons", headers=login(api, "uncle")).json()["coupons"]
        assert [c["id"] for c in mine] == [first.json()["id"]]

    def test_successes_have_the_documented_shape(self, api, session_factory):
        operator = shop_key(session_factory)
        rule = {"kind": "uniform", "min": 100, "max": 100}
        campaign = create_campaign(api, operator, budget=1000, daily_rule=rule)
        shopper = login(api, "cousin")
        claimed = api.post(f"/v1/daily/{campaign['id']}/claim", headers=shopper)
        assert claimed.status_code == 200 and claimed.headers["content-type"] == "application/json"
        assert set(claimed.json()) == {"campaign_id", "amount", "local_day", "claimed_at"}


class TestRetries:
    @pytest.mark.parametrize("first_key", [None, "grab-1"])
    def test_a_retry_after_a_grab_answers_already_grabbed_whichever_path(
        self, api, session_factory, first_key
    ):
        # The first grab batched (no key) or alone (a key); the retries through the other path.
        operator = shop_key(session_factory)
        campaign = create_campaign(api, operator)
        grandma = funded_shopper(api, operator, campaign["id"], "grandma", 1000)
        sent = api.post("/v1/envelopes", json={"total": 300, "shares": 3}, headers=grandma)
        path = f"/v1/envelopes/{sent.json()['id']}/grab"
        mum = login(api, "mum")
        first = api.post(path, headers={**mum, "Idempotency-Key": first_key} if first_key else mum)
        assert first.status_code == 200, first.text
        alone = api.post(path, headers={**mum, "Idempotency-Key": "grab-2"})
        batched = api.post(path, headers=mum)
        assert _answer(alone) == _answer(batched) == (409, "already_grabbed")
