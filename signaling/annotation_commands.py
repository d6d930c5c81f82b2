"""Signaling commands of the annotation feature beyond ``annotate``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import StringConstraints

from signaling.annotating import AnnotationFeature
from signaling.ws.commands import CommandContext, Reply, handles
from signaling.ws.messages import Command


class AttachStillCommand(Command):
    """Attach the annotated still of a frozen video to the ticket now (it stays frozen)."""

    type: Literal["attach_still"]
    producer_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]


@handles(AttachStillCommand)
async def attach_still(ctx: CommandContext, command: AttachStillCommand) -> Reply:
    """Render the frozen video with its marks and keep it on the ticket."""
    member = ctx.member
    feature = member.room.feature(AnnotationFeature)
    attachment = await feature.attach_still(member.participant, command.producer_id)
    return {"attachment": attachment}
