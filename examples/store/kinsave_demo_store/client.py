"""Every call the store makes to kinsave, in one place: the store API, with the store's key.

The shapes follow kinsave's store API (quote -> reserve -> paid, cancel, refund, token resolve).
Each money-moving call sends an Idempotency-Key derived from the order, so a retry after a
timeout can never reserve or charge twice.
"""

from dataclasses import dataclass
from typing import Any

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

    def push_products(self, products: list[dict[str, Any]]) -> dict[str, Any]:
        return self._call("PUT", "/v1/store/products", {"products": products})

    def quote(
        self,
        shopper_id: str,
        lines: list[dict[str, Any]],
        *,
        shipping_fee: int = 0,
        use_credit: int = 0,
    ) -> dict[str, Any]:
        body = {
            "shopper_id": shopper_id,
            "lines": lines,
            "shipping_fee": shipping_fee,
            "use_credit": use_credit,
        }
        return self._call("POST", "/v1/store/checkout/quote", body)

    def reserve(self, order_id: str, shopper_id: str, quote: dict[str, Any]) -> dict[str, Any]:
        body = {
            "order_id": order_id,
            "shopper_id": shopper_id,
            "coupons": quote.get("coupons", []),
            "use_credit": quote.get("credit_used", quote.get("use_credit", 0)),
            "lines": quote.get("lines", []),
        }
        return self._call("POST", "/v1/store/checkout/reserve", body, key=f"reserve:{order_id}")

    def paid(self, order_id: str) -> dict[str, Any]:
        return self._call("POST", f"/v1/store/orders/{order_id}/paid", {}, key=f"paid:{order_id}")

    def cancel(self, order_id: str) -> dict[str, Any]:
        path = f"/v1/store/orders/{order_id}/cancel"
        return self._call("POST", path, {}, key=f"cancel:{order_id}")

    def refund(self, order_id: str, amount: int | None = None) -> dict[str, Any]:
        body = {} if amount is None else {"amount": amount}
        path = f"/v1/store/orders/{order_id}/refund"
        return self._call("POST", path, body, key=f"refund:{order_id}:{amount}")

    def resolve_token(self, text: str) -> dict[str, Any]:
        """A pasted password token -> the target (product, coupon) and the share it came from."""
        return self._call("POST", "/v1/store/tokens/resolve", {"text": text})
