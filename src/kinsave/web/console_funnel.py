"""The console's sharing funnel: a table by channel, a chart by day (uPlot), CSV by channel and day.

The numbers come from `sharing.funnel` (the same report as `GET /v1/admin/campaigns/{id}/funnel`).
"""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from kinsave.api import ReadSession
from kinsave.campaigns import service as campaigns
from kinsave.errors import KinsaveError
from kinsave.sharing import funnel
from kinsave.web.paging import page_of
from kinsave.web.rendering import render
from kinsave.web.security import console_operator

router = APIRouter(prefix="/admin/campaigns/{campaign_id}", include_in_schema=False)


@router.get("/funnel", response_class=HTMLResponse)
def funnel_page(
    campaign_id: str, request: Request, session: ReadSession, offset: int = 0
) -> Response:
    operator = console_operator(request)
    if operator is None:
        return RedirectResponse("/admin/login", status_code=303)
    try:
        campaign = campaigns.get_campaign(session, operator.shop_id, campaign_id)
        by_channel = funnel.funnel(session, operator.shop_id, campaign_id, ["channel"])
    except KinsaveError:
        return render(request, "admin/missing.html", {}, status_code=404)
    context = {"campaign": campaign, "page": page_of(by_channel.rows, offset), "nav": "campaigns"}
    return render(request, "admin/funnel.html", context)


@router.get("/funnel.json")
def funnel_json(campaign_id: str, request: Request, session: ReadSession) -> Response:
    """By day: the chart's data."""
    operator = console_operator(request)
    if operator is None:
        raise KinsaveError("unauthorized", "sign in to the console")
    report = funnel.funnel(session, operator.shop_id, campaign_id, ["day"])
    return JSONResponse(report.model_dump(mode="json"))


@router.get("/funnel.csv")
def funnel_csv(campaign_id: str, request: Request, session: ReadSession) -> Response:
    """By channel and day, amounts in fen."""
    operator = console_operator(request)
    if operator is None:
        raise KinsaveError("unauthorized", "sign in to the console")
    report = funnel.funnel(session, operator.shop_id, campaign_id, ["channel", "day"])
    return Response(
        funnel.funnel_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="funnel-{campaign_id}.csv"'},
    )
