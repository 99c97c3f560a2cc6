"""The shop's Telegram bot: red envelopes in a group on a "抢 / Grab" button, /daily in private.

Updates arrive at POST /v1/telegram/webhook (router.py); service.py does the database work in one
unit of work per update, then bot.py sends the Bot API calls after the commit. texts.py and
commands.py are pure.
"""
