"""The console's sharing channels: each channel's policy, edited as a new version, with history."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from kinsave.api import ReadSession, Writes
from kinsave.errors import KinsaveError
from kinsave.sharing import campaign_setup, channels
from kinsave.web.console_forms import (
    first_refused_field,
    form_operator,
    operator_change,
    to_sign_in,
)
from kinsave.web.forms import FormError, policy_from_form
from kinsave.web.paging import page_of
from kinsave.web.rendering import render
from kinsave.web.security import console_operator

router = APIRouter(prefix="/admin/channels", include_in_schema=False)
POLICY_FIELDS = (
    "links_allowed",
    "qr_allowed",
    "share_reward_wording_allowed",
    "random_rewards_allowed",
    "help_count_must_show",
    "mini_app_card_allowed",
    "allowed_domains",
    "blocked_domains",
    "payment_methods",
    "note",
)


@router.get("", response_class=HTMLResponse)
def channel_list(request: Request, session: ReadSession, offset: int = 0) -> Response:
    operator = console_operator(request)
    if operator is None:
        return to_sign_in()
    listing = channels.list_channels(session, operator.shop_id)
    context = {"page": page_of(listing.channels, offset), "nav": "channels"}
    return render(request, "admin/channels.html", context)


@router.get("/{channel}", response_class=HTMLResponse)
def channel_policy(
    channel: str,
    request: Request,
    session: ReadSession,
    problem: str | None = None,
    offset: int = 0,
) -> Response:
    operator = console_operator(request)
    if operator is None:
        return to_sign_in()
    try:
        policy = channels.policy_history(session, operator.shop_id, channel)
    except KinsaveError:
        return render(request, "admin/missing.html", {}, status_code=404)
    history = page_of(policy.history, offset)
    context = {
        "policy": policy,
        "history": history.items,
        "offset": history.offset,
        "limit": history.limit,
        "next_offset": history.next_offset,
        "problem": problem,
        "nav": "channels",
    }
    return render(request, "admin/channel.html", context)


@router.post("/{channel}", response_class=HTMLResponse)
async def update_policy(
    channel: str, request: Request, session: ReadSession, writes: Writes
) -> Response:
    form = await request.form()
    operator = form_operator(request, str(form.get("csrf", "")))
    if isinstance(operator, Response):
        return operator
    back = f"/admin/channels/{channel}"
    try:
        current = channels.current_rules(session, operator.shop_id, channel)
        data = policy_from_form({k: str(form.get(k, "")) for k in POLICY_FIELDS}, current)
        with operator_change(writes, operator) as write:
            campaign_setup.update_policy_and_relint(write, operator.shop_id, channel, data)
    except FormError as error:
        return RedirectResponse(f"{back}?problem={error.field}", status_code=303)
    except ValidationError as error:
        return RedirectResponse(f"{back}?problem={first_refused_field(error)}", status_code=303)
    except KinsaveError as error:
        return RedirectResponse(f"{back}?problem={error.code}", status_code=303)
    return RedirectResponse(back, status_code=303)
