"""Pure: recognise bots and link-preview crawlers by User-Agent, so their opens are not counted.

Hosts fetch every link pasted into a chat to draw a preview card; counting those would credit a
share with opens nobody made. Matching is a case-insensitive substring test on known names.
"""

BOT_MARKERS: tuple[str, ...] = (
    "facebookexternalhit",
    "facebookcatalog",
    "meta-externalagent",
    "telegrambot",
    "whatsapp",
    "slackbot",
    "slack-imgproxy",
    "twitterbot",
    "discordbot",
    "linkedinbot",
    "googlebot",
    "google-inspectiontool",
    "adsbot-google",
    "bingbot",
    "bingpreview",
    "applebot",
    "yandexbot",
    "baiduspider",
    "duckduckbot",
    "petalbot",
    "sogou",
    "bytespider",
    "skypeuripreview",
    "vkshare",
    "pinterestbot",
    "redditbot",
    "embedly",
    "iframely",
    "mastodon",
    "snapchat",
    "viber",
    "line-poker",
    "kakaotalk-scrap",
    "curl/",
    "wget/",
    "python-requests",
    "python-urllib",
    "go-http-client",
    "headlesschrome",
    "preview",
    "crawler",
    "spider",
    "bot/",
    "bot;",
)


def is_bot(user_agent: str | None) -> bool:
    """True for a crawler or preview fetcher. A missing User-Agent is a script, not a person."""
    if not user_agent or not user_agent.strip():
        return True
    agent = user_agent[:1000].lower()
    return any(marker in agent for marker in BOT_MARKERS)
