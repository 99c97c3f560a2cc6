"""The lean storm routes (storm_routes.py) answer exactly as the documented routes behind them.

Each request goes to the default server (storm routes in front) and to a server with the storm
routes switched off (the FastAPI routes of /openapi.json serve); status and error code must match.
"""

from collections.abc import Iterator

import httpx
import pytest

from kinsave.config import Settings
from tests.conftest import LiveServer
from tests.coupons.factories import create_template
from tests.factories import create_campaign, login, shop_key

STORM_ROUTES_OFF = {"fast_grab": False, "fast_daily": False, "fast_coupon_claim": False}


@pytest.fixture(scope="module")
def documented_server(settings: Settings, engine) -> Iterator[LiveServer]:
    server = LiveServer(settings.model_copy(update=STORM_ROUTES_OFF))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def documented(documented_server: LiveServer, session_factory) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=documented_server.url, timeout=60) as client:
        yield client


def _answer(response: httpx.Response) -> tuple[int, str | None]:
    if response.status_code < 400:
        return response.status_code, None
    return response.status_code, response.json()["error"]["code"]


class TestSameAnswers:
    def test_refusals_match_the_documented_routes(self, api, documented, session_factory):
        operator = shop_key(session_factory)
        shopper = login(api, "grandma")
        template = create_template(api, operator)
        claim = "/v1/coupons/claim"
        cases: list[tuple[str, dict[str, str], str | None]] = [
            ("/v1/envelopes/env_missing/grab", {}, None),  # no sign-in
            ("/v1/envelopes/env_missing/grab", operator, None),  # an API key, not a shopper
            ("/v1/envelopes/env_missing/grab", shopper, None),
            ("/v1/envelopes/env_missing/grab", {**shopper, "Idempotency-Key": "k" * 201}, None),
            ("/v1/daily/cmp_missing/claim", shopper, None),
            (claim, shopper, "not json"),
            (claim, shopper, "{}"),
            (claim, shopper, '{"template_id": 7}'),
            (claim, shopper, '{"template_id": "' + "t" * 41 + '"}'),
            (claim, shopper, '{"template_id": "ctpl_missing"}'),
            (claim, {}, f'{{"template_id": "{template["id"]}"}}'),
        ]
        for path, headers, body in cases:
            sent = {"headers": {**headers, "Content-Type": "application/json"}}
            if body is not None:
                sent["content"] = body  # type: ignore[assignment]
            storm = _answer(api.post(path, **sent))  # type: ignore[arg-type]
            plain = _answer(documented.post(path, **sent))  # type: ignore[arg-type]
            assert storm == plain, (path, headers, body)
            assert storm[0] >= 400

    def test_a_cookie_session_needs_the_csrf_header(self, api, documented, session_factory):
        token = login(api, "aunt")["Authorization"].removeprefix("Bearer ")
        template = create_template(api, shop_key(session_factory))
        for client in (api, documented):
            client.cookies.set("ks_session", token)
            refused = client.post("/v1/coupons/claim", json={"template_id": template["id"]})
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
        schema = api.get("/openapi.json").json()
        for path in ("/v1/envelopes/{envelope_id}/grab", "/v1/daily/{campaign_id}/claim"):
            assert "post" in schema["paths"][path]
        assert "201" in schema["paths"]["/v1/coupons/claim"]["post"]["responses"]
