"""The aiohttp application: HTTP API, WebSocket signaling, auth, static web client and CLI."""
