"""Meldwijzer's own Rasa input channels: REST, web (socket.io) and Microsoft Teams."""
