"""What the bot will say once the update's transaction has committed (an outbox in memory).

Handlers return these; bot.py turns them into Bot API calls after the commit, never inside it.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Button:
    label: str
    callback_data: str


@dataclass(frozen=True)
class SendMessage:
    chat_id: int
    text: str
    button: Button | None = None
    reply_to_message_id: int | None = None


@dataclass(frozen=True)
class EditMessage:
    text: str
    chat_id: int | None = None
    message_id: int | None = None
    inline_message_id: str | None = None
    button: Button | None = None


@dataclass(frozen=True)
class AnswerCallback:
    callback_query_id: str
    text: str
    show_alert: bool = False


@dataclass(frozen=True)
class InlineEnvelope:
    """One inline-mode result: the envelope's message with its Grab button, ready to post."""

    result_id: str
    title: str
    text: str
    button: Button | None


@dataclass(frozen=True)
class AnswerInline:
    inline_query_id: str
    results: tuple[InlineEnvelope, ...]


Action = SendMessage | EditMessage | AnswerCallback | AnswerInline
