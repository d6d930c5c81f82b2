"""Signaling commands of the recording feature: a participant's consent answer."""

from __future__ import annotations

from typing import Literal

from signaling.recording_feature import RecordingFeature
from signaling.ws.commands import CommandContext, Reply, handles
from signaling.ws.messages import Command


class ConsentCommand(Command):
    """Answer the recording's consent request; sending ``granted: false`` later withdraws."""

    type: Literal["consent"]
    granted: bool


@handles(ConsentCommand)
async def consent(ctx: CommandContext, command: ConsentCommand) -> Reply:
    """Grant, decline or withdraw consent to be recorded; the reply is one's own indicator."""
    member = ctx.member
    feature = member.room.feature(RecordingFeature)
    return {"indicator": feature.answer(member.participant, command.granted)}
