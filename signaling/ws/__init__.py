"""The signaling WebSocket at ``/ws``: connection handling, command schemas and handlers."""
