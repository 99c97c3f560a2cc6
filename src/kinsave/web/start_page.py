"""The start page (/): where a newcomer finds the pages and the API docs."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from kinsave.web.rendering import TEMPLATES

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def start_page(request: Request) -> HTMLResponse:
    settings = request.app.state.settings
    pages = [
        ("/app", "The mini app", "what shoppers see: daily envelopes, coupons, the family circle"),
        ("/admin", "The operator console", "campaigns, coupons, channels, reports"),
    ]
    if settings.demo_store:
        pages.append(("/store", "The demo store", "a shop that redeems coupons and credit"))
    pages += [
        ("/docs", "API docs", "every endpoint, tried in the browser (Swagger UI)"),
        ("/redoc", "API reference", "the same API, to read (ReDoc)"),
    ]
    return TEMPLATES.TemplateResponse(request, "start.html", {"pages": pages})
