"""Every call the store makes to kinsave, in one place: the store API, with the store's key.

The shapes follow kinsave's store API (sign-in by store link, quote -> reserve -> paid, cancel,
refund, token resolve). kinsave answers only for shoppers who linked this store.
Each money-moving call sends an Idempotency-Key derived from the order, so a retry after a
timeout can never reserve or charge twice.
"""

import hashlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote as quote_path

import httpx


class KinsaveRefused(Exception):
    """kinsave said no (a stable error code the store can show or act on)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class KinsaveStoreClient:
    api_url: str
    store_key: str
    timeout: float = 10.0

    def _call(
        self, method: str, path: str, body: dict[str, Any] | None = None, key: str | None = None
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.store_key}"}
        if key:
            headers["Idempotency-Key"] = key
        try:
            response = httpx.request(
                method, self.api_url + path, json=body, headers=headers, timeout=self.timeout
            )
        except httpx.HTTPError as error:
            raise KinsaveRefused("unavailable", f"kinsave is unreachable: {error}") from error
        if response.status_code >= 400:
            try:
                refusal = response.json()["error"]
                code, message = str(refusal["code"]), str(refusal["message"])
            except (ValueError, KeyError, TypeError):
                code, message = "unavailable", response.text[:200]
            raise KinsaveRefused(code, message)
        result: dict[str, Any] = response.json()
        return result

    def link_request(self, return_url: str, state: str) -> dict[str, Any]:
        """Register the sign-in callback: {request_id, authorize_url, expires_at}. Send the
        browser to authorize_url; kinsave brings it back to return_url?code=...&state=..."""
        body = {"return_url": return_url, "state": state}
        return self._call("POST", "/v1/store/link-requests", body)

    def exchange_link_code(self, code: str) -> dict[str, Any]:
        """The code from the callback (single use, minutes long) -> {shopper_id, linked_at}."""
        return self._call("POST", "/v1/store/links", {"code": code})

    def wallet(self, shopper_id: str) -> dict[str, Any]:
        """A linked shopper's credit at this shop: {shopper_id, shop_id, balance}."""
        return self._call("GET", f"/v1/store/shoppers/{quote_path(shopper_id, safe='')}/wallet")

    def push_products(self, products: list[dict[str, Any]]) -> dict[str, Any]:
        return self._call("PUT", "/v1/store/products", {"products": products})

    def quote(
        self,
        shopper_id: str,
        lines: list[dict[str, Any]],
        *,
        shipping_fee: int = 0,
        use_credit: int = 0,
        channel: str | None = None,
    ) -> dict[str, Any]:
        """The shopper's price and the payment methods the visit's channel allows."""
        body: dict[str, Any] = {
            "shopper_id": shopper_id,
            "lines": lines,
            "shipping_fee": shipping_fee,
            "use_credit": use_credit,
        }
        if channel:
            body["channel"] = channel
        return self._call("POST", "/v1/store/checkout/quote", body)

    def reserve(
        self, order_id: str, shopper_id: str, lines: list[dict[str, Any]], quote: dict[str, Any]
    ) -> dict[str, Any]:
        """Hold exactly what the shopper saw in the quote: its coupons and its credit."""
        body = {
            "order_id": order_id,
            "shopper_id": shopper_id,
            "lines": lines,
            "shipping_fee": quote.get("shipping_fee", 0),
            "coupons": quote.get("coupons", []),
            "use_credit": quote.get("credit", 0),
            "channel": quote.get("channel"),
        }
        return self._call("POST", "/v1/store/checkout/reserve", body, key=f"reserve:{order_id}")

    def paid(
        self, order_id: str, attribution: str | None = None, payment_method: str | None = None
    ) -> dict[str, Any]:
        """The store took the payment (with `payment_method`, one the quote allowed);
        `attribution` (from a resolved token) credits the sharer."""
        body = {"attribution": attribution} if attribution else {}
        if payment_method:
            body["payment_method"] = payment_method
        return self._call("POST", f"/v1/store/orders/{order_id}/paid", body, key=f"paid:{order_id}")

    def cancel(self, order_id: str) -> dict[str, Any]:
        path = f"/v1/store/orders/{order_id}/cancel"
        return self._call("POST", path, {}, key=f"cancel:{order_id}")

    def refund(self, order_id: str, lines: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """Refund some lines ({"sku", "quantity"}) or, without lines, everything left."""
        refund_id = (
            "all" if lines is None else ",".join(f"{x['sku']}x{x['quantity']}" for x in lines)
        )
        body: dict[str, Any] = {"refund_id": f"{order_id}:{refund_id}"[:64]}
        if lines is not None:
            body["lines"] = lines
        path = f"/v1/store/orders/{order_id}/refund"
        return self._call("POST", path, body, key=f"refund:{order_id}:{refund_id}"[:100])

    def order(self, order_id: str) -> dict[str, Any]:
        return self._call("GET", f"/v1/store/orders/{order_id}")

    def resolve_token(self, text: str, shopper_id: str | None = None) -> dict[str, Any]:
        """A pasted password token -> {code, target: {type, id}, attribution, campaign_id,
        channel}. Each resolve uses the share once, so the key makes a retry safe."""
        body: dict[str, Any] = {"text": text}
        if shopper_id:
            body["shopper_id"] = shopper_id
        key = "resolve:" + hashlib.sha256(f"{shopper_id}:{text}".encode()).hexdigest()[:32]
        return self._call("POST", "/v1/store/tokens/resolve", body, key=key)
