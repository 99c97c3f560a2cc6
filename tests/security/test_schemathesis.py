"""schemathesis over the whole /openapi.json of the live server: no 500, no undocumented status,
no valid request refused by validation, schema-conformant (the contract of issue 16).

Every operation (including routers merged later) gets a few generated requests, signed in as the
right kind of caller: operator key under /v1/admin, store key under /v1/store, a shopper session
elsewhere. Bounded by max_examples so `make test` stays fast.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import Headers, create_campaign, login, shop_key

pytestmark = pytest.mark.contract

# Refusals a JSON Schema cannot state, each said in the field's description instead: amounts are
# JSON integers written without a fraction (1.0 is refused, never rounded: test_hostile_input),
# and the rules of custom validators (min <= max, a known IANA time zone...).
BEYOND_THE_SCHEMA = ("Input should be a valid integer", "Value error,")


@schemathesis.check
def valid_data_passes_validation(ctx, response, case) -> None:
    """A request the document calls valid is never refused by validation: a 422 for positive data
    may be a domain refusal (`invalid_amount` for a total below its shares), never a field the
    schema allows but the server's validation refuses (`details.fields`)."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    if response.status_code != 422:
        return
    fields = response.json()["error"].get("details", {}).get("fields", [])
    stated = [field for field in fields if not field["message"].startswith(BEYOND_THE_SCHEMA)]
    if stated:
        raise AssertionError(f"valid data refused by validation: {stated}")


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
    negative_data_rejection,
    valid_data_passes_validation,
]
MAX_EXAMPLES = 6


@pytest.fixture
def callers(api, session_factory) -> dict[str, Headers]:
    create_campaign(api, shop_key(session_factory))
    return {"/v1/store": shop_key(session_factory, role="store"), "": login(api, "fuzzer")}


def _caller(path: str, callers: dict[str, Headers], session_factory) -> Headers:
    if path.startswith("/v1/admin"):
        return shop_key(session_factory)  # a fresh key: /v1/admin/keys/rotate revokes its own
    return next(headers for prefix, headers in callers.items() if path.startswith(prefix))


def _fuzz(operation, base_url: str, headers: Headers) -> str | None:
    """Run the bounded examples for one operation; the first failure as text, or None."""

    @given(case=operation.as_strategy())
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: report, don't minimise
    )
    def run(case) -> None:
        response = case.call(base_url=base_url, headers=headers)
        case.validate_response(response, checks=CHECKS)

    try:
        run()
    except (Exception, BaseExceptionGroup) as failure:  # noqa: BLE001 - all collected
        return f"{operation.method.upper()} {operation.path}: {str(failure)[:1500]}"
    return None


@pytest.mark.slow
def test_every_operation_no_500_and_schema_conformance(live_server, callers, session_factory):
    schema = schemathesis.openapi.from_url(f"{live_server.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40
    failures = [
        failure
        for operation in operations
        if (
            failure := _fuzz(
                operation, live_server.url, _caller(operation.path, callers, session_factory)
            )
        )
    ]
    assert not failures, "\n\n".join(failures)
