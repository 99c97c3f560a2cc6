"""Turning the console's form fields into the API's request models. Pure: no database, no web."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kinsave.campaigns.schemas import CampaignIn
from kinsave.coupons.schemas import ScopeIn, TemplateIn
from kinsave.envelopes.daily_rule import UniformRule
from kinsave.sharing.policy import PolicyRules
from kinsave.sharing.schemas import PolicyIn

YUAN = re.compile(r"^\s*(\d{1,10})(?:\.(\d{1,2}))?\s*$")


class FormError(ValueError):
    """A field a person typed cannot be read; `field` names it for the form."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


def parse_yuan(text: str, field: str) -> int:
    """'12', '12.5' or '12.50' yuan as fen, read as text so no float touches money."""
    match = YUAN.match(text)
    if not match:
        raise FormError(field)
    return int(match.group(1)) * 100 + int((match.group(2) or "").ljust(2, "0"))


def parse_signed_yuan(text: str, field: str) -> int:
    """'5', '+5.50' or '-12.5' yuan as signed fen (an adjustment may take credit back)."""
    stripped = text.strip()
    sign = -1 if stripped.startswith(("-", "−")) else 1
    return sign * parse_yuan(stripped.lstrip("+-−"), field)


def parse_int(text: str, field: str) -> int:
    if not text.strip().isdigit():
        raise FormError(field)
    return int(text)


def parse_local_time(text: str, timezone: str, field: str) -> datetime | None:
    """A datetime-local field ('2026-12-31T20:00') read in the campaign's own timezone."""
    if not text.strip():
        return None
    try:
        naive = datetime.fromisoformat(text.strip())
    except ValueError as error:
        raise FormError(field) from error
    if naive.tzinfo is not None:
        raise FormError(field)
    try:
        return naive.replace(tzinfo=ZoneInfo(timezone))
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise FormError("timezone") from error


def campaign_from_form(fields: dict[str, str]) -> CampaignIn:
    """Raises FormError, or pydantic's ValidationError for rules the API model enforces."""
    timezone = fields.get("timezone", "") or "Asia/Shanghai"
    daily_min, daily_max = fields.get("daily_min", "").strip(), fields.get("daily_max", "").strip()
    rule = None
    if daily_min or daily_max:
        rule = UniformRule(
            min=parse_yuan(daily_min, "daily_min"), max=parse_yuan(daily_max, "daily_max")
        )
    return CampaignIn(
        name=fields.get("name", "").strip(),
        budget=parse_yuan(fields.get("budget", ""), "budget"),
        timezone=timezone,
        starts_at=parse_local_time(fields.get("starts_at", ""), timezone, "starts_at"),
        ends_at=parse_local_time(fields.get("ends_at", ""), timezone, "ends_at"),
        daily_rule=rule,
    )


def split_list(text: str) -> list[str]:
    """'a, b\nc' -> ['a', 'b', 'c']: one value per comma or line, blanks dropped."""
    return [part.strip() for part in re.split(r"[,\n]", text) if part.strip()]


def template_from_form(fields: dict[str, str]) -> TemplateIn:
    """A coupon template from the console's form (money in yuan, times in the form's timezone).
    Raises FormError naming the field, or pydantic's ValidationError for rules the API model
    enforces."""
    kind = fields.get("kind", "amount_off")
    categories = split_list(fields.get("categories", ""))
    money = {
        name: parse_yuan(fields.get(name, "") or "0", name)
        for name in ("amount", "threshold", "cap", "min_spend")
    }
    valid_from, valid_until = claim_window(fields)
    # With an end date and no day count a coupon lives until the end date, not a default week.
    default_days = "" if valid_until else "7"
    days = fields.get("valid_days", "").strip() or default_days
    return TemplateIn(
        name=fields.get("name", "").strip(),
        kind=kind,  # the model refuses an unknown kind
        percent=parse_int(fields.get("percent", "") or "0", "percent"),
        stock=parse_int(fields.get("stock", ""), "stock"),
        per_shopper_limit=parse_int(
            fields.get("per_shopper_limit", "") or "1", "per_shopper_limit"
        ),
        valid_days=parse_int(days, "valid_days") if days else None,
        valid_from=valid_from,
        valid_until=valid_until,
        stacking_group=fields.get("stacking_group", "").strip() or "default",
        credit_combinable=fields.get("credit_combinable", "yes") != "no",
        campaign_id=fields.get("campaign_id", "").strip() or None,
        scope=ScopeIn(categories=categories),
        **money,
    )


def claim_window(fields: dict[str, str]) -> tuple[datetime | None, datetime | None]:
    """The start and end dates, checked here so the form can name the field at fault (the API
    answers one `invalid_request` for either)."""
    timezone = fields.get("timezone", "").strip() or "Asia/Shanghai"
    valid_from = parse_local_time(fields.get("valid_from", ""), timezone, "valid_from")
    valid_until = parse_local_time(fields.get("valid_until", ""), timezone, "valid_until")
    if valid_from and valid_until and valid_until <= valid_from:
        raise FormError("valid_until")
    return valid_from, valid_until


def policy_from_form(fields: dict[str, str], current: PolicyRules) -> PolicyIn:
    """A new channel policy version from the form; the deep-link rule is kept as it is."""
    return PolicyIn(
        links_allowed=fields.get("links_allowed") == "on",
        qr_allowed=fields.get("qr_allowed") == "on",
        share_reward_wording_allowed=fields.get("share_reward_wording_allowed") == "on",
        random_rewards_allowed=fields.get("random_rewards_allowed") == "on",
        help_count_must_show=fields.get("help_count_must_show") == "on",
        mini_app_card_allowed=fields.get("mini_app_card_allowed") == "on",
        allowed_domains=split_list(fields.get("allowed_domains", "")),
        blocked_domains=split_list(fields.get("blocked_domains", "")),
        payment_methods=split_list(fields.get("payment_methods", "")),
        deep_link=current.deep_link,
        note=fields.get("note", "").strip()[:200],
    )
