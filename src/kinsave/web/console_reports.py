"""The console's report data: the budget burn as JSON for the chart and as CSV to download."""

import csv
import io

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from kinsave.api import ReadSession
from kinsave.campaigns import service as campaigns
from kinsave.errors import KinsaveError
from kinsave.web.security import console_operator

router = APIRouter(prefix="/admin/campaigns/{campaign_id}", include_in_schema=False)
BURN_COLUMNS = ("day", "funded", "spent", "spent_to_date", "remaining")


@router.get("/burn.json")
def burn_json(campaign_id: str, request: Request, session: ReadSession) -> Response:
    operator = console_operator(request)
    if operator is None:
        raise KinsaveError("unauthorized", "sign in to the console")
    burn = campaigns.budget_burn(session, operator.shop_id, campaign_id)
    return JSONResponse(burn.model_dump(mode="json"))


@router.get("/burn.csv")
def burn_csv(campaign_id: str, request: Request, session: ReadSession) -> Response:
    operator = console_operator(request)
    if operator is None:
        raise KinsaveError("unauthorized", "sign in to the console")
    burn = campaigns.budget_burn(session, operator.shop_id, campaign_id)
    out = io.StringIO()
    writer = csv.writer(out)
    # Amounts stay in minor units (fen), as everywhere in kinsave: no rounding in a spreadsheet.
    writer.writerow([*BURN_COLUMNS[:1], *(f"{c}_fen" for c in BURN_COLUMNS[1:])])
    for point in burn.points:
        writer.writerow(
            [
                point.day.isoformat(),
                point.funded,
                point.spent,
                point.spent_to_date,
                point.remaining,
            ]
        )
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="burn-{campaign_id}.csv"'},
    )
