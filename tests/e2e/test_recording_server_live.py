"""Recording through the real server with real aiortc clients: consent, files, manifest, crash.

The files are fetched through signed links, as a player would, and probed with PyAV. Video
carries stamps (frame counter and send time), so what was recorded can be compared with
what was sent and when.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import av
import pytest
from aiohttp.test_utils import TestServer

from media.recording.probe import ProbeResult, probe_file
from media.synthetic import Stamp, StampedVideoTrack, ToneAudioTrack, now_ms, read_stamp
from sessions.clock import SystemClock
from sessions.grants import Role
from signaling.app import create_app
from signaling.auth import TokenIssuer
from signaling.client import TeleGuideClient
from signaling.config import Settings
from signaling.recording_feature import recordings_ctx
from tests.app_fixtures import TokenFactory

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

WIDTH, HEIGHT, FPS = 320, 240, 15.0
RECORD_S = 10.0
SECRET = "recording-e2e-secret-0123456789-0123456789-0123456789"


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[TestServer]:
    """A node on a loopback port with the wall clock and the recordings context."""
    app = create_app(settings, SystemClock())
    app.cleanup_ctx.append(recordings_ctx)
    test_server = TestServer(app)
    await test_server.start_server()
    yield test_server
    await test_server.close()


class Http:
    """JSON calls to a node as one of several people."""

    def __init__(self, base: str, mint: Any) -> None:
        self.base = base
        self.mint = mint

    async def call(self, method: str, path: str, who: tuple[str, str], **kw: Any) -> Any:
        """Call an endpoint as ``who`` (identity, role); return the JSON body."""
        headers = {"Authorization": f"Bearer {self.mint(*who)}"}
        async with (
            aiohttp.ClientSession(self.base) as http,
            http.request(method, path, headers=headers, **kw) as response,
        ):
            assert response.status < 300, await response.text()
            return await response.json()

    async def download(self, url: str, target: Path) -> Path:
        """Fetch a signed link without any token, as a <video> element would."""
        async with aiohttp.ClientSession(self.base) as http, http.get(url) as response:
            assert response.status == 200, await response.text()
            data = await response.read()
        await asyncio.to_thread(target.write_bytes, data)
        return target


EXPERT, PATIENT, SUPERVISOR = (
    ("expert-1", "expert"),
    ("patient-1", "patient"),
    ("sup-1", "supervisor"),
)


async def _open(http: Http) -> tuple[str, str]:
    body = {"kind": "device_fault", "tier": "routine", "title": "recorded"}
    body |= {"patient": "patient-1", "requester": "patient-1"}
    ticket = await http.call("POST", "/api/tickets", EXPERT, json=body)
    session = await http.call(
        "POST",
        f"/api/tickets/{ticket['id']}/sessions",
        EXPERT,
        json={"kind": "remote_diagnosis", "recording_policy": "full"},
    )
    return str(ticket["id"]), str(session["id"])


async def _fetch(http: Http, ticket_id: str, tmp: Path) -> tuple[dict[str, Any], dict[str, Path]]:
    """The ticket's one recording: its manifest, and its track files downloaded by link."""
    (row,) = await http.call("GET", f"/api/tickets/{ticket_id}/recordings", SUPERVISOR)
    manifest = await http.call("GET", f"/api/recordings/{row['id']}", PATIENT)
    files = {}
    for track in manifest["tracks"]:
        link = await http.call(
            "POST", f"/api/recordings/{row['id']}/links", PATIENT, json={"file": track["file"]}
        )
        files[track["track_id"]] = await http.download(link["url"], tmp / track["file"])
    return {"row": row, **manifest}, files


def _stamps(path: Path) -> list[Stamp]:
    with av.open(str(path)) as container:
        return [s for f in container.decode(video=0) if (s := read_stamp(f)) is not None]


def _track(manifest: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(t for t in manifest["tracks"] if t["kind"] == kind)


def _seconds(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


async def test_consenting_patient_is_recorded_and_the_decliner_is_not(
    server: TestServer, settings: Settings, tmp_path: Path
) -> None:
    tokens = TokenFactory(server.app)
    http = Http(str(server.make_url("/")), tokens)
    ticket_id, session_id = await _open(http)
    url = str(server.make_url("/ws")).replace("http://", "ws://")
    expert, patient = TeleGuideClient(url, tokens(*EXPERT)), TeleGuideClient(url, tokens(*PATIENT))
    try:
        for client in (expert, patient):
            await client.connect()
            await client.join(session_id)
        await patient.wait_for("consent_requested")
        video = (await patient.publish([StampedVideoTrack(WIDTH, HEIGHT, FPS), ToneAudioTrack()]))[
            "producer_ids"
        ]
        await expert.publish([StampedVideoTrack(WIDTH, HEIGHT, FPS)])
        await asyncio.sleep(2.0)  # media flows, nobody has answered: nothing may be written
        await expert.request("consent", granted=False)
        consent_ms = now_ms()
        await patient.request("consent", granted=True)
        await asyncio.sleep(RECORD_S / 2)
        stroke = {"kind": "stroke", "producer_id": video[0], "media_time_s": 1.0}
        stroke |= {"points": [[0.1, 0.1], [0.4, 0.4]], "colour": "#ff0000", "width": 0.01}
        annotated_at = datetime.now(UTC)
        await expert.request("annotate", annotation=stroke)
        await asyncio.sleep(RECORD_S / 2)
        await http.call("POST", f"/api/sessions/{session_id}/end", EXPERT)
    finally:
        for client in (expert, patient):
            await client.close()

    manifest, files = await _fetch(http, ticket_id, tmp_path)
    assert manifest["state"] == "complete"
    patient_id = {t["participant_id"] for t in manifest["tracks"]}
    assert len(patient_id) == 1, "only the consenting participant's tracks are written"
    assert sorted(t["kind"] for t in manifest["tracks"]) == ["audio", "video"]

    v, a = _track(manifest, "video"), _track(manifest, "audio")
    probes: dict[str, ProbeResult] = {
        t["kind"]: await asyncio.to_thread(probe_file, files[t["track_id"]]) for t in (v, a)
    }
    for track in (v, a):
        expected = _seconds(track["start_wall"], manifest["ended_at"])
        assert probes[track["kind"]].duration_s == pytest.approx(expected, abs=0.5), track
    stamps = await asyncio.to_thread(_stamps, files[v["track_id"]])
    counters = [s.counter for s in stamps]
    assert all(b > a for a, b in itertools.pairwise(counters)), "markers out of order"
    span = counters[-1] - counters[0] + 1
    assert probes["video"].frames >= 0.95 * span, (probes["video"].frames, span)
    # VP8 at a low bitrate may blur a stamp now and then (after a loss, a keyframe).
    assert len(stamps) >= 0.95 * probes["video"].frames, "markers are readable"
    # Nothing sent before the consent that opened the gate is in the file.
    assert (stamps[0].sent_ms - consent_ms) % 2**32 < 60_000

    annotation = next(e for e in manifest["timeline"] if e["kind"] == "annotation")
    started = datetime.fromisoformat(manifest["started_at"])
    assert annotation["media_s"] == pytest.approx((annotated_at - started).total_seconds(), abs=0.3)
    consents = [e for e in manifest["timeline"] if e["kind"] == "consent"]
    assert [e["data"]["granted"] for e in consents] == [False, True]
    assert consents[1]["media_s"] <= v["start_media_s"]

    exported = await _export(http, manifest["recording_id"], tmp_path)
    frames, audio_streams = await asyncio.to_thread(_mp4_contents, exported)
    assert frames == pytest.approx(probes["video"].frames, rel=0.05)
    assert audio_streams == 1, "the participant's sound is copied alongside"


def _mp4_contents(path: Path) -> tuple[int, int]:
    with av.open(str(path)) as container:
        audio_streams = len(container.streams.audio)
        return sum(1 for _ in container.decode(video=0)), audio_streams


async def _export(http: Http, recording_id: str, tmp: Path) -> Path:
    """Export the recording with its annotations, wait for the job, download the MP4."""
    base = f"/api/recordings/{recording_id}"
    job = await http.call("POST", f"{base}/exports", EXPERT, json={})
    for _ in range(600):
        job = await http.call("GET", f"{base}/exports/{job['id']}", EXPERT)
        if job["state"] in {"done", "failed"}:
            break
        await asyncio.sleep(0.2)
    assert job["state"] == "done", job
    link = await http.call("POST", f"{base}/links", EXPERT, json={"file": job["file"]})
    return await http.download(link["url"], tmp / job["file"])


# -- a killed server process ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _serve(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TELEGUIDE_JWT_SECRET": SECRET, "TELEGUIDE_DATA_DIR": str(data_dir)}
    command = [sys.executable, "-m", "signaling.cli", "serve", "--port", str(port)]
    process = await asyncio.to_thread(
        subprocess.Popen, command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession(base) as http:
        for _ in range(300):
            assert process.poll() is None, "the server exited"
            try:
                async with http.get("/healthz") as response:
                    if response.status == 200:
                        return process
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.2)
    process.kill()
    raise AssertionError("the server did not start")


async def _stop(process: subprocess.Popen[bytes], sig: int) -> None:
    if process.poll() is None:
        process.send_signal(sig)
    await asyncio.to_thread(process.wait, 30)
    if process.stderr is not None:
        process.stderr.close()


async def test_killed_server_leaves_a_playable_interrupted_recording(tmp_path: Path) -> None:
    port = _free_port()
    issuer = TokenIssuer(SECRET, "teleguide", "teleguide", 3600)
    http = Http(f"http://127.0.0.1:{port}", lambda who, role: issuer.mint(who, Role(role)))
    process = await _serve(tmp_path / "data", port)
    patient = TeleGuideClient(f"ws://127.0.0.1:{port}/ws", issuer.mint("patient-1", Role.PATIENT))
    try:
        ticket_id, session_id = await _open(http)
        await patient.connect()
        await patient.join(session_id)
        await patient.publish([StampedVideoTrack(WIDTH, HEIGHT, FPS), ToneAudioTrack()])
        await patient.request("consent", granted=True)
        await asyncio.sleep(6.0)
        killed_ms, killed_at = now_ms(), datetime.now(UTC).timestamp()
        await _stop(process, signal.SIGKILL)
    finally:
        await patient.close()
        await _stop(process, signal.SIGKILL)

    process = await _serve(tmp_path / "data", port)
    try:
        manifest, files = await _fetch(http, ticket_id, tmp_path)
        timeline = await http.call("GET", f"/api/tickets/{ticket_id}/timeline", SUPERVISOR)
    finally:
        await _stop(process, signal.SIGTERM)
    assert "recording_interrupted" in [entry["action"] for entry in timeline]
    assert (manifest["row"]["state"], manifest["row"]["reason"]) == (
        "interrupted",
        "server_stopped",
    )
    v, a = _track(manifest, "video"), _track(manifest, "audio")
    stamps = await asyncio.to_thread(_stamps, files[v["track_id"]])
    assert len(stamps) > 3 * FPS
    assert (killed_ms - stamps[-1].sent_ms) % 2**32 < 2000, "video lost more than 2 s"
    audio = await asyncio.to_thread(probe_file, files[a["track_id"]])
    audio_end = datetime.fromisoformat(a["start_wall"]).timestamp() + audio.duration_s
    assert killed_at - audio_end < 2.0, "audio lost more than 2 s"
