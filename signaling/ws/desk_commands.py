"""Signaling commands of the service desk: an expert's presence and their answers to offers.

None of them needs a joined session: an expert's connection is a desk connection first.
Offers arrive as server events (``offer_made``, ``offer_closed``, ``ticket_assigned``) on
every connection that set a presence; presence goes ``away`` when the last one closes.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import StringConstraints

from sessions.servicedesk.presence import Presence
from signaling.auth import Principal
from signaling.desk_node import desk_node
from signaling.ws.commands import CommandContext, Reply, handles
from signaling.ws.messages import Command

OfferId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class PresenceCommand(Command):
    """Tell the desk whether offers may come (``online``) or not (``busy``, ``away``)."""

    type: Literal["presence"]
    state: Literal["online", "busy", "away"]


class OfferAcceptCommand(Command):
    """Take the offered ticket (``offer_expired`` once the offer lapsed)."""

    type: Literal["offer_accept"]
    offer_id: OfferId


class OfferDeclineCommand(Command):
    """Pass on the offered ticket; it goes to the next expert."""

    type: Literal["offer_decline"]
    offer_id: OfferId


def _principal(ctx: CommandContext) -> Principal:
    principal = ctx.connection.principal
    assert principal is not None, "commands run after authentication"
    return principal


@handles(PresenceCommand)
async def presence(ctx: CommandContext, command: PresenceCommand) -> Reply:
    """Set the caller's presence; this connection receives their offers from now on."""
    identity = _principal(ctx).identity
    node = desk_node(ctx.services)
    await node.set_presence(identity, Presence(command.state))
    node.attach(ctx.connection, identity)
    return {"presence": command.state}


@handles(OfferAcceptCommand)
async def offer_accept(ctx: CommandContext, command: OfferAcceptCommand) -> Reply:
    """Accept an offer made to the caller; the reply carries the assigned ticket."""
    node = desk_node(ctx.services)
    return await node.answer_offer(command.offer_id, _principal(ctx).identity, accept=True)


@handles(OfferDeclineCommand)
async def offer_decline(ctx: CommandContext, command: OfferDeclineCommand) -> Reply:
    """Decline an offer made to the caller."""
    node = desk_node(ctx.services)
    return await node.answer_offer(command.offer_id, _principal(ctx).identity, accept=False)
