"""The /ws protocol: auth phase, command envelope, bad input, moderation and chat."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient

from sessions.grants import Role, default_grants
from tests.app_fixtures import TokenFactory
from tests.ws_peer import WsPeer, connect_peer

Client = TestClient[Any, Any]
MINIMAL_SDP = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"


@pytest.fixture
async def session_id(client: Client, tokens: TokenFactory) -> str:
    """A live remote-diagnosis session of a ticket whose patient is ``patient-1``."""
    headers = tokens.headers("expert-1", "expert")
    ticket = await (
        await client.post(
            "/api/tickets",
            headers=headers,
            json={
                "kind": "device_fault",
                "tier": "urgent",
                "title": "pump alarm",
                "requester": "patient-1",
                "patient": "patient-1",
            },
        )
    ).json()
    response = await client.post(
        f"/api/tickets/{ticket['id']}/sessions", headers=headers, json={"kind": "remote_diagnosis"}
    )
    assert response.status == 201
    return str((await response.json())["id"])


@pytest.fixture
async def expert(client: Client, tokens: TokenFactory, session_id: str) -> AsyncIterator[WsPeer]:
    """The expert, joined."""
    peer = await connect_peer(client, tokens("expert-1", "expert"))
    reply = await peer.call("join", session_id=session_id)
    assert reply["ok"], reply
    yield peer
    await peer.ws.close()


async def test_auth_must_come_first(client: Client) -> None:
    ws = await client.ws_connect("/ws")
    await ws.send_json({"id": 1, "type": "join", "session_id": "ses_x"})
    reply = await ws.receive_json(timeout=5)
    assert reply["type"] == "auth_invalid"
    closing = await ws.receive(timeout=5)
    assert closing.type in {WSMsgType.CLOSE, WSMsgType.CLOSED}
    assert ws.close_code == 4001


async def test_bad_token_is_refused(client: Client) -> None:
    ws = await client.ws_connect("/ws")
    await ws.send_json({"type": "auth", "token": "not-a-token"})
    reply = await ws.receive_json(timeout=5)
    assert reply["type"] == "auth_invalid"
    assert "malformed" in reply["message"]


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("{oops", "invalid_message"),
        ('["join"]', "invalid_message"),
        ({"type": "ping"}, "invalid_message"),
        ({"id": 0, "type": "ping"}, "invalid_message"),
        ({"id": 1, "type": "teleport"}, "unknown_command"),
        ({"id": 1, "type": "chat", "text": ""}, "invalid_input"),
        ({"id": 1, "type": "chat", "text": "hi", "shout": True}, "invalid_input"),
        ({"id": 1, "type": "subscribe", "producer_ids": "all"}, "invalid_input"),
    ],
)
async def test_bad_messages_get_error_replies_and_the_connection_lives(
    client: Client, tokens: TokenFactory, message: Any, code: str
) -> None:
    peer = await connect_peer(client, tokens("expert-1", "expert"))
    reply = await peer.raw(message)
    assert reply["ok"] is False
    assert reply["error"]["code"] == code
    pong = await peer.raw({"id": 99, "type": "ping"})
    assert pong["ok"] is True


async def test_ids_must_increase(client: Client, tokens: TokenFactory) -> None:
    peer = await connect_peer(client, tokens("expert-1", "expert"))
    assert (await peer.raw({"id": 5, "type": "ping"}))["ok"]
    again = await peer.raw({"id": 5, "type": "ping"})
    assert again["error"]["code"] == "id_reused"
    assert (await peer.raw({"id": 6, "type": "ping"}))["ok"]


async def test_join_unknown_closed_and_foreign_sessions(
    client: Client, tokens: TokenFactory, session_id: str
) -> None:
    stranger = await connect_peer(client, tokens("patient-9", "patient"))
    hidden = await stranger.call("join", session_id=session_id)
    assert hidden["error"]["code"] == "not_found"
    missing = await stranger.call("join", session_id="ses_nothing")
    assert missing["error"]["code"] == "not_found"
    expert = await connect_peer(client, tokens("expert-1", "expert"))
    assert (await expert.call("join", session_id=session_id))["ok"]
    ended = await client.post(
        f"/api/sessions/{session_id}/end", headers=tokens.headers("expert-1", "expert")
    )
    assert (await ended.json())["state"] == "closed"
    late = await connect_peer(client, tokens("expert-2", "expert"))
    refused = await late.call("join", session_id=session_id)
    assert refused["error"]["code"] == "not_found"


async def test_publish_without_grant_and_unparsable_sdp(
    client: Client, tokens: TokenFactory, session_id: str
) -> None:
    muted_grants = replace(default_grants(Role.PATIENT), can_publish=False)
    patient = await connect_peer(client, tokens("patient-1", "patient", grants=muted_grants))
    assert (await patient.call("join", session_id=session_id))["ok"]
    refused = await patient.call("publish", sdp=MINIMAL_SDP)
    assert refused["error"]["code"] == "forbidden"
    expert = await connect_peer(client, tokens("expert-1", "expert"))
    assert (await expert.call("join", session_id=session_id))["ok"]
    garbage = await expert.call("publish", sdp="this is not sdp")
    assert garbage["ok"] is False
    assert garbage["error"]["code"] == "invalid_input"
    missing = await expert.call("subscribe", producer_ids=["prd_nope"])
    assert missing["error"]["code"] == "not_found"
    assert (await expert.call("ping"))["ok"]


async def test_commands_before_join_are_refused(client: Client, tokens: TokenFactory) -> None:
    peer = await connect_peer(client, tokens("expert-1", "expert"))
    reply = await peer.call("chat", text="hello?")
    assert reply["error"]["code"] == "invalid_state"


async def test_chat_and_presence_reach_the_other_side(
    client: Client, tokens: TokenFactory, session_id: str, expert: WsPeer
) -> None:
    patient = await connect_peer(client, tokens("patient-1", "patient"))
    joined = await patient.call("join", session_id=session_id, name="Anna")
    assert joined["session"]["state"] == "active"
    assert {p["identity"] for p in joined["session"]["participants"]} == {"expert-1", "patient-1"}
    arrival = await expert.event("participant_joined")
    assert arrival["participant"]["name"] == "Anna"
    assert await expert.event("session_state", state="active")
    assert (await patient.call("chat", text="The pump beeps twice"))["ok"]
    message = await expert.event("chat")
    assert message["text"] == "The pump beeps twice"
    assert message["participant_id"] == joined["participant_id"]


async def test_moderation(
    client: Client, tokens: TokenFactory, session_id: str, expert: WsPeer
) -> None:
    patient = await connect_peer(client, tokens("patient-1", "patient"))
    me = (await patient.call("join", session_id=session_id))["participant_id"]
    assert (await patient.call("moderate", action="lock"))["error"]["code"] == "forbidden"
    assert (await patient.call("raise_hand", raised=True))["ok"]
    hand = await expert.event("participant_updated")
    assert (hand["field"], hand["value"]) == ("hand_raised", True)
    assert (await expert.call("mute", media="audio", muted=True, participant_id=me))["ok"]
    muted = await patient.event("participant_updated", field="audio_muted")
    assert muted["value"] is True
    assert muted["by"] == "expert-1"
    assert (await expert.call("moderate", action="spotlight", participant_id=me))["ok"]
    assert (await patient.event("session_updated"))["value"] == me
    assert (await expert.call("moderate", action="lock"))["ok"]
    locked_out = await connect_peer(client, tokens("patient-1b", "technician"))
    assert (await locked_out.call("join", session_id=session_id))["ok"] is False
    assert (await expert.call("moderate", action="remove", participant_id=me))["ok"]
    removed = await patient.event("removed")
    assert removed["session_id"] == session_id
    assert (await expert.event("participant_left"))["reason"] == "removed"


async def test_hidden_supervisor_is_listed_to_nobody(
    client: Client, tokens: TokenFactory, session_id: str, expert: WsPeer
) -> None:
    grants = replace(default_grants(Role.SUPERVISOR), hidden=True)
    supervisor = await connect_peer(client, tokens("sup-1", "supervisor", grants=grants))
    joined = await supervisor.call("join", session_id=session_id)
    assert joined["grants"]["hidden"] is True
    assert (await supervisor.call("publish", sdp=MINIMAL_SDP))["error"]["code"] == "forbidden"
    assert (await supervisor.call("chat", text="hi"))["error"]["code"] == "forbidden"
    assert (await expert.call("ping"))["ok"]
    assert not [e for e in expert.events if e["type"] == "participant_joined"]
    session = await (
        await client.get(
            f"/api/sessions/{session_id}", headers=tokens.headers("expert-1", "expert")
        )
    ).json()
    assert [p["identity"] for p in session["participants"]] == ["expert-1"]


async def test_full_session_refuses_joins(
    client: Client, tokens: TokenFactory, session_id: str, expert: WsPeer
) -> None:
    from signaling.keys import ROOMS_KEY

    room = client.app[ROOMS_KEY].get(session_id)
    room.session.max_participants = 2
    first = await connect_peer(client, tokens("patient-1", "patient"))
    assert (await first.call("join", session_id=session_id))["ok"]
    other = await connect_peer(client, tokens("expert-2", "expert"))
    full = await other.call("join", session_id=session_id)
    assert full["error"]["code"] == "limit_exceeded"


async def test_annotation_reaches_the_other_side_in_order(
    client: Client, tokens: TokenFactory, session_id: str, expert: WsPeer
) -> None:
    patient = await connect_peer(client, tokens("patient-1", "patient"))
    assert (await patient.call("join", session_id=session_id))["ok"]
    stroke = {
        "kind": "stroke",
        "producer_id": "prd_cam",
        "media_time_s": 1.5,
        "points": [[0.1, 0.1], [0.2, 0.25], [0.3, 0.3]],
        "colour": "#ff0000",
        "width": 0.01,
    }
    first = await expert.call("annotate", annotation=stroke)
    second = await expert.call(
        "annotate", annotation={**stroke, "points": [[0.5, 0.5], [0.6, 0.6]]}
    )
    assert (first["ok"], second["ok"]) == (True, True), (first, second)
    seen = [await patient.event("annotation"), await patient.event("annotation")]
    assert [e["annotation"]["seq"] for e in seen] == [1, 2]
    bad = await patient.call("annotate", annotation={**stroke, "points": [[1.5, 0.1], [0.2, 0.2]]})
    assert bad["ok"] is False
    refused = await patient.call("annotate", annotation=stroke)
    assert refused["error"]["code"] == "forbidden"
