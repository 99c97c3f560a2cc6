"""The demo store's pages: catalog, cart, token box, checkout through kinsave, my orders."""

import re
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from kinsave_demo_store import cart as carts
from kinsave_demo_store.catalog import BY_SKU, PRODUCTS
from kinsave_demo_store.client import KinsaveRefused, KinsaveStoreClient
from kinsave_demo_store.orders import Order, OrderBook

HERE = Path(__file__).parent
CART_COOKIE = "store_cart"
SHOPPER_COOKIE = "store_shopper"
ATTRIBUTION_COOKIE = "store_attribution"  # from a resolved token, sent with the paid order
SHOPPER_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


def yuan(amount: int) -> str:
    return f"¥{amount // 100}.{amount % 100:02d}"


def create_store(api_url: str, store_key: str) -> FastAPI:
    """The store as an ASGI app, talking to kinsave at `api_url` with its own store key."""
    client = KinsaveStoreClient(api_url.rstrip("/"), store_key)
    book = OrderBook()
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.filters["yuan"] = yuan
    store = FastAPI(title="kinsave demo store", docs_url=None, redoc_url=None, openapi_url=None)
    store.mount("/static", StaticFiles(directory=HERE / "static"), name="store-static")

    def page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
        cart = carts.read(request.cookies.get(CART_COOKIE))
        base = {
            "root": request.scope.get("root_path", ""),
            "shopper": request.cookies.get(SHOPPER_COOKIE),
            "cart_count": sum(cart.values()),
        }
        return templates.TemplateResponse(request, name, {**base, **context}, status_code=status)

    def back(request: Request, path: str) -> RedirectResponse:
        return RedirectResponse(request.scope.get("root_path", "") + path, status_code=303)

    @store.get("/", response_class=HTMLResponse)
    def product_list(request: Request, category: str | None = None) -> Response:
        shown = [p for p in PRODUCTS if category in (None, "", p.category)]
        categories = sorted({p.category for p in PRODUCTS})
        context = {"products": shown, "categories": categories, "category": category}
        return page(request, "list.html", context)

    @store.get("/p/{sku}", response_class=HTMLResponse)
    def product_page(request: Request, sku: str, shared: str = "") -> Response:
        product = BY_SKU.get(sku)
        if product is None:
            return page(request, "message.html", {"message": "No such product."}, 404)
        shopper = request.cookies.get(SHOPPER_COOKIE)
        quote = None
        if shopper:  # the shopper's own price: kinsave picks their best coupon for this product
            line = {"sku": product.sku, "quantity": 1, "unit_price": product.price}
            try:
                quote = client.quote(shopper, [line])
            except KinsaveRefused:
                quote = None
        context = {"product": product, "quote": quote, "shared": shared == "1"}
        return page(request, "product.html", context)

    @store.post("/cart/add")
    def add_to_cart(request: Request, sku: Annotated[str, Form()]) -> Response:
        cart = carts.read(request.cookies.get(CART_COOKIE))
        if sku in BY_SKU:
            cart[sku] = min(cart.get(sku, 0) + 1, carts.MAX_QUANTITY)
        response = back(request, "/cart")
        response.set_cookie(CART_COOKIE, carts.write(cart), httponly=True, samesite="strict")
        return response

    @store.post("/cart/remove")
    def remove_from_cart(request: Request, sku: Annotated[str, Form()]) -> Response:
        cart = carts.read(request.cookies.get(CART_COOKIE))
        cart.pop(sku, None)
        response = back(request, "/cart")
        response.set_cookie(CART_COOKIE, carts.write(cart), httponly=True, samesite="strict")
        return response

    @store.get("/cart", response_class=HTMLResponse)
    def cart_page(request: Request) -> Response:
        lines = carts.lines(carts.read(request.cookies.get(CART_COOKIE)))
        subtotal = sum(product.price * quantity for product, quantity in lines)
        return page(request, "cart.html", {"lines": lines, "subtotal": subtotal})

    @store.get("/signin", response_class=HTMLResponse)
    def signin_page(request: Request) -> Response:
        return page(request, "signin.html", {})

    @store.post("/signin")
    def signin(request: Request, shopper_id: Annotated[str, Form()]) -> Response:
        if not SHOPPER_ID.match(shopper_id.strip()):
            return page(request, "signin.html", {"error": True}, 422)
        response = back(request, "/cart")
        response.set_cookie(SHOPPER_COOKIE, shopper_id.strip(), httponly=True, samesite="strict")
        return response

    @store.post("/token")
    def paste_token(request: Request, text: Annotated[str, Form()]) -> Response:
        """The password token box: kinsave says what the token points to; the store keeps the
        attribution handle for the order that follows."""
        shopper = request.cookies.get(SHOPPER_COOKIE)
        try:
            resolved = client.resolve_token(text[:2000], shopper)
        except KinsaveRefused as refused:
            return page(request, "message.html", {"message": refused.message}, 400)
        target = resolved.get("target", {})
        sku = str(target.get("id", ""))
        path = f"/p/{sku}?shared=1" if target.get("type") == "deal" and sku in BY_SKU else "/"
        response = back(request, path)
        response.set_cookie(
            ATTRIBUTION_COOKIE,
            str(resolved.get("attribution", "")),
            httponly=True,
            samesite="strict",
            max_age=7 * 24 * 3600,
        )
        return response

    @store.post("/checkout/quote", response_class=HTMLResponse)
    def checkout_quote(request: Request, use_credit: Annotated[str, Form()] = "0") -> Response:
        shopper = request.cookies.get(SHOPPER_COOKIE)
        if not shopper:
            return back(request, "/signin")
        cart = carts.read(request.cookies.get(CART_COOKIE))
        credit = int(use_credit) if use_credit.isdigit() else 0
        try:
            quote = client.quote(shopper, carts.quote_lines(cart), use_credit=credit)
        except KinsaveRefused as refused:
            return page(request, "message.html", {"message": refused.message}, 400)
        return page(request, "quote.html", {"quote": quote, "order_id": OrderBook.new_id()})

    @store.post("/checkout/pay")
    def checkout_pay(
        request: Request,
        order_id: Annotated[str, Form()],
        use_credit: Annotated[str, Form()] = "0",
    ) -> Response:
        """quote -> reserve -> (the store takes the payment) -> paid."""
        shopper = request.cookies.get(SHOPPER_COOKIE)
        if not shopper:
            return back(request, "/signin")
        lines = carts.quote_lines(carts.read(request.cookies.get(CART_COOKIE)))
        if not lines:
            return back(request, "/cart")
        credit = int(use_credit) if use_credit.isdigit() else 0
        attribution = request.cookies.get(ATTRIBUTION_COOKIE) or None
        try:
            quote = client.quote(shopper, lines, use_credit=credit)
            client.reserve(order_id, shopper, lines, quote)
            # Here a real store charges quote["total_to_pay"]; then it tells kinsave.
            order = client.paid(order_id, attribution)
        except KinsaveRefused as refused:
            return page(request, "message.html", {"message": refused.message}, 400)
        book.add(
            Order(
                id=order_id,
                shopper_id=shopper,
                lines=lines,
                total_to_pay=int(order["total_to_pay"]),
                discount=int(order["discount"]) + int(order["shipping_discount"]),
                credit_used=int(order["credit"]),
            )
        )
        response = back(request, "/orders")
        response.delete_cookie(CART_COOKIE)
        response.delete_cookie(ATTRIBUTION_COOKIE)
        return response

    @store.get("/orders", response_class=HTMLResponse)
    def my_orders(request: Request) -> Response:
        shopper = request.cookies.get(SHOPPER_COOKIE)
        if not shopper:
            return back(request, "/signin")
        return page(request, "orders.html", {"orders": book.of(shopper)})

    @store.post("/orders/{order_id}/refund")
    def refund(request: Request, order_id: str) -> Response:
        """Refund what is left of the order: cash from the store, credit and coupons back."""
        order = book.get(order_id)
        if order is None or order.shopper_id != request.cookies.get(SHOPPER_COOKIE):
            return page(request, "message.html", {"message": "No such order."}, 404)
        try:
            refunded = client.refund(order_id)
        except KinsaveRefused as refused:
            return page(request, "message.html", {"message": refused.message}, 400)
        order.status = "refunded"
        order.refunded_amount = int(refunded["amount"])
        order.credit_returned = int(refunded["credit_returned"])
        return back(request, "/orders")

    return store
