"""One-click demo identities for the browser client; only when the server runs with --demo."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel

from signaling.api.registry import ApiRegistry, Call
from signaling.demo import DEMO_USERS
from signaling.keys import SERVICES_KEY


class DemoIdentityOut(BaseModel):
    """A demo user and a fresh token for it."""

    identity: str
    name: str
    role: str
    language: str
    token: str


async def demo_identities(call: Call[None, None]) -> list[DemoIdentityOut]:
    """Tokens for the demo users; 404 unless demo mode is on."""
    services = call.request.app[SERVICES_KEY]
    if not services.settings.demo:
        raise web.HTTPNotFound(text="demo mode is off")
    return [
        DemoIdentityOut(
            identity=u.identity,
            name=u.name,
            role=u.role.value,
            language=u.language,
            token=services.issuer.mint(u.identity, u.role, name=u.name, language=u.language),
        )
        for u in DEMO_USERS
    ]


def register(registry: ApiRegistry) -> None:
    """Add the demo endpoint."""
    registry.route(
        "GET",
        "/api/demo/identities",
        summary="Demo sign-in identities",
        tags=("demo",),
        response=list[DemoIdentityOut],
        auth=False,
        errors=(404,),
    )(demo_identities)
