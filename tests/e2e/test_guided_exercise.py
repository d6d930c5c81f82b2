"""A guided squat session end to end: a real clip through WebRTC, analysed live on the server."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from media.clip_source import ClipVideoTrack
from signaling.client import TeleGuideClient
from signaling.config import Settings
from tests.app_fixtures import TokenFactory
from tests.conftest import media_file

pytestmark = [pytest.mark.e2e, pytest.mark.media, pytest.mark.timeout(240)]


async def _api(
    server: TestServer, method: str, path: str, token: str, body: dict[str, Any] | None = None
) -> Any:
    async with (
        aiohttp.ClientSession() as http,
        http.request(
            method,
            str(server.make_url(path)),
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        ) as response,
    ):
        assert response.status < 300, await response.text()
        return await response.json()


async def test_patient_squats_are_counted_live_and_summarised(
    settings: Settings, server: TestServer
) -> None:
    clip = media_file("pose_squats.mp4")
    tokens = TokenFactory(server.app)
    expert_token, patient_token = tokens("expert-1", "expert"), tokens("patient-1", "patient")
    ticket = await _api(
        server,
        "POST",
        "/api/tickets",
        expert_token,
        {
            "kind": "guided_exercise",
            "tier": "routine",
            "title": "squats",
            "requester": "patient-1",
            "patient": "patient-1",
            "targets": {"squat": {"target_angle": 90, "reps": 2}},
        },
    )
    session = await _api(
        server,
        "POST",
        f"/api/tickets/{ticket['id']}/sessions",
        expert_token,
        {"kind": "guided_exercise"},
    )
    url = str(server.make_url("/ws")).replace("http://", "ws://")
    expert = TeleGuideClient(url, expert_token)
    patient = TeleGuideClient(url, patient_token)
    patient_updates: list[dict[str, Any]] = []
    patient.on_event(lambda e: patient_updates.append(e) if e["type"] == "analysis" else None)
    # The patient stands still until the analysis is warm, then squats: as told by the expert.
    camera = await ClipVideoTrack.open(clip, hold=True)
    try:
        await expert.connect()
        await expert.join(session["id"])
        await patient.connect()
        await patient.join(session["id"])
        await patient.publish([camera])
        first = await expert.wait_for("analysis", within_s=60)
        assert first["update"]["reps"] == 0
        camera.play()
        reps = 0
        while reps < 2:  # the clip is 13 s long; two full squats end by about 9 s
            event = await expert.wait_for("analysis", within_s=60)
            reps = event["update"]["reps"]
        update = event["update"]
        assert update["exercise"] == "squat"
        assert update["landmarks"] is not None
        assert len(update["landmarks"]) == 33
        assert "knee" in " ".join(update["angles"])
        assert patient_updates, "the patient got no feedback"
        await expert.request("end")
        await expert.wait_for("session_ended")
    finally:
        camera.stop()
        await patient.close()
        await expert.close()
    progress = await _api(server, "GET", "/api/patients/patient-1/progress", patient_token)
    assert len(progress["sessions"]) == 1
    squat = progress["sessions"][0]["exercises"]["squat"]
    assert squat["reps"] == 2
