"""Annotations over a real WebSocket: order, undo, clear, late joiners, and bad input."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from annotations.limits import Limits
from annotations.log import AnnotationLog
from annotations.loopback import create_loopback_app
from annotations.room import AnnotationRoom
from tests.ws_peer import WsPeer

ClientFactory = Callable[..., Awaitable[TestClient[Any, Any]]]


class Peer(WsPeer):
    """One participant's socket on the loopback endpoint, with annotation helpers."""

    async def send(self, command: dict[str, Any]) -> dict[str, Any]:
        """Send one annotate command and return its reply; events seen meanwhile are kept."""
        return await self.call("annotate", annotation=command)

    async def annotation_events(self, count: int) -> list[dict[str, Any]]:
        """Return the next ``count`` annotation events' payloads."""
        events = [await self.next_event() for _ in range(count)]
        assert all(e["type"] == "annotation" for e in events), events
        return [e["annotation"] for e in events]


@pytest.fixture
async def room_and_join(
    aiohttp_client: ClientFactory,
) -> tuple[AnnotationRoom, Callable[..., Awaitable[Peer]]]:
    """A room behind the loopback app, and a function that connects a participant."""
    room = AnnotationRoom(AnnotationLog(Limits(max_points_per_stroke=100, max_text_length=30)))
    client = await aiohttp_client(create_loopback_app(room))

    async def join(participant: str, role: str = "expert", **grants: bool) -> Peer:
        query = {"participant": participant, "identity": participant, "role": role}
        query.update({name: "1" for name, allowed in grants.items() if allowed})
        peer = Peer(await client.ws_connect("/ws", params=query))
        first = await peer.next_event()
        assert first["type"] == "annotation_state"
        peer.events.insert(0, first)
        return peer

    return room, join


def stroke(i: int, **fields: Any) -> dict[str, Any]:
    """A stroke drawn on frame i of the camera."""
    points = [[0.1 + 0.01 * i, 0.2], [0.3, 0.4 + 0.01 * i]]
    base = {"kind": "stroke", "producer_id": "prd_cam", "media_time_s": i / 30, "points": points}
    return {**base, **fields}


async def test_strokes_from_a_reach_b_in_sequence_order(room_and_join: Any) -> None:
    _, join = room_and_join
    a, b = await join("a", annotate=True), await join("b", role="technician")
    await b.next_event()  # b's initial state
    replies = [await a.send(stroke(i)) for i in range(6)]
    assert [r["seq"] for r in replies] == [1, 2, 3, 4, 5, 6]
    received = await b.annotation_events(6)
    assert [e["seq"] for e in received] == [1, 2, 3, 4, 5, 6]
    assert [e["media_time_s"] for e in received] == [i / 30 for i in range(6)]
    assert received[3]["data"]["mark"]["shape"]["points"] == stroke(3)["points"]
    assert all(e["participant_id"] == "a" for e in received)


async def test_undo_and_clear_reach_the_others(room_and_join: Any) -> None:
    room, join = room_and_join
    a, b = await join("a", annotate=True), await join("b", annotate=True, moderate=True)
    await b.next_event()
    for i in range(3):
        assert (await a.send(stroke(i)))["ok"]
    added = await b.annotation_events(3)
    assert (await a.send({"kind": "undo"}))["ok"]
    [removed] = await b.annotation_events(1)
    assert removed["type"] == "mark_removed"
    assert removed["data"]["mark_id"] == added[2]["data"]["mark"]["mark_id"]
    assert (await b.send({"kind": "clear", "scope": "all"}))["ok"]
    [cleared] = await b.annotation_events(1)
    assert cleared["type"] == "marks_cleared"
    assert len(cleared["data"]["mark_ids"]) == 2
    assert room.log.state().marks == []


async def test_late_joiner_gets_the_current_state_then_new_events(room_and_join: Any) -> None:
    _, join = room_and_join
    a = await join("a", annotate=True)
    await a.send(stroke(0))
    await a.send(stroke(1))
    await a.send({"kind": "undo"})
    await a.send({"kind": "freeze", "producer_id": "prd_cam", "media_time_s": 2.5})
    late = await join("late", role="patient")
    state = (await late.next_event())["state"]
    assert state["seq"] == 4
    assert [m["shape"]["points"] for m in state["marks"]] == [stroke(0)["points"]]
    assert state["frozen"][0]["media_time_s"] == 2.5
    await a.send(stroke(2))
    [event] = await late.annotation_events(1)
    assert event["seq"] == 5


async def test_pointer_reaches_others_but_not_its_sender(room_and_join: Any) -> None:
    room, join = room_and_join
    tech, expert = await join("tech", role="technician"), await join("exp", annotate=True)
    await tech.next_event()
    await expert.next_event()
    pointer = {
        "kind": "pointer",
        "producer_id": "prd_cam",
        "media_time_s": 1,
        "position": [0.4, 0.6],
    }
    reply = await tech.send(pointer)
    assert reply == {"id": 1, "ok": True, "seq": 0}
    [event] = await expert.annotation_events(1)
    assert (event["type"], event["seq"], event["data"]["position"]) == ("pointer", None, [0.4, 0.6])
    assert tech.events == []
    assert room.log.seq == 0


BAD_INPUTS = [
    (
        "out of range",
        "a",
        stroke(0, points=[[0.1, 0.2], [1.01, 0.3]]),
        "invalid_input",
        "points.1.0",
    ),
    ("too many points", "a", stroke(0, points=[[0.5, 0.5]] * 101), "invalid_input", "101 points"),
    ("unknown kind", "a", {"kind": "laser_beam"}, "invalid_input", "unknown annotation kind"),
    ("no grant", "tech", stroke(0), "forbidden", "may not annotate"),
    ("undo of another's mark", "c", "undo-b", "forbidden", "can_moderate"),
    (
        "text too long",
        "a",
        {
            "kind": "text",
            "producer_id": "p",
            "media_time_s": 0,
            "position": [0, 0],
            "text": "y" * 31,
        },
        "invalid_input",
        "31 characters",
    ),
]


@pytest.mark.parametrize(
    ("sender", "command", "code", "message"),
    [case[1:] for case in BAD_INPUTS],
    ids=[case[0] for case in BAD_INPUTS],
)
async def test_bad_input_gets_an_error_keeps_the_connection_and_the_log(
    room_and_join: Any, sender: str, command: Any, code: str, message: str
) -> None:
    room, join = room_and_join
    peers = {
        "a": await join("a", annotate=True),
        "b": await join("b", annotate=True),
        "c": await join("c", annotate=True),
        "tech": await join("tech", role="technician"),
    }
    assert (await peers["b"].send(stroke(0)))["ok"]
    mark_id = room.log.state().marks[0].mark_id
    if command == "undo-b":
        command = {"kind": "undo", "mark_id": mark_id}
    before = (room.log.state().to_wire(), room.log.events_since(0))
    peer = peers[sender]
    reply = await peer.send(command)
    assert reply["ok"] is False
    assert reply["error"]["code"] == code
    assert message in reply["error"]["message"]
    assert (room.log.state().to_wire(), room.log.events_since(0)) == before
    # The connection is still there and still works for what the sender may do.
    pointer = {"kind": "pointer", "producer_id": "prd_cam", "media_time_s": 0, "position": None}
    assert (await peer.send(pointer))["ok"]


async def test_malformed_envelopes_get_error_replies(room_and_join: Any) -> None:
    _, join = room_and_join
    a = await join("a", annotate=True)
    await a.next_event()
    reply = await a.raw("not json")
    assert reply["id"] is None
    assert reply["error"]["message"] == "the message is not JSON"
    reply = await a.raw({"id": 7, "type": "draw", "annotation": stroke(0)})
    assert reply["id"] == 7
    assert reply["error"] == {"code": "invalid_input", "message": "unknown command type 'draw'"}
    a.next_id = 8
    assert (await a.send(stroke(1)))["ok"]


async def test_rate_limit_error_then_recovery(aiohttp_client: ClientFactory) -> None:
    room = AnnotationRoom(AnnotationLog(Limits(events_per_s=5, events_burst=2)))
    client = await aiohttp_client(create_loopback_app(room))
    ws = await client.ws_connect("/ws", params={"participant": "a", "annotate": "1"})
    peer = Peer(ws)
    assert (await peer.send(stroke(0)))["ok"]
    assert (await peer.send(stroke(1)))["ok"]
    limited = await peer.send(stroke(2))
    assert limited["error"]["code"] == "limit_exceeded"
    await asyncio.sleep(0.25)
    assert (await peer.send(stroke(3)))["ok"]
    assert room.log.seq == 3
