"""The daily reminder: a shopper opts in from their private chat (`/remind 08:30 [zone]`), opts
out (`/remind off`), and `kinsave telegram send-reminders` (run it every minute, e.g. from
cron) sends each due reminder once per local day. Never commits, never calls Telegram."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from kinsave.db import insert_on_conflict, utcnow
from kinsave.telegram import texts
from kinsave.telegram.actions import SendMessage
from kinsave.telegram.commands import RemindCommand
from kinsave.telegram.models import TelegramReminder
from kinsave.telegram.texts import say

BATCH = 500


def set_reminder(
    session: Session, shopper_id: str, chat_id: int, language: str, command: RemindCommand
) -> None:
    """Opt in (or move the time); `command.off` opts out."""
    if command.off:
        session.execute(delete(TelegramReminder).where(TelegramReminder.shopper_id == shopper_id))
        return
    values = {
        "chat_id": chat_id,
        "language": language,
        "local_time": command.local_time,
        "timezone": command.timezone,
    }
    statement = insert_on_conflict(session, TelegramReminder).values(
        shopper_id=shopper_id, created_at=utcnow(), last_sent_day=None, **values
    )
    session.execute(statement.on_conflict_do_update(index_elements=["shopper_id"], set_=values))


def due_reminders(session: Session, now: datetime | None = None) -> list[SendMessage]:
    """Claim every reminder due now (its local time has come, none sent this local day) and
    return the messages to send after the commit. The claim is a conditional update, so two
    runners racing each other send each reminder once."""
    now = now or utcnow()
    rows = session.execute(select(TelegramReminder).limit(BATCH)).scalars().all()
    messages = []
    for row in rows:
        local_now = now.astimezone(ZoneInfo(row.timezone))
        hour, minute = (int(part) for part in row.local_time.split(":"))
        if local_now.time() < time(hour, minute) or row.last_sent_day == local_now.date():
            continue
        claimed = session.execute(
            update(TelegramReminder)
            .where(
                TelegramReminder.shopper_id == row.shopper_id,
                or_(
                    TelegramReminder.last_sent_day.is_(None),
                    TelegramReminder.last_sent_day < local_now.date(),
                ),
            )
            .values(last_sent_day=local_now.date())
            .returning(TelegramReminder.chat_id)
        ).scalar_one_or_none()
        if claimed is not None:
            language = texts.language_of(row.language)
            messages.append(SendMessage(claimed, say("remind_now", language)))
    return messages
