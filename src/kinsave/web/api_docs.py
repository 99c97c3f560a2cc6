"""The API explorer (/docs, Swagger UI) and reference (/redoc, ReDoc), served without a CDN.

Their scripts and styles come from the fastapi-offline package (the released Swagger UI and ReDoc
bundles, nothing else of it is used), so both pages work on a machine with no internet. Swagger
UI's page starts it with one inline script: the page's policy allows exactly that script by its
hash, computed here from the HTML FastAPI renders.
"""

import base64
import hashlib
import re

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_PATH = "/docs/assets"
INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)
# Swagger UI and ReDoc set inline styles and ReDoc runs its search in a blob: worker.
DOCS_CSP_TEMPLATE = (
    "default-src 'self'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; font-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def install_api_docs(app: FastAPI) -> None:
    """Mount the bundled assets and add /docs and /redoc (create the app with docs_url=None and
    redoc_url=None so FastAPI's CDN pages are not added too)."""
    app.mount(
        ASSETS_PATH,
        StaticFiles(packages=[("fastapi_offline", "static")]),
        name="api-docs-assets",
    )
    title = f"{app.title} API"
    openapi_url = app.openapi_url or "/openapi.json"
    swagger = with_policy(
        get_swagger_ui_html(
            openapi_url=openapi_url,
            title=title,
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon.png",
        )
    )
    redoc = with_policy(
        get_redoc_html(
            openapi_url=openapi_url,
            title=title,
            redoc_js_url=f"{ASSETS_PATH}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS_PATH}/favicon.png",
            with_google_fonts=False,
        )
    )

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return HTMLResponse(*swagger)

    @app.get("/redoc", include_in_schema=False)
    def redoc_page() -> HTMLResponse:
        return HTMLResponse(*redoc)


def with_policy(page: HTMLResponse) -> tuple[bytes, int, dict[str, str]]:
    """The page's body, status and headers, with a Content-Security-Policy that allows its own
    inline scripts by their hashes."""
    body = bytes(page.body)
    hashes = "".join(
        f" 'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
        for script in INLINE_SCRIPT.findall(body)
    )
    headers = {
        "Content-Security-Policy": DOCS_CSP_TEMPLATE.format(hashes=hashes),
        "Cache-Control": "no-cache",
    }
    return body, 200, headers
