"""The pages: the mini app (/app), the operator console (/admin) and their static files."""

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from kinsave.web import console, console_reports, language, mini_app
from kinsave.web.security import install_page_headers

STATIC_DIR = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in (mini_app.router, console.router, console_reports.router, language.router):
        app.include_router(router)
    install_page_headers(app)
