"""Meldwijzer's own Rasa input channels: REST, web (socket.io) and Microsoft Teams."""

# The web channel's name as trackers report it (``get_latest_input_channel``): only there can the bot
# hand out download links. Here, not in web.py, so actions can read it without importing the server.
WEB_CHANNEL = "web"
