"""Stateful schemathesis over /openapi.json: sequences of calls that feed each response's ids into
the next request (create a campaign, then change its budget; claim a coupon, then reserve and
pay an order with it...), so the fuzz reaches past the 404s that random ids meet.

The links between operations are inferred by schemathesis from the schema itself (its dependency
analysis: a response field `id` of a campaign feeds `{campaign_id}`...); no OpenAPI links are
written by hand, so routers merged later are linked too. Bounded: a fixed number of scenarios of
a few steps each, derandomized, on both databases.
"""

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ensure_resource_availability,
    response_schema_conformance,
    status_code_conformance,
    use_after_free,
)

from tests.factories import Headers, login, shop_key

pytestmark = pytest.mark.contract

CHECKS = [
    not_a_server_error,
    status_code_conformance,  # every status the server answers is documented
    response_schema_conformance,
    content_type_conformance,
    use_after_free,  # a deleted resource stays gone
    ensure_resource_availability,  # a created resource can be read back at once
]
SCENARIOS = 100
STEPS = 10
# Calls that end the caller's own credentials: each gets fresh ones, so later steps stay signed in.
ENDS_ITS_CREDENTIALS = {"/v1/admin/keys/rotate", "/v1/auth/logout"}


@pytest.mark.slow
def test_linked_call_sequences_no_500_and_schema_conformance(live_server, api, session_factory):
    schema = schemathesis.openapi.from_url(f"{live_server.url}/openapi.json")
    operator, store, shopper = (
        shop_key(session_factory),
        shop_key(session_factory, role="store"),
        login(api, "stateful"),
    )

    def headers_for(path: str) -> Headers:
        if path in ENDS_ITS_CREDENTIALS:
            return (
                shop_key(session_factory)
                if path.startswith("/v1/admin")
                else login(api, "stateful")
            )
        if path.startswith("/v1/admin"):
            return operator
        return store if path.startswith("/v1/store") else shopper

    class LinkedCalls(schema.as_state_machine()):
        def get_call_kwargs(self, case) -> dict[str, Any]:
            return {"base_url": live_server.url, "headers": headers_for(case.path)}

        def validate_response(self, response, case, additional_checks=None, **kwargs) -> None:
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs or None)

    LinkedCalls.run(
        settings=settings(
            max_examples=SCENARIOS,
            stateful_step_count=STEPS,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.generate],  # no shrinking: report, don't minimise
        )
    )
