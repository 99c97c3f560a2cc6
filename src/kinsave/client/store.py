"""Every call a store makes to kinsave's store API, with the store's key, over one reused
connection pool.

The shapes follow the store API (docs/coupons.md, /docs): sign-in by store link, products, share
tokens and visits, quote -> reserve -> paid, cancel, refund. kinsave answers only for shoppers who
linked this store. Each call returns a typed, frozen object (client/models.py), checked against
/openapi.json by tests/client/test_client_models.py.

Retries: a 503 or a connection error is tried again (stamina: exponential backoff with jitter),
but only for calls that are safe to repeat: reads, PUTs, quotes, and the money-moving calls, which
carry an Idempotency-Key derived from the order (the same on every retry, and the same after a
restart of the store), so kinsave answers a repeat with the first outcome and never books twice.
"""

import hashlib
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar
from urllib.parse import quote as quote_path

import httpx
import stamina
from pydantic import BaseModel, ValidationError

from kinsave.client.models import (
    Answer,
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

Json = dict[str, Any]
AnswerT = TypeVar("AnswerT", bound=Answer)


class KinsaveRefused(Exception):
    """kinsave said no: a stable snake_case `code` the store can show or act on, the HTTP
    `status` (0 when kinsave could not be reached) and the error's `details`, if any."""

    def __init__(
        self, code: str, message: str, status: int = 0, details: Json | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.details = details or {}


class _Unavailable(Exception):
    """A 503 worth another try."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"kinsave answered {response.status_code}")
        self.response = response


def _path(value: str) -> str:
    return quote_path(value, safe="")


class KinsaveStoreClient:
    """`KinsaveStoreClient(api_url, store_key)`; close it (or use `with`) when done."""

    def __init__(
        self,
        api_url: str,
        store_key: str,
        timeout: float = 10.0,
        *,
        attempts: int = 3,
        retry_wait: float = 0.2,
        http: httpx.Client | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.store_key = store_key
        self.attempts = attempts
        self.retry_wait = retry_wait
        self.http = http or httpx.Client(timeout=timeout)

    def __enter__(self) -> "KinsaveStoreClient":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def _tries(self, retry: bool) -> Iterator[Any]:
        return iter(
            stamina.retry_context(
                on=(_Unavailable, httpx.TransportError),
                attempts=self.attempts if retry else 1,
                wait_initial=self.retry_wait,
                wait_max=5 * self.retry_wait,
            )
        )

    def _call(
        self,
        answer: type[AnswerT],
        method: str,
        path: str,
        body: Json | None = None,
        key: str | None = None,
        *,
        safe: bool = False,
    ) -> AnswerT:
        """One logical call, its answer as `answer`: retried on 503 and connection errors when
        `safe` or keyed."""
        headers = {"Authorization": f"Bearer {self.store_key}"}
        if key:
            headers["Idempotency-Key"] = key
        try:
            for attempt in self._tries(safe or key is not None):
                with attempt:
                    response = self.http.request(
                        method, self.api_url + path, json=body, headers=headers
                    )
                    if response.status_code == 503:
                        raise _Unavailable(response)
        except _Unavailable as error:
            response = error.response
        except httpx.HTTPError as error:
            raise KinsaveRefused("unavailable", f"kinsave is unreachable: {error}") from error
        if response.status_code >= 400:
            raise _refusal(response)
        try:
            return answer.model_validate_json(response.content)
        except ValidationError as error:
            # A kinsave this client does not understand (or not kinsave at all): say so plainly
            # rather than hand the store half an answer.
            message = f"kinsave's answer is not a {answer.__name__}: {error.errors()[:1]}"
            raise KinsaveRefused("invalid_answer", message, response.status_code) from error

    def link_request(self, return_url: str, state: str) -> LinkRequest:
        """Register the sign-in callback. Send the browser to `authorize_url`; kinsave brings it
        back to return_url?code=...&state=..."""
        body = {"return_url": return_url, "state": state}
        return self._call(LinkRequest, "POST", "/v1/store/link-requests", body, safe=True)

    def exchange_link_code(self, code: str) -> StoreLink:
        """The code from the callback (single use, minutes long) -> the linked shopper's id."""
        return self._call(StoreLink, "POST", "/v1/store/links", {"code": code})

    def wallet(self, shopper_id: str) -> Wallet:
        """A linked shopper's credit at this shop."""
        path = f"/v1/store/shoppers/{_path(shopper_id)}/wallet"
        return self._call(Wallet, "GET", path, safe=True)

    def shopper_coupons(self, shopper_id: str) -> ShopperCoupons:
        """A linked shopper's coupons at this shop."""
        path = f"/v1/store/shoppers/{_path(shopper_id)}/coupons"
        return self._call(ShopperCoupons, "GET", path, safe=True)

    def push_products(self, products: Sequence[ProductUpsert]) -> Upserted:
        """Upsert the catalog: the store is the source of truth for prices."""
        body = {"products": [_body(product) for product in products]}
        return self._call(Upserted, "PUT", "/v1/store/products", body, safe=True)

    def products(
        self, category: str | None = None, limit: int = 50, offset: int = 0
    ) -> ProductPage:
        query = f"?limit={limit}&offset={offset}"
        if category:
            query += f"&category={_path(category)}"
        return self._call(ProductPage, "GET", "/v1/store/products" + query, safe=True)

    def landing(self) -> Landing:
        """Where shares land in the store now."""
        return self._call(Landing, "GET", "/v1/store/landing", safe=True)

    def put_landing(self, templates: LandingTemplates) -> Landing:
        """Where shares land in the store: URL templates per target kind."""
        return self._call(Landing, "PUT", "/v1/store/landing", _body(templates), safe=True)

    def record_visit(self, attribution: str, shopper_id: str | None = None) -> StoreVisit:
        """A shopper arrived through a share (the funnel's store visits). Not retried: the
        endpoint takes no Idempotency-Key, and a visit counted twice is worse than one lost."""
        body: Json = {"attribution": attribution, "shopper_id": shopper_id}
        return self._call(StoreVisit, "POST", "/v1/store/visits", body)

    def quote(
        self,
        shopper_id: str,
        lines: Sequence[CartLine],
        *,
        shipping_fee: int = 0,
        use_credit: int = 0,
        channel: str | None = None,
    ) -> Quote:
        """The shopper's price and the payment methods the visit's channel allows (moves
        nothing, so it is retried like a read)."""
        body: Json = {
            "shopper_id": shopper_id,
            "lines": [_body(line) for line in lines],
            "shipping_fee": shipping_fee,
            "use_credit": use_credit,
        }
        if channel:
            body["channel"] = channel
        return self._call(Quote, "POST", "/v1/store/checkout/quote", body, safe=True)

    def reserve(
        self, order_id: str, shopper_id: str, lines: Sequence[CartLine], quote: Quote
    ) -> Order:
        """Hold exactly what the shopper saw in the quote: its coupons and its credit."""
        body = {
            "order_id": order_id,
            "shopper_id": shopper_id,
            "lines": [_body(line) for line in lines],
            "shipping_fee": quote.shipping_fee,
            "coupons": list(quote.coupons),
            "use_credit": quote.credit,
            "channel": quote.channel,
        }
        path = "/v1/store/checkout/reserve"
        return self._call(Order, "POST", path, body, key=f"reserve:{order_id}")

    def paid(
        self, order_id: str, attribution: str | None = None, payment_method: str | None = None
    ) -> Order:
        """The store took the payment (with `payment_method`, one the quote allowed);
        `attribution` (from a resolved token) credits the sharer."""
        body = {"attribution": attribution} if attribution else {}
        if payment_method:
            body["payment_method"] = payment_method
        path = f"/v1/store/orders/{_path(order_id)}/paid"
        return self._call(Order, "POST", path, body, key=f"paid:{order_id}")

    def cancel(self, order_id: str) -> Order:
        path = f"/v1/store/orders/{_path(order_id)}/cancel"
        return self._call(Order, "POST", path, {}, key=f"cancel:{order_id}")

    def refund(self, order_id: str, lines: Sequence[RefundLine] | None = None) -> Refund:
        """Refund some lines or, without lines, everything left."""
        refund_id = "all" if lines is None else ",".join(f"{x.sku}x{x.quantity}" for x in lines)
        body: Json = {"refund_id": f"{order_id}:{refund_id}"[:64]}
        if lines is not None:
            body["lines"] = [_body(line) for line in lines]
        path = f"/v1/store/orders/{_path(order_id)}/refund"
        return self._call(Refund, "POST", path, body, key=f"refund:{order_id}:{refund_id}"[:100])

    def order(self, order_id: str) -> Order:
        return self._call(Order, "GET", f"/v1/store/orders/{_path(order_id)}", safe=True)

    def resolve_token(self, text: str, shopper_id: str | None = None) -> ResolvedToken:
        """A pasted password token (or a share code): its target, the attribution handle for the
        order, and the coupon it carried, claimed for `shopper_id` when given. Each resolve
        uses the share once, so the key makes a retry safe."""
        body: Json = {"text": text}
        if shopper_id:
            body["shopper_id"] = shopper_id
        key = "resolve:" + _digest(f"{shopper_id}:{text}")
        return self._call(ResolvedToken, "POST", "/v1/store/tokens/resolve", body, key=key)


def _body(model: BaseModel) -> Json:
    return model.model_dump(mode="json")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _refusal(response: httpx.Response) -> KinsaveRefused:
    try:
        error = response.json()["error"]
        code, message = str(error["code"]), str(error["message"])
        details = error.get("details") if isinstance(error.get("details"), dict) else None
    except (ValueError, KeyError, TypeError):
        code, message, details = "unavailable", response.text[:200], None
    return KinsaveRefused(code, message, response.status_code, details)
