"""Annotations through the real server's /ws: order, undo and clear, late joiners, bad input,
grants, the pointer, and what reaches the ticket's timeline."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from signaling.annotating import AnnotationFeature
from signaling.keys import ROOMS_KEY
from tests.app_fixtures import TokenFactory
from tests.ws_peer import WsPeer, connect_peer

Client = TestClient[Any, Any]
PRODUCER = "prd_drawn_on"


class Peer(WsPeer):
    """A participant's /ws with annotation helpers."""

    async def annotate(self, **command: Any) -> dict[str, Any]:
        """Send one annotation command."""
        return await self.call("annotate", annotation=command)

    async def annotations(self, count: int) -> list[dict[str, Any]]:
        """The next ``count`` annotation events, in the order they arrived."""
        found: list[dict[str, Any]] = []
        while len(found) < count:
            if not self.events:
                self.events.append(await self.ws.receive_json(timeout=10))
            event = self.events.pop(0)
            if event.get("type") == "annotation":
                found.append(event["annotation"])
        return found

    async def settle(self) -> list[dict[str, Any]]:
        """Annotation events that arrived so far (a ping's reply flushes the socket)."""
        await self.call("ping")
        found = [e["annotation"] for e in self.events if e.get("type") == "annotation"]
        self.events = [e for e in self.events if e.get("type") != "annotation"]
        return found


def stroke(x: float, points: int = 3) -> dict[str, Any]:
    """A short horizontal stroke starting at ``x``."""
    return {
        "kind": "stroke",
        "producer_id": PRODUCER,
        "media_time_s": 1.5,
        "points": [[x + 0.01 * i, 0.5] for i in range(points)],
    }


async def _open_session(client: Client, tokens: TokenFactory) -> tuple[str, str]:
    headers = tokens.headers("expert-1", "expert")
    body = {
        "kind": "device_fault",
        "tier": "urgent",
        "title": "pump alarm",
        "requester": "patient-1",
        "patient": "patient-1",
    }
    ticket = await (await client.post("/api/tickets", headers=headers, json=body)).json()
    response = await client.post(
        f"/api/tickets/{ticket['id']}/sessions", headers=headers, json={"kind": "remote_diagnosis"}
    )
    assert response.status == 201
    return ticket["id"], (await response.json())["id"]


async def _join(client: Client, token: str, session_id: str) -> tuple[Peer, dict[str, Any]]:
    peer = Peer((await connect_peer(client, token)).ws)
    reply = await peer.call("join", session_id=session_id)
    assert reply["ok"], reply
    return peer, reply


@pytest.fixture
async def ticket_session(client: Client, tokens: TokenFactory) -> tuple[str, str]:
    """(ticket_id, session_id) of a live remote diagnosis of patient-1."""
    return await _open_session(client, tokens)


@pytest.fixture
async def expert(
    client: Client, tokens: TokenFactory, ticket_session: tuple[str, str]
) -> AsyncIterator[Peer]:
    """The expert (A), joined."""
    peer, _ = await _join(client, tokens("expert-1", "expert"), ticket_session[1])
    yield peer
    await peer.ws.close()


@pytest.fixture
async def patient(
    client: Client, tokens: TokenFactory, ticket_session: tuple[str, str], expert: Peer
) -> AsyncIterator[Peer]:
    """The patient (B), joined after the expert."""
    peer, _ = await _join(client, tokens("patient-1", "patient"), ticket_session[1])
    yield peer
    await peer.ws.close()


def _feature(client: Client, session_id: str) -> AnnotationFeature:
    return client.app[ROOMS_KEY].get(session_id).feature(AnnotationFeature)


async def test_strokes_reach_the_other_side_in_order(expert: Peer, patient: Peer) -> None:
    replies = [await expert.annotate(**stroke(0.1 * i)) for i in range(5)]
    assert [r["seq"] for r in replies] == [1, 2, 3, 4, 5]
    received = await patient.annotations(5)
    assert [e["seq"] for e in received] == [1, 2, 3, 4, 5]
    assert {e["type"] for e in received} == {"mark_added"}
    assert [e["data"]["mark"]["shape"]["points"][0][0] for e in received] == pytest.approx(
        [0.0, 0.1, 0.2, 0.3, 0.4]
    )
    assert received[0]["identity"] == "expert-1"
    assert received[0]["media_time_s"] == 1.5
    # The drawer gets the numbered echo too: every screen draws from the same log.
    assert [e["seq"] for e in await expert.annotations(5)] == [1, 2, 3, 4, 5]


async def test_undo_and_clear_are_seen_by_everyone(expert: Peer, patient: Peer) -> None:
    for i in range(3):
        await expert.annotate(**stroke(0.2 * i))
    added = await patient.annotations(3)
    await expert.annotate(kind="undo")
    [removed] = await patient.annotations(1)
    assert removed["type"] == "mark_removed"
    assert removed["data"]["mark_id"] == added[2]["data"]["mark"]["mark_id"]
    await expert.annotate(kind="clear")
    [cleared] = await patient.annotations(1)
    assert cleared["type"] == "marks_cleared"
    assert sorted(cleared["data"]["mark_ids"]) == sorted(
        e["data"]["mark"]["mark_id"] for e in added[:2]
    )
    nothing = await expert.annotate(kind="undo")
    assert nothing["ok"] is False
    assert nothing["error"]["code"] == "invalid_state"


async def test_a_late_joiner_gets_the_marks_in_the_join_reply(
    client: Client, tokens: TokenFactory, ticket_session: tuple[str, str], expert: Peer
) -> None:
    for i in range(3):
        await expert.annotate(**stroke(0.2 * i))
    await expert.annotate(kind="undo")
    late, reply = await _join(client, tokens("patient-1", "patient"), ticket_session[1])
    state = reply["session"]["annotations"]
    assert state["seq"] == 4
    assert [m["seq"] for m in state["marks"]] == [1, 2]
    # What follows the snapshot continues it: no gap, no repeat.
    await expert.annotate(**stroke(0.9))
    [after] = await late.annotations(1)
    assert after["seq"] == 5
    await late.ws.close()


BAD_COMMANDS: list[tuple[dict[str, Any], str]] = [
    (
        {"kind": "stroke", "producer_id": PRODUCER, "media_time_s": 1.0, "points": [[0.1, 0.1]]},
        "invalid_input",
    ),
    ({**stroke(0.1), "points": [[0.1, 0.1], [1.5, 0.2]]}, "invalid_input"),
    ({**stroke(0.1), "colour": "red"}, "invalid_input"),
    ({**stroke(0.1), "width": 0.5}, "invalid_input"),
    ({**stroke(0.1), "brush": "soft"}, "invalid_input"),
    ({"kind": "teleport"}, "invalid_input"),
    (
        {
            "kind": "text",
            "producer_id": PRODUCER,
            "media_time_s": 1.0,
            "position": [0.2, 0.2],
            "text": "x" * 201,
        },
        "invalid_input",
    ),
    ({"kind": "undo", "mark_id": "mrk_nope"}, "not_found"),
    ({"kind": "pin", "mark_id": "mrk_nope"}, "not_found"),
    ({"kind": "unfreeze", "producer_id": PRODUCER}, "invalid_state"),
    ({"kind": "freeze", "producer_id": "prd_not_here", "media_time_s": 1.0}, "not_found"),
    ({"kind": "clear", "scope": "all"}, "forbidden"),
]


@pytest.mark.parametrize(("command", "code"), BAD_COMMANDS)
async def test_bad_input_gets_an_error_and_changes_nothing(
    client: Client,
    ticket_session: tuple[str, str],
    expert: Peer,
    patient: Peer,
    command: dict[str, Any],
    code: str,
) -> None:
    await expert.annotate(**stroke(0.1))
    await patient.annotations(1)
    before = _feature(client, ticket_session[1]).log.state()
    reply = await patient.annotate(**command) if code == "forbidden" else None
    reply = reply or await expert.annotate(**command)
    assert reply["ok"] is False
    assert reply["error"]["code"] == code, reply
    assert _feature(client, ticket_session[1]).log.state() == before
    assert await patient.settle() == []  # nothing was fanned out
    # The connection lives, and the next command continues the sequence.
    assert (await expert.annotate(**stroke(0.3)))["seq"] == 2


async def test_annotating_needs_the_grant(patient: Peer, expert: Peer) -> None:
    freeze = {"kind": "freeze", "producer_id": PRODUCER, "media_time_s": 0}
    for command in (stroke(0.1), freeze, {"kind": "clear"}):
        reply = await patient.annotate(**command)
        assert reply["ok"] is False
        assert reply["error"]["code"] == "forbidden", command
    assert await expert.settle() == []
    attach = await patient.call("attach_still", producer_id=PRODUCER)
    assert attach["error"]["code"] == "forbidden"


async def test_the_pointer_goes_to_the_others_only_and_never_to_the_timeline(
    client: Client,
    tokens: TokenFactory,
    ticket_session: tuple[str, str],
    expert: Peer,
    patient: Peer,
) -> None:
    point = {"kind": "pointer", "producer_id": PRODUCER, "media_time_s": 2.0}
    reply = await patient.annotate(**point, position=[0.4, 0.6])
    assert reply["ok"], reply
    [seen] = await expert.annotations(1)
    assert (seen["type"], seen["seq"], seen["data"]["position"]) == ("pointer", None, [0.4, 0.6])
    assert await patient.settle() == []
    await expert.annotate(**stroke(0.2))
    await _feature(client, ticket_session[1]).idle()
    response = await client.get(
        f"/api/tickets/{ticket_session[0]}/timeline", headers=tokens.headers("expert-1", "expert")
    )
    entries = [e for e in await response.json() if e["action"] == "annotation"]
    assert [e["data"]["seq"] for e in entries] == [1]
    [entry] = entries
    assert entry["actor"] == "expert-1"
    assert entry["data"]["type"] == "mark_added"
    assert entry["data"]["media_time_s"] == 1.5
    assert entry["data"]["producer_id"] == PRODUCER
    assert entry["data"]["session_id"] == ticket_session[1]
    assert entry["data"]["shape"]["points"][0] == [0.2, 0.5]
    assert "producer_id" not in entry["data"]["shape"]  # compact: said once per entry


async def test_timeline_keeps_every_numbered_event_in_order(
    client: Client, tokens: TokenFactory, ticket_session: tuple[str, str], expert: Peer
) -> None:
    for i in range(12):
        await expert.annotate(**stroke(0.05 * i))
    await expert.annotate(kind="undo")
    await expert.annotate(kind="clear")
    await _feature(client, ticket_session[1]).idle()
    response = await client.get(
        f"/api/tickets/{ticket_session[0]}/timeline", headers=tokens.headers("expert-1", "expert")
    )
    entries = [e["data"] for e in await response.json() if e["action"] == "annotation"]
    assert [e["seq"] for e in entries] == list(range(1, 15))
    assert [e["type"] for e in entries[-2:]] == ["mark_removed", "marks_cleared"]
