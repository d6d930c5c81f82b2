"""Demo data for ``make run``: one user per role, one open ticket, and sign-in links."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sessions.tickets import Device, TicketKind, Tier
from signaling.auth import Role
from signaling.services import Services

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DemoUser:
    """A demo identity."""

    identity: str
    name: str
    role: Role
    language: str


DEMO_USERS = (
    DemoUser("patient-li", "Li Wei", Role.PATIENT, "zh-CN"),
    DemoUser("patient-anna", "Anna Berg", Role.PATIENT, "en"),
    DemoUser("tech-omar", "Omar Haddad", Role.TECHNICIAN, "en"),
    DemoUser("expert-chen", "Dr. Chen Jing", Role.EXPERT, "zh-CN"),
    DemoUser("expert-mia", "Mia Novak", Role.EXPERT, "en"),
    DemoUser("trainer-sam", "Sam Okafor", Role.TRAINER, "en"),
    DemoUser("supervisor-ivy", "Ivy Laurent", Role.SUPERVISOR, "en"),
    DemoUser("admin", "Administrator", Role.ADMIN, "en"),
)

DEMO_TICKET_TITLE = "Knee rehab: guided squats after ACL reconstruction"


async def seed_demo(services: Services) -> None:
    """Create the demo users and, if the store has no tickets, one guided-exercise ticket."""
    store, now = services.store, services.clock.now()
    for user in DEMO_USERS:
        await store.upsert_user(
            identity=user.identity,
            display_name=user.name,
            role=user.role.value,
            language=user.language,
            email=f"{user.identity}@example.org",
            now=now,
        )
    existing, _ = await store.list_tickets(limit=1)
    if existing:
        return
    await store.create_ticket(
        kind=TicketKind.GUIDED_EXERCISE,
        tier=Tier.ROUTINE,
        title=DEMO_TICKET_TITLE,
        description="Home programme week 3: squats to 90 degrees, 3 sets of 10.",
        device=Device(model="RehaTrack 2", serial="RT2-000123"),
        requester="patient-anna",
        patient="patient-anna",
        language="en",
        targets={"squat": {"target_angle": 90, "reps": 10, "sets": 3}},
        actor="system",
        now=now,
        policy=services.policy,
    )


def sign_in_links(services: Services, ttl_s: int = 12 * 3600) -> list[tuple[DemoUser, str]]:
    """A sign-in link per demo user (the token travels in the URL fragment, never to servers)."""
    base = services.settings.resolved_public_url()
    links = []
    for user in DEMO_USERS:
        token = services.issuer.mint(
            user.identity, user.role, name=user.name, language=user.language, ttl_s=ttl_s
        )
        links.append((user, f"{base}/#token={token}"))
    return links
