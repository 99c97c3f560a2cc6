"""The console's home (/admin): the shop overview, today and the last 7 and 30 days, with the
budget chart drawn on the server as SVG (no script, no CDN). Numbers: `reports.queries`;
sums, ratios and chart geometry: `reports.overview` (pure)."""

from babel.numbers import format_decimal
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kinsave.api import ReadSession
from kinsave.campaigns import service as campaigns
from kinsave.db import utcnow
from kinsave.reports import overview, queries
from kinsave.web.formatting import DEFAULT_TIMEZONE, babel_locale
from kinsave.web.i18n import choose_language
from kinsave.web.rendering import render
from kinsave.web.security import console_operator

router = APIRouter(prefix="/admin", include_in_schema=False)


@router.get("", response_class=HTMLResponse)
def shop_overview(request: Request, session: ReadSession) -> Response:
    operator = console_operator(request)
    if operator is None:
        return RedirectResponse("/admin/login", status_code=303)
    latest = campaigns.list_campaigns(session, operator.shop_id, limit=1, offset=0).campaigns
    timezone = latest[0].timezone if latest else DEFAULT_TIMEZONE
    days = queries.daily_totals(session, operator.shop_id, utcnow(), timezone)
    line, bars, height = overview.burn_chart(days)
    locale = babel_locale(choose_language(request))
    windows = [overview.window(days, last) for last in overview.WINDOWS]
    context = {
        "windows": windows,
        "ratios": [
            None if w.return_on_spend is None else format_decimal(w.return_on_spend, "0.00", locale)
            for w in windows
        ],
        "days": days,
        "line": line,
        "bars": bars,
        "chart": {"width": overview.CHART_WIDTH, "height": height, "left": overview.LEFT},
        "timezone": timezone,
        "nav": "overview",
    }
    return render(request, "admin/overview.html", context)
