"""Outgoing notifications: signed webhooks and SMTP email, delivered from the outbox."""
