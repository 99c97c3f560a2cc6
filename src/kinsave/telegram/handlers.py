"""One update in, the Bot API calls to make out (after the commit).

Every update first records its update_id in its own unit of work together with its database
work, so that a replayed update changes nothing and says nothing. A tap on "Grab" is a grab
through the API's own path, the grab batcher and its gate (as POST /v1/envelopes/{id}/grab), then
the group message is redrawn from what the database now holds; /daily is a claim through the
daily batcher and its gate (as POST /v1/daily/{id}/claim). Both movements are committed by their
batch after the update's own unit of work: a crash in between loses the tap or the claim (the
person taps again), never books it twice.
"""

import asyncio
import weakref
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from telegram import Bot, CallbackQuery, InlineQuery, Message, Update, User

from kinsave.config import Settings
from kinsave.db import unit_of_work
from kinsave.envelopes import daily
from kinsave.envelopes.grabs import GrabRequest
from kinsave.envelopes.schemas import DailyClaimOut, GrabOut
from kinsave.errors import KinsaveError
from kinsave.telegram import commands, reminders, service
from kinsave.telegram.actions import (
    Action,
    AnswerCallback,
    AnswerInline,
    EditMessage,
    InlineEnvelope,
    SendMessage,
)
from kinsave.telegram.bot import perform
from kinsave.telegram.service import TelegramPerson
from kinsave.telegram.texts import Language, say, yuan

_redraw_locks: "weakref.WeakValueDictionary[str, asyncio.Lock]" = weakref.WeakValueDictionary()


def person_of(user: User) -> TelegramPerson:
    return TelegramPerson(
        user_id=user.id,
        first_name=user.first_name,
        last_name=user.last_name,
        username=user.username,
        language_code=user.language_code,
    )


def update_kind(update: Update) -> str:
    for kind in ("message", "callback_query", "inline_query", "chosen_inline_result"):
        if getattr(update, kind) is not None:
            return kind
    return "other"


async def handle_update(app_state: Any, update: Update, bot: Bot) -> None:
    """Do the update's work (nothing for a replay), commit, then make its Bot API calls."""
    if update.callback_query is not None and update.callback_query.from_user is not None:
        await _on_tap(app_state, update.update_id, update.callback_query, bot)
        return
    if _is_daily_in_private(update.message):
        assert update.message is not None
        await perform(bot, await _on_daily(app_state, update.update_id, update.message))
        return
    await perform(bot, await _on_update(app_state, update))


def _is_daily_in_private(message: Message | None) -> bool:
    if message is None or not message.text or message.from_user is None:
        return False
    name, _ = commands.command_of(message.text)
    return name == "/daily" and message.chat.type == "private"


async def _on_daily(app_state: Any, update_id: int, message: Message) -> list[Action]:
    """/daily in a private chat: the update recorded and the person made a shopper in one unit
    of work, then today's claim through the daily batcher (so its gate sees it)."""
    assert message.from_user is not None
    factory: sessionmaker[Session] = app_state.session_factory
    settings: Settings = app_state.settings
    person = person_of(message.from_user)

    def record() -> tuple[bool, daily.DailyRequest | None]:
        with unit_of_work(factory) as session:
            if not service.record_update(session, update_id, "message"):
                return False, None
            return True, service.daily_request(session, settings, person)

    recorded, claim = await run_in_threadpool(record)
    if not recorded:
        return []
    reply = _replier(message)
    if claim is None:
        return [reply(say("no_daily", person.language))]
    try:
        claimed: DailyClaimOut = await app_state.daily_batcher.submit(
            claim, order_key=claim.campaign_id
        )
    except KinsaveError as refusal:
        code = "no_daily" if refusal.code in ("not_found", "campaign_not_active") else refusal.code
        return [reply(_refusal_text(code, person.language, settings))]
    return [reply(say("daily_got", person.language, amount=yuan(claimed.amount)))]


async def _on_update(app_state: Any, update: Update) -> list[Action]:
    factory: sessionmaker[Session] = app_state.session_factory
    settings: Settings = app_state.settings
    message = update.message
    in_transaction: Callable[[Session], list[Action]] = lambda session: []  # noqa: E731
    if message is not None and message.text and message.from_user is not None:
        in_transaction = lambda session: _on_message(session, settings, message)  # noqa: E731
    inline = update.inline_query
    if inline is not None:
        in_transaction = lambda session: _on_inline_query(session, settings, inline)  # noqa: E731

    def work() -> list[Action]:
        with unit_of_work(factory) as session:
            if not service.record_update(session, update.update_id, update_kind(update)):
                return []
            return in_transaction(session)

    return await run_in_threadpool(work)


def _on_message(session: Session, settings: Settings, message: Message) -> list[Action]:
    assert message.from_user is not None and message.text is not None
    person = person_of(message.from_user)
    language = person.language
    name, arguments = commands.command_of(message.text)
    private = message.chat.type == "private"
    reply = _replier(message)
    if name == "/hongbao":
        if private:
            return [reply(say("hongbao_in_groups", language))]
        return _send_envelope(session, settings, message, person, arguments)
    if name == "/daily":  # in a private chat: _on_daily
        return [reply(say("daily_in_private", language))]
    if name == "/remind":
        if not private:
            return [reply(say("daily_in_private", language))]
        return [reply(_remind(session, settings, message.chat.id, person, arguments))]
    if name in ("/start", "/help"):
        return [reply(say("help", language))]
    return []


def _on_inline_query(session: Session, settings: Settings, query: InlineQuery) -> list[Action]:
    """The Mini App's "send to a Telegram group": it created the envelope through the API, then
    called switchInlineQuery(envelope id); its sender gets the envelope's message to post."""
    person = person_of(query.from_user)
    envelope_id = service.sender_envelope(session, settings, person, query.query.strip())
    if envelope_id is None:
        return [AnswerInline(query.id, ())]
    text, button = service.envelope_message(session, envelope_id, person.language)
    title = say("grab_button", person.language) + " 🧧"
    return [AnswerInline(query.id, (InlineEnvelope(envelope_id, title, text, button),))]


def _replier(message: Message) -> Callable[[str], SendMessage]:
    return lambda text: SendMessage(message.chat.id, text, reply_to_message_id=message.message_id)


def _send_envelope(
    session: Session, settings: Settings, message: Message, person: TelegramPerson, args: str
) -> list[Action]:
    language = person.language
    try:
        command = commands.parse_hongbao(args)
        envelope = service.send_envelope(session, settings, person, command)
    except commands.CommandRefused as refused:
        return [_replier(message)(say(refused.code, language))]
    except KinsaveError as refusal:
        code = "not_set_up" if refusal.code == "not_found" else refusal.code  # no shop
        return [_replier(message)(_refusal_text(code, language, settings))]
    text, button = service.envelope_message(session, envelope.id, language)
    return [SendMessage(message.chat.id, text, button=button)]


def _remind(
    session: Session, settings: Settings, chat_id: int, person: TelegramPerson, arguments: str
) -> str:
    language = person.language
    try:
        command = commands.parse_remind(arguments)
    except commands.CommandRefused as refused:
        return say(refused.code, language)
    with session.begin_nested():
        shopper_id = service.shopper_for(session, settings, person)
    reminders.set_reminder(session, shopper_id, chat_id, language, command)
    if command.off:
        return say("remind_off", language)
    return say("remind_on", language, time=command.local_time, zone=command.timezone)


def _refusal_text(code: str, language: Language, settings: Settings) -> str:
    if code == "invalid_amount":
        return say(
            code,
            language,
            max_total=yuan(settings.envelope_max_total),
            max_shares=settings.envelope_max_shares,
        )
    if code == "service_unavailable":
        code = "busy"
    return say(code, language)


async def _on_tap(app_state: Any, update_id: int, query: CallbackQuery, bot: Bot) -> None:
    settings: Settings = app_state.settings
    factory: sessionmaker[Session] = app_state.session_factory
    person = person_of(query.from_user)
    target = service.parse_grab_callback(query.data or "")

    def record() -> bool:
        with unit_of_work(factory) as session:
            if not service.record_update(session, update_id, "callback_query"):
                return False
            if target is not None:
                service.shopper_for(session, settings, person)
            return True

    if not await run_in_threadpool(record):
        return
    if target is None:
        await perform(bot, [AnswerCallback(query.id, say("not_found", person.language))])
        return
    envelope_id, group_language = target
    try:
        grabbed = await _grab(app_state, envelope_id, person.shopper_id)
    except KinsaveError as refusal:
        text = _refusal_text(refusal.code, person.language, settings)
        await perform(bot, [AnswerCallback(query.id, text)])
        return
    answer = AnswerCallback(
        query.id, say("you_got", person.language, amount=yuan(grabbed.amount)), show_alert=True
    )
    await perform(bot, [answer])
    await _redraw(app_state, envelope_id, group_language, query, bot)


async def _grab(app_state: Any, envelope_id: str, shopper_id: str) -> GrabOut:
    """The API's grab: through the grab batcher, as POST /v1/envelopes/{id}/grab."""
    outcome: GrabOut = await app_state.grab_batcher.answer(
        GrabRequest(envelope_id, shopper_id), order_key=envelope_id
    )
    return outcome


async def _redraw(
    app_state: Any, envelope_id: str, language: Language, query: CallbackQuery, bot: Bot
) -> None:
    """Edit the group message from the state read now, under a per-envelope lock held until the
    edit is sent: the last edit Telegram gets is drawn from the freshest state."""
    lock = _redraw_locks.setdefault(envelope_id, asyncio.Lock())
    async with lock:

        def draw() -> EditMessage:
            with app_state.read_session_factory() as session:
                text, button = service.envelope_message(session, envelope_id, language)
            message = query.message
            return EditMessage(
                text,
                chat_id=message.chat.id if message is not None else None,
                message_id=message.message_id if message is not None else None,
                inline_message_id=query.inline_message_id,
                button=button,
            )

        await perform(bot, [await run_in_threadpool(draw)])
