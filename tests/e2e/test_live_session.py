"""Live sessions end to end: real aiortc clients through the server's signaling and router."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import aiohttp
import av
import pytest
from aiohttp.test_utils import TestServer
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from media.synthetic import StampedVideoTrack, ToneAudioTrack, read_stamp
from signaling.client import TeleGuideClient
from signaling.keys import SERVICES_KEY
from tests.app_fixtures import TokenFactory

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

WIDTH, HEIGHT, FPS = 320, 240, 15.0


@pytest.fixture
def node_tokens(server: TestServer) -> TokenFactory:
    """Tokens of the node under test."""
    return TokenFactory(server.app)


async def _open_session(server: TestServer, tokens: TokenFactory, kind: str) -> tuple[str, str]:
    """Create a ticket and a live session over HTTP; return (ticket_id, session_id)."""
    headers = tokens.headers("expert-1", "expert")
    ticket_body = {
        "kind": "guided_exercise" if kind != "remote_diagnosis" else "device_fault",
        "tier": "routine",
        "title": "live test",
        "patient": "patient-1",
        "requester": "patient-1",
    }
    async with aiohttp.ClientSession(str(server.make_url("/"))) as http:
        async with http.post("/api/tickets", json=ticket_body, headers=headers) as response:
            assert response.status == 201, await response.text()
            ticket = await response.json()
        async with http.post(
            f"/api/tickets/{ticket['id']}/sessions", json={"kind": kind}, headers=headers
        ) as response:
            assert response.status == 201, await response.text()
            session = await response.json()
    return ticket["id"], session["id"]


def _ws_url(server: TestServer) -> str:
    return str(server.make_url("/ws")).replace("http://", "ws://")


async def _read_counters(track: MediaStreamTrack, wanted: int, within_s: float) -> list[int]:
    """Decode frames of a stamped video track until ``wanted`` stamps were read."""
    counters: list[int] = []
    with contextlib.suppress(TimeoutError, MediaStreamError):
        async with asyncio.timeout(within_s):
            while len(counters) < wanted:
                frame = await track.recv()
                assert isinstance(frame, av.VideoFrame)
                stamp = read_stamp(frame)
                if stamp is not None:
                    counters.append(stamp.counter)
    return counters


async def _count_audio(track: MediaStreamTrack, wanted: int, within_s: float) -> int:
    received = 0
    with contextlib.suppress(TimeoutError, MediaStreamError):
        async with asyncio.timeout(within_s):
            while received < wanted:
                frame = await track.recv()
                assert isinstance(frame, av.AudioFrame)
                assert frame.sample_rate == 48000
                received += 1
    return received


async def test_three_clients_in_a_group_receive_each_other(
    server: TestServer, node_tokens: TokenFactory
) -> None:
    _, session_id = await _open_session(server, node_tokens, "group_onboarding")
    people = [("trainer-1", "trainer"), ("trainee-1", "patient"), ("trainee-2", "technician")]
    clients = [TeleGuideClient(_ws_url(server), node_tokens(i, r)) for i, r in people]
    try:
        for client in clients:
            await client.connect()
            await client.join(session_id)
            await client.publish([StampedVideoTrack(WIDTH, HEIGHT, FPS), ToneAudioTrack()])
        # Everyone learns of the other two's video and audio.
        subscriptions = [await c.subscribe(await c.wait_for_producers(4)) for c in clients]
        for client, subscription in zip(clients, subscriptions, strict=True):
            videos = [t for t in subscription.tracks.values() if t.kind == "video"]
            audios = [t for t in subscription.tracks.values() if t.kind == "audio"]
            assert len(videos) == 2
            assert len(audios) == 2
            for track in videos:
                counters = await _read_counters(track, wanted=20, within_s=30)
                assert len(counters) >= 20, f"{client.participant_id} read {counters}"
                assert counters == sorted(counters), "frames arrived out of order"
                assert len(set(counters)) == len(counters), "a frame arrived twice"
            for track in audios:
                assert await _count_audio(track, wanted=25, within_s=15) == 25
    finally:
        for client in clients:
            await client.close()


async def test_patient_drops_and_rejoins_within_grace(
    server: TestServer, node_tokens: TokenFactory
) -> None:
    ticket_id, session_id = await _open_session(server, node_tokens, "remote_diagnosis")
    url = _ws_url(server)
    expert = TeleGuideClient(url, node_tokens("expert-1", "expert"))
    patient = TeleGuideClient(url, node_tokens("patient-1", "patient"))
    rejoined = TeleGuideClient(url, node_tokens("patient-1", "patient"))
    try:
        await expert.connect()
        await expert.join(session_id)
        await patient.connect()
        first = await patient.join(session_id)
        await patient.publish([StampedVideoTrack(WIDTH, HEIGHT, FPS)])
        added = await expert.wait_for("producer_added")
        before = await expert.subscribe([added["producer"]["id"]])
        assert len(await _read_counters(next(iter(before.tracks.values())), 5, 20)) == 5

        await patient.drop()
        await expert.wait_for("participant_disconnected")

        await rejoined.connect()
        again = await rejoined.join(session_id)
        assert again["participant_id"] == first["participant_id"], "the place was not kept"
        joined = await expert.wait_for("participant_joined")
        assert joined["reconnected"] is True
        await rejoined.publish([StampedVideoTrack(WIDTH, HEIGHT, FPS)])
        new_track = await expert.wait_for("producer_added")
        after = await expert.subscribe([new_track["producer"]["id"]])
        counters = await _read_counters(next(iter(after.tracks.values())), 10, 30)
        assert len(counters) == 10
    finally:
        for client in (expert, patient, rejoined):
            await client.close()
    timeline = await _timeline(server, node_tokens, ticket_id)
    actions = [entry["action"] for entry in timeline]
    assert "session_rejoined" in actions
    assert actions.index("session_joined") < actions.index("session_rejoined")


async def _timeline(server: TestServer, tokens: TokenFactory, ticket_id: str) -> Any:
    store = server.app[SERVICES_KEY].store
    return [{"action": e.action, "data": e.data} for e in await store.list_timeline(ticket_id)]
