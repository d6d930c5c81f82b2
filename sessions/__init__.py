"""TeleGuide domain: tickets, SLA policy, sessions, participants, the store and the event bus."""
