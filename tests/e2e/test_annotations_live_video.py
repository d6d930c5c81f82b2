"""Annotations on real video: a participant publishes through aiortc, the expert freezes,
draws and unfreezes, and the ticket keeps the still with the mark; a pinned mark follows a
moving scene. Frames are decoded only while a video is frozen or carries a pinned mark."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import cv2
import numpy as np
import pytest
from aiohttp.test_utils import TestServer
from blockbuster import blockbuster_ctx

from media.synthetic import StampedVideoTrack
from signaling.annotating import AnnotationFeature
from signaling.client import TeleGuideClient
from signaling.keys import ROOMS_KEY, SERVICES_KEY
from tests.app_fixtures import TokenFactory

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

WIDTH, HEIGHT, FPS = 320, 240, 15.0
#: Below the stamp grid (the top third), where the synthetic scene is pure texture.
BOX = {"x0": 0.3, "y0": 0.55, "x1": 0.7, "y1": 0.85}


@pytest.fixture
def node_tokens(server: TestServer) -> TokenFactory:
    """Tokens of the node under test."""
    return TokenFactory(server.app)


class Call:
    """An expert and a patient in a live remote diagnosis; the patient publishes video."""

    def __init__(self, server: TestServer, tokens: TokenFactory) -> None:
        self.server, self.tokens = server, tokens
        url = str(server.make_url("/ws")).replace("http://", "ws://")
        self.expert = TeleGuideClient(url, tokens("expert-1", "expert"))
        self.patient = TeleGuideClient(url, tokens("patient-1", "patient"))
        self.ticket_id = self.session_id = self.producer_id = ""

    async def start(self) -> None:
        """Open the ticket and session, join both, publish the patient's camera."""
        self.ticket_id, self.session_id = await _open_session(self.server, self.tokens)
        await self.expert.connect()
        await self.expert.join(self.session_id)
        await self.patient.connect()
        await self.patient.join(self.session_id)
        await self.patient.publish([StampedVideoTrack(WIDTH, HEIGHT, FPS, detail="noise")])
        added = await self.expert.wait_for("producer_added")
        self.producer_id = added["producer"]["id"]

    @property
    def feature(self) -> AnnotationFeature:
        """The room's annotation feature."""
        room = self.server.app[ROOMS_KEY].get(self.session_id)
        return room.feature(AnnotationFeature)

    async def annotate(self, **command: Any) -> dict[str, Any]:
        """The expert sends one annotation command."""
        return await self.expert.request("annotate", annotation=command)

    async def close(self) -> None:
        """Hang up."""
        for client in (self.expert, self.patient):
            await client.close()


@pytest.fixture
async def call(server: TestServer, node_tokens: TokenFactory) -> AsyncIterator[Call]:
    """A live call with the patient's video arriving at the server."""
    live = Call(server, node_tokens)
    try:
        await live.start()
        yield live
    finally:
        await live.close()


async def _open_session(server: TestServer, tokens: TokenFactory) -> tuple[str, str]:
    headers = tokens.headers("expert-1", "expert")
    body = {
        "kind": "device_fault",
        "tier": "routine",
        "title": "annotations",
        "patient": "patient-1",
        "requester": "patient-1",
    }
    async with aiohttp.ClientSession(str(server.make_url("/"))) as http:
        async with http.post("/api/tickets", json=body, headers=headers) as response:
            ticket = await response.json()
        async with http.post(
            f"/api/tickets/{ticket['id']}/sessions",
            json={"kind": "remote_diagnosis"},
            headers=headers,
        ) as response:
            session = await response.json()
    return ticket["id"], session["id"]


async def _download(call: Call, url: str) -> bytes:
    headers = call.tokens.headers("patient-1", "patient")
    base = str(call.server.make_url("/"))
    async with aiohttp.ClientSession(base) as http, http.get(url, headers=headers) as response:
        assert response.status == 200, await response.text()
        assert response.content_type == "image/png"
        return await response.read()


async def _list(call: Call) -> list[dict[str, Any]]:
    headers = call.tokens.headers("patient-1", "patient")
    async with aiohttp.ClientSession(str(call.server.make_url("/"))) as http:
        path = f"/api/tickets/{call.ticket_id}/attachments"
        async with http.get(path, headers=headers) as response:
            assert response.status == 200
            return list(await response.json())


def _red(image: np.ndarray) -> np.ndarray:
    """Mask of pure-red pixels (BGR)."""
    b, g, r = (image[..., i].astype(int) for i in range(3))
    return (r > 180) & (g < 80) & (b < 80)


async def test_freeze_draw_unfreeze_attaches_the_still_with_the_mark(call: Call) -> None:
    await asyncio.sleep(1.0)  # video flows to the server
    assert call.feature.decoding == [], "video nobody annotates is decoded"
    # blockbuster raises on any blocking call made on the loop: decoding, rendering, disk.
    with blockbuster_ctx():
        await call.annotate(kind="freeze", producer_id=call.producer_id, media_time_s=0.0)
        assert call.feature.decoding == [call.producer_id]
        rect = {"kind": "rectangle", "box": BOX, "colour": "#FF0000", "width": 0.02}
        await call.annotate(**rect, producer_id=call.producer_id, media_time_s=0.0)
        await call.annotate(kind="unfreeze", producer_id=call.producer_id)
        added = await call.expert.wait_for("attachment_added", within_s=30)
    attachment = added["attachment"]
    assert (attachment["producer_id"], attachment["marks"]) == (call.producer_id, 1)
    [listed] = await _list(call)
    assert listed["id"] == attachment["attachment_id"]
    png = await _download(call, listed["url"])
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (HEIGHT, WIDTH, 3)
    red = _red(image)
    x0, x1 = round(BOX["x0"] * WIDTH), round(BOX["x1"] * WIDTH)
    y0, y1 = round(BOX["y0"] * HEIGHT), round(BOX["y1"] * HEIGHT)
    # The rectangle's outline is red all round, and nowhere else...
    for edge in (red[y0 - 1 : y0 + 2, x0:x1], red[y1 - 1 : y1 + 2, x0:x1]):
        assert edge.any(axis=0).mean() > 0.95
    for edge in (red[y0:y1, x0 - 1 : x0 + 2], red[y0:y1, x1 - 1 : x1 + 2]):
        assert edge.any(axis=1).mean() > 0.95
    inside = image[y0 + 8 : y1 - 8, x0 + 8 : x1 - 8]
    assert not _red(inside).any()
    assert red[y1 + 8 :].sum() == 0
    assert red[: y0 - 8].sum() == 0
    # ...and drawn over the video frame: the scene's texture is there, in grey.
    assert float(inside.std()) > 25.0
    assert float(np.abs(inside[..., 2].astype(int) - inside[..., 1]).mean()) < 12.0

    await call.feature.idle()
    assert call.feature.decoding == [], "decoding goes on after the unfreeze"
    store = call.server.app[SERVICES_KEY].store
    actions = [(e.action, e.data.get("type")) for e in await store.list_timeline(call.ticket_id)]
    tail = [a for a in actions if a[0] in {"annotation", "attachment_added"}]
    assert tail == [
        ("annotation", "frozen"),
        ("annotation", "mark_added"),
        ("annotation", "unfrozen"),
        ("attachment_added", None),
    ]


async def test_a_pinned_mark_follows_the_moving_scene(call: Call) -> None:
    moved: list[dict[str, Any]] = []
    enough = asyncio.Event()

    def collect(event: dict[str, Any]) -> None:
        if event.get("type") == "annotation" and event["annotation"]["type"] == "anchor_moved":
            moved.append(event["annotation"])
            if len(moved) >= 5:
                enough.set()

    call.patient.on_event(collect)
    rect = {"kind": "rectangle", "box": BOX, "producer_id": call.producer_id, "media_time_s": 0.0}
    await call.annotate(**rect)
    added = await call.expert.wait_for("annotation")
    mark_id = added["annotation"]["data"]["mark"]["mark_id"]
    with blockbuster_ctx():  # learning and tracking the region run in threads
        await call.annotate(kind="pin", mark_id=mark_id)
        await asyncio.wait_for(enough.wait(), 60)
    assert {m["data"]["mark_id"] for m in moved} == {mark_id}
    visible = [m for m in moved if m["data"]["visible"]]
    assert visible, "the tracker never saw the region"
    # The scene rolls right by 4 px a frame, so the mark's left edge moves right.
    lefts = [min(x for x, _ in m["data"]["points"]) for m in visible]
    assert max(lefts) > BOX["x0"] + 0.02
    assert call.feature.decoding == [call.producer_id]
    await call.annotate(kind="unpin", mark_id=mark_id)
    await call.feature.idle()
    assert call.feature.decoding == []
    # The positions are on the ticket's timeline, in sequence order, for the recording.
    store = call.server.app[SERVICES_KEY].store
    entries = [e.data for e in await store.list_timeline(call.ticket_id)]
    annotations = [e for e in entries if e.get("type") and e.get("seq")]
    seqs = [e["seq"] for e in annotations]
    assert seqs == sorted(seqs)
    assert [e["type"] for e in annotations][:2] == ["mark_added", "mark_pinned"]
    assert annotations[-1]["type"] == "mark_unpinned"
    anchored = [e for e in annotations if e["type"] == "anchor_moved"]
    assert anchored
    assert all(len(e["homography"]) == 9 and e["media_time_s"] is not None for e in anchored)


async def test_a_still_on_demand_and_one_left_frozen_at_the_end(call: Call) -> None:
    await call.annotate(kind="freeze", producer_id=call.producer_id, media_time_s=0.0)
    arrow = {"kind": "arrow", "from": [0.2, 0.6], "to": [0.6, 0.8], "colour": "#FF0000"}
    await call.annotate(**arrow, producer_id=call.producer_id, media_time_s=0.0)
    reply = await call.expert.request("attach_still", producer_id=call.producer_id)
    on_demand = reply["attachment"]
    assert (on_demand["marks"], on_demand["session_id"]) == (1, call.session_id)
    assert call.feature.log.state().frozen, "attaching on demand does not unfreeze"
    feature = call.feature
    await call.expert.request("end")  # answered before the session is ended
    await call.patient.wait_for("session_ended", within_s=30)  # sent once features closed
    listed = await _list(call)
    assert listed[0]["id"] == on_demand["attachment_id"]
    assert len(listed) == 2, "the still of the video frozen at the end was not kept"
    assert (listed[0]["created_by"], listed[1]["created_by"]) == ("expert-1", "system")
    for attachment in listed:
        image = cv2.imdecode(np.frombuffer(await _download(call, attachment["url"]), np.uint8), 1)
        assert _red(image).sum() > 100  # the arrow is on both
    assert feature.decoding == []
