"""The bot's database work, one unit of work per update (the caller's): replay refusal, the
Telegram user's shopper, the bot's shop, envelopes and the daily claim. Never commits, never
calls Telegram: it returns what to say (actions.py) for after the commit."""

from dataclasses import dataclass

from sqlalchemy.orm import Session

from kinsave.auth import service as auth
from kinsave.campaigns import service as campaigns
from kinsave.config import Settings
from kinsave.db import insert_on_conflict, utcnow
from kinsave.envelopes import daily
from kinsave.envelopes import service as envelopes
from kinsave.envelopes.schemas import EnvelopeOut, ShopperEnvelopeIn
from kinsave.errors import KinsaveError
from kinsave.telegram import texts
from kinsave.telegram.actions import Button
from kinsave.telegram.commands import HongbaoCommand
from kinsave.telegram.models import TelegramUpdate
from kinsave.telegram.texts import Language, say, yuan


@dataclass(frozen=True)
class TelegramPerson:
    user_id: int
    first_name: str
    last_name: str | None
    username: str | None
    language_code: str | None

    @property
    def shopper_id(self) -> str:
        return f"tg:{self.user_id}"  # the same shopper as the Mini App sign-in

    @property
    def display_name(self) -> str:
        name = f"{self.first_name} {self.last_name or ''}".strip()
        return (name or self.username or self.shopper_id)[:100]

    @property
    def language(self) -> Language:
        return texts.language_of(self.language_code)


def record_update(session: Session, update_id: int, kind: str) -> bool:
    """True the first time this update_id is seen; False for a replay (which must change
    nothing). The primary key decides, so two deliveries racing each other cannot both win."""
    inserted = session.execute(
        insert_on_conflict(session, TelegramUpdate)
        .values(update_id=update_id, kind=kind[:32], received_at=utcnow())
        .on_conflict_do_nothing(index_elements=["update_id"])
        .returning(TelegramUpdate.update_id)
    ).scalar_one_or_none()
    return inserted is not None


def shopper_for(session: Session, settings: Settings, person: TelegramPerson) -> str:
    """The Telegram user's kinsave shopper (created on first sight) and channel identity."""
    auth.ensure_shopper(session, person.shopper_id, person.display_name)
    token_prefix = (settings.telegram_bot_token or "").split(":", 1)[0]
    auth.remember_channel_identity(
        session,
        host="telegram",
        host_user_id=str(person.user_id),
        shopper_id=person.shopper_id,
        app_id=str(settings.telegram_bot_id or token_prefix) or None,
    )
    return person.shopper_id


def bot_shop_id(session: Session, settings: Settings) -> str | None:
    """The shop this bot serves: KINSAVE_TELEGRAM_SHOP, or the deployment's only shop."""
    if settings.telegram_shop:
        shop = auth.find_shop(session, settings.telegram_shop)
        return shop.id if shop else None
    names = auth.list_shop_names(session, limit=2)
    if len(names) != 1:
        return None
    shop = auth.find_shop(session, names[0])
    return shop.id if shop else None


def send_envelope(
    session: Session, settings: Settings, person: TelegramPerson, command: HongbaoCommand
) -> EnvelopeOut:
    """A lucky envelope funded from the sender's credit at the bot's shop. Nothing is written on
    a refusal (a savepoint). Errors: not_found (no shop), insufficient_funds, invalid_amount."""
    shop_id = bot_shop_id(session, settings)
    if shop_id is None:
        raise KinsaveError("not_found", "this bot serves no shop")
    with session.begin_nested():
        shopper_id = shopper_for(session, settings, person)
    body = ShopperEnvelopeIn(
        total=command.total,
        shares=command.shares,
        kind="lucky",
        message=command.greeting,
        shop_id=shop_id,
    )
    with session.begin_nested():
        return envelopes.create_shopper_envelope(session, settings, shopper_id, body)


def daily_request(
    session: Session, settings: Settings, person: TelegramPerson
) -> daily.DailyRequest | None:
    """Today's daily envelope of the bot's shop for this person (made a shopper if new), to
    claim through the API's daily batcher; None when no daily envelope is running."""
    shop_id = bot_shop_id(session, settings)
    campaign_id = _daily_campaign(session, shop_id) if shop_id else None
    if campaign_id is None:
        return None
    with session.begin_nested():
        shopper_id = shopper_for(session, settings, person)
    return daily.DailyRequest(campaign_id, shopper_id)


def _daily_campaign(session: Session, shop_id: str) -> str | None:
    now = utcnow()
    for campaign_id in campaigns.campaign_ids(session, shop_id):
        try:
            campaigns.daily_terms(session, campaign_id, now)
        except KinsaveError:
            continue
        return campaign_id
    return None


def grab_callback_data(envelope_id: str, language: Language) -> str:
    return f"grab:{envelope_id}:{language}"  # well under Telegram's 64 bytes


def parse_grab_callback(data: str) -> tuple[str, Language] | None:
    parts = data.split(":")
    if len(parts) != 3 or parts[0] != "grab" or not parts[1].startswith("env_"):
        return None
    return parts[1], texts.language_of(parts[2])


def envelope_message(
    session: Session, envelope_id: str, language: Language
) -> tuple[str, Button | None]:
    """The group message of an envelope: who sent it, who got what, what is left, and the
    luckiest once the last share is gone; the Grab button while shares remain."""
    view = envelopes.envelope_view(session, envelope_id, viewer=None)
    names = auth.display_names(
        session, [g.shopper_id for g in view.grabs] + [view.sender_shopper_id or ""]
    )
    lines = [
        say(
            "envelope_header",
            language,
            sender=names.get(view.sender_shopper_id or "", "?"),
            greeting=view.message or say("default_greeting", language),
            total=yuan(view.total),
            shares=view.shares,
        )
    ]
    for grab in sorted(view.grabs, key=lambda g: g.grabbed_at):
        lines.append(say("grab_line", language, name=grab.display_name, amount=yuan(grab.amount)))
    if view.remaining_shares and view.status == "open":
        lines.append(
            say(
                "remaining",
                language,
                shares=view.remaining_shares,
                amount=yuan(view.remaining_amount),
            )
        )
        button = Button(say("grab_button", language), grab_callback_data(envelope_id, language))
        return "\n".join(lines), button
    lines.append(say("all_gone" if not view.remaining_shares else "expired", language))
    if view.luckiest_shopper_id and view.luckiest_is_final:
        lines.append(say("luckiest", language, name=names.get(view.luckiest_shopper_id, "?")))
    return "\n".join(lines), None


def sender_envelope(
    session: Session, settings: Settings, person: TelegramPerson, envelope_id: str
) -> str | None:
    """The envelope id if this Telegram user sent it and it is still open, else None: inline
    mode offers an envelope only to its sender."""
    if not envelope_id.startswith("env_") or len(envelope_id) > 40:
        return None
    try:
        view = envelopes.envelope_view(session, envelope_id, viewer=None)
    except KinsaveError:
        return None
    if view.sender_shopper_id != person.shopper_id or view.status != "open":
        return None
    return envelope_id
