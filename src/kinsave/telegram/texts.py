"""Everything the bot says, in zh-CN and English. Pure: no database, no web.

The language comes from the Telegram user's `language_code`: any "zh..." speaks Chinese,
everything else English. Every message and button goes through `say`.
"""

from typing import Literal

Language = Literal["zh", "en"]

_TEXTS: dict[str, dict[Language, str]] = {
    "grab_button": {"zh": "抢红包", "en": "Grab"},
    "envelope_header": {
        "zh": "🧧 {sender} 发了一个红包：{greeting}\n共 ¥{total}，{shares} 份",
        "en": "🧧 {sender} sent a red envelope: {greeting}\n¥{total} in {shares} shares",
    },
    "default_greeting": {"zh": "恭喜发财，大吉大利", "en": "Good fortune and prosperity"},
    "grab_line": {"zh": "{name} 抢到 ¥{amount}", "en": "{name} got ¥{amount}"},
    "remaining": {
        "zh": "还剩 {shares} 份，¥{amount}",
        "en": "{shares} shares left, ¥{amount}",
    },
    "all_gone": {"zh": "红包已抢完！", "en": "All shares are taken!"},
    "luckiest": {"zh": "手气最佳：{name} 🎉", "en": "Luckiest: {name} 🎉"},
    "expired": {"zh": "红包已过期，未抢的已退回。", "en": "This envelope has expired."},
    "you_got": {"zh": "你抢到了 ¥{amount}！", "en": "You got ¥{amount}!"},
    "already_grabbed": {"zh": "你已经抢过这个红包了", "en": "You already grabbed this one"},
    "envelope_empty": {"zh": "手慢了，红包已抢完", "en": "Too late: every share is taken"},
    "envelope_expired": {"zh": "红包已过期", "en": "This envelope has expired"},
    "not_found": {"zh": "找不到这个红包", "en": "No such envelope"},
    "busy": {"zh": "太多人在抢，请再试一次", "en": "Very busy: tap again"},
    "insufficient_funds": {
        "zh": "余额不足，发不了这个红包",
        "en": "Not enough credit for this envelope",
    },
    "invalid_amount": {
        "zh": "金额不对：每份至少 ¥0.01，总额最多 ¥{max_total}，最多 {max_shares} 份",
        "en": "Bad amount: at least ¥0.01 a share, at most ¥{max_total} and {max_shares} shares",
    },
    "bad_amount": {
        "zh": "金额写法不对，例如 /hongbao 8.88 5 恭喜发财",
        "en": "Write the amount like /hongbao 8.88 5 Happy New Year",
    },
    "hongbao_usage": {
        "zh": "用法：/hongbao 金额 份数 [祝福语]，例如 /hongbao 10 5 恭喜发财",
        "en": "Usage: /hongbao AMOUNT SHARES [greeting], e.g. /hongbao 10 5 Happy New Year",
    },
    "hongbao_in_groups": {
        "zh": "请在群里发 /hongbao，大家才能抢",
        "en": "Send /hongbao in a group so that everyone can grab",
    },
    "daily_in_private": {
        "zh": "请私聊我发 /daily 领取每日红包",
        "en": "Send /daily to me in a private chat for your daily envelope",
    },
    "daily_got": {"zh": "今日红包：¥{amount} 已到账！", "en": "Today's envelope: ¥{amount}!"},
    "already_claimed_today": {
        "zh": "今天已经领过了，明天再来",
        "en": "Already claimed today: come back tomorrow",
    },
    "no_daily": {"zh": "今天没有每日红包", "en": "There is no daily envelope today"},
    "budget_exhausted": {"zh": "今天的红包发完了", "en": "Today's envelopes are all gone"},
    "help": {
        "zh": "🧧 在群里发 /hongbao 金额 份数 [祝福语] 发红包，私聊发 /daily 领每日红包，"
        "/remind 08:30 每天提醒。",
        "en": "🧧 In a group: /hongbao AMOUNT SHARES [greeting] sends a red envelope. "
        "In private: /daily claims today's envelope, /remind 08:30 reminds you daily.",
    },
    "remind_usage": {
        "zh": "每日提醒：/remind 08:30 [时区，如 Asia/Shanghai]；关闭：/remind off",
        "en": "Daily reminder: /remind 08:30 [time zone, e.g. Europe/London]; stop: /remind off",
    },
    "remind_on": {
        "zh": "好的，每天 {time}（{zone}）提醒你领红包。关闭：/remind off",
        "en": "Done: a reminder every day at {time} ({zone}). Stop: /remind off",
    },
    "remind_off": {"zh": "每日提醒已关闭", "en": "Daily reminder stopped"},
    "remind_now": {
        "zh": "🧧 今天的红包可以领了：发 /daily 领取（关闭提醒：/remind off）",
        "en": "🧧 Today's envelope is waiting: send /daily (stop reminders: /remind off)",
    },
    "not_set_up": {"zh": "这个机器人还没有设置好", "en": "This bot is not set up yet"},
    "error": {"zh": "出错了，请稍后再试", "en": "Something went wrong: try again later"},
}


def language_of(language_code: str | None) -> Language:
    return "zh" if (language_code or "").lower().startswith("zh") else "en"


def say(key: str, language: Language, **values: object) -> str:
    text = _TEXTS.get(key, _TEXTS["error"])[language]
    return text.format(**values) if values else text


def yuan(amount: int) -> str:
    """Fen as yuan for people: 1000 -> "10.00"."""
    return f"{amount // 100}.{amount % 100:02d}"


def known(key: str) -> bool:
    return key in _TEXTS
