"""Recording through the real server: consent over /ws, the row at the end, the HTTP API,
signed links with ranges, the authorization matrix, the audit log, retention and recovery."""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from media.analysis.events import AnalysisUpdate, Cue
from media.producer import Producer
from media.recording.manifest import Manifest, write_manifest
from media.recording.policy import RecordingPolicy
from media.recording.state import RecordingState
from media.recording.synthetic import SyntheticProducer, opus_packets
from sessions.clock import ManualClock
from signaling.app import create_app
from signaling.coaching import CoachingFeature
from signaling.config import Settings
from signaling.keys import ROOMS_KEY, SERVICES_KEY
from signaling.recording_feature import RecordingFeature, recording_node, recordings_ctx
from tests.app_fixtures import AiohttpClient, TokenFactory
from tests.ws_peer import WsPeer, connect_peer

Client = TestClient[Any, Any]


class Peer(WsPeer):
    """A /ws connection that also waits for recording indicators."""

    async def indicators(self, **expected: str) -> dict[str, Any]:
        """Wait for a recording_state whose indicators include ``expected``."""
        while True:
            state = await self.event("recording_state")
            if all(state["indicators"].get(k) == v for k, v in expected.items()):
                return state


async def _connect(client: Client, token: str) -> Peer:
    return Peer((await connect_peer(client, token)).ws)


@dataclass
class Live:
    """A ticket with a live session under a recording policy."""

    ticket_id: str
    session_id: str


@pytest.fixture
def app(settings: Settings, clock: ManualClock) -> web.Application:
    """The node, with the recordings context the lead wires in at startup."""
    application = create_app(settings, clock)
    application.cleanup_ctx.append(recordings_ctx)
    return application


async def _open(client: Client, tokens: TokenFactory, policy: str) -> Live:
    headers = tokens.headers("expert-1", "expert")
    body = {"kind": "device_fault", "tier": "urgent", "title": "pump alarm"}
    body |= {"requester": "patient-1", "patient": "patient-1"}
    ticket = await (await client.post("/api/tickets", headers=headers, json=body)).json()
    response = await client.post(
        f"/api/tickets/{ticket['id']}/sessions",
        headers=headers,
        json={"kind": "remote_diagnosis", "recording_policy": policy},
    )
    assert response.status == 201, await response.text()
    return Live(ticket["id"], (await response.json())["id"])


async def _join(client: Client, tokens: TokenFactory, who: str, role: str, live: Live) -> Peer:
    peer = await _connect(client, tokens(who, role))
    reply = await peer.call("join", session_id=live.session_id)
    assert reply["ok"], reply
    peer.events.append({"type": "joined", "participant_id": reply["participant_id"]})
    return peer


def _pid(peer: Peer) -> str:
    return str(next(e for e in peer.events if e["type"] == "joined")["participant_id"])


async def _end(client: Client, tokens: TokenFactory, live: Live) -> None:
    headers = tokens.headers("expert-1", "expert")
    response = await client.post(f"/api/sessions/{live.session_id}/end", headers=headers)
    assert response.status == 200, await response.text()


async def _chat_kept(client: Client, live: Live) -> None:
    # The recording takes chat from the ticket's timeline, which the room writes behind.
    store = client.app[SERVICES_KEY].store
    for _ in range(100):
        if any(e.action == "session_chat" for e in await store.list_timeline(live.ticket_id)):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the chat never reached the ticket's timeline")


async def _recorded_session(client: Client, tokens: TokenFactory) -> Live:
    """A full-policy session: the expert consents, the patient declines, a chat, the end."""
    live = await _open(client, tokens, "full")
    expert = await _join(client, tokens, "expert-1", "expert", live)
    patient = await _join(client, tokens, "patient-1", "patient", live)
    await patient.event("consent_requested")
    assert (await expert.call("consent", granted=True))["indicator"] == "waiting_for_others"
    assert (await patient.call("consent", granted=False))["indicator"] == "recording_others"
    assert (await expert.call("chat", text="hello"))["ok"]
    await _chat_kept(client, live)
    await _end(client, tokens, live)
    for peer in (expert, patient):
        await peer.ws.close()
    return live


async def test_consent_and_indicators_reach_everyone(client: Client, tokens: TokenFactory) -> None:
    live = await _open(client, tokens, "full")
    expert = await _join(client, tokens, "expert-1", "expert", live)
    request = await expert.event("consent_requested")
    assert request["policy"] == "full"
    expert_id = _pid(expert)
    assert (await expert.indicators(**{expert_id: "consent_requested"}))["state"] == (
        "pending_consent"
    )
    patient = await _join(client, tokens, "patient-1", "patient", live)
    patient_id = _pid(patient)
    await patient.event("consent_requested")
    await expert.call("consent", granted=True)
    # Nobody is recorded before everyone present has answered.
    await patient.indicators(**{expert_id: "waiting_for_others", patient_id: "consent_requested"})
    await patient.call("consent", granted=True)
    state = await expert.indicators(**{expert_id: "recording", patient_id: "recording"})
    assert state["state"] == "recording"
    # A late joiner is asked; only their own tracks wait for the answer.
    late = await _join(client, tokens, "expert-2", "expert", live)
    late_id = _pid(late)
    await late.event("consent_requested")
    await expert.indicators(
        **{expert_id: "recording", patient_id: "recording", late_id: "consent_requested"}
    )
    assert (await late.call("consent", granted=False))["indicator"] == "recording_others"
    await late.ws.close()
    # Withdrawing stops one's own recording at once; everyone sees it.
    assert (await patient.call("consent", granted=False))["indicator"] == "recording_others"
    await expert.indicators(**{expert_id: "recording", patient_id: "recording_others"})
    await _end(client, tokens, live)
    for peer in (expert, patient):
        await peer.ws.close()


async def test_unrecorded_session_refuses_consent(client: Client, tokens: TokenFactory) -> None:
    live = await _open(client, tokens, "off")
    expert = await _join(client, tokens, "expert-1", "expert", live)
    reply = await expert.call("consent", granted=True)
    assert reply["ok"] is False
    assert reply["error"]["code"] == "invalid_state"
    await expert.ws.close()


async def test_metrics_only_asks_nobody_and_keeps_the_timeline(
    client: Client, tokens: TokenFactory
) -> None:
    live = await _open(client, tokens, "metrics_only")
    expert = await _join(client, tokens, "expert-1", "expert", live)
    state = await expert.indicators(**{_pid(expert): "metrics_only"})
    assert state["state"] == "recording"
    await _end(client, tokens, live)
    await expert.ws.close()
    assert not [e for e in expert.events if e["type"] == "consent_requested"]
    supervisor = tokens.headers("sup-1", "supervisor")
    listed = await (
        await client.get(f"/api/tickets/{live.ticket_id}/recordings", headers=supervisor)
    ).json()
    assert [(r["policy"], r["state"], r["tracks"]) for r in listed] == [
        ("metrics_only", "complete", [])
    ]


async def test_recording_is_stored_with_its_timeline(client: Client, tokens: TokenFactory) -> None:
    live = await _recorded_session(client, tokens)
    headers = tokens.headers("patient-1", "patient")
    listed = await (
        await client.get(f"/api/tickets/{live.ticket_id}/recordings", headers=headers)
    ).json()
    assert len(listed) == 1
    assert listed[0]["state"] == "complete"
    assert listed[0]["session_id"] == live.session_id
    manifest = await (
        await client.get(f"/api/recordings/{listed[0]['id']}", headers=headers)
    ).json()
    kinds = [event["kind"] for event in manifest["timeline"]]
    assert kinds.count("join") == 2
    assert kinds.count("consent") == 2
    chat = next(e for e in manifest["timeline"] if e["kind"] == "chat")
    assert chat["data"] == {"text": "hello"}
    timeline = await client.app[SERVICES_KEY].store.list_timeline(live.ticket_id)
    actions = [entry.action for entry in timeline]
    assert "recording_started" in actions
    assert "recording_ready" in actions


async def _only_recording(client: Client, tokens: TokenFactory, live: Live) -> str:
    headers = tokens.headers("sup-1", "supervisor")
    response = await client.get(f"/api/tickets/{live.ticket_id}/recordings", headers=headers)
    return str((await response.json())[0]["id"])


# (caller, role, expected status) for list, manifest, link, export; an allowed export of
# this recording answers 422: the session had no video (export jobs are tested end to end).
MATRIX = [
    ("sup-1", "supervisor", (200, 200, 201, 422)),
    ("admin-1", "admin", (200, 403, 403, 403)),
    ("expert-1", "expert", (200, 200, 201, 422)),
    ("patient-1", "patient", (200, 200, 201, 403)),
    ("expert-2", "expert", (200, 404, 404, 404)),
    ("patient-2", "patient", (404, 404, 404, 404)),
]


async def test_authorization_matrix_is_enforced_and_audited(
    client: Client, tokens: TokenFactory
) -> None:
    live = await _recorded_session(client, tokens)
    recording_id = await _only_recording(client, tokens, live)
    base = f"/api/recordings/{recording_id}"
    for who, role, (listing, view, link, export) in MATRIX:
        headers = tokens.headers(who, role)
        got = await client.get(f"/api/tickets/{live.ticket_id}/recordings", headers=headers)
        assert got.status == listing, who
        if who == "expert-2":  # staff see the ticket, not the recordings they were not in
            assert await got.json() == []
        assert (await client.get(base, headers=headers)).status == view, who
        body = {"file": "manifest.json"}
        assert (await client.post(f"{base}/links", headers=headers, json=body)).status == link
        assert (await client.post(f"{base}/exports", headers=headers, json={})).status == export
    store = client.app[SERVICES_KEY].store
    audit = await store.list_audit(object_type="recording", object_id=recording_id)
    actions = {(a.actor, a.action) for a in audit}
    assert ("patient-1", "recording_viewed") in actions
    assert ("admin-1", "recording_access_denied") in actions
    assert ("expert-2", "recording_access_denied") in actions
    assert ("patient-1", "recording_link_issued") in actions
    assert all(a.data["ticket_id"] == live.ticket_id for a in audit)


async def _link(client: Client, tokens: TokenFactory, recording_id: str, who: str) -> str:
    headers = tokens.headers(who, "patient")
    response = await client.post(
        f"/api/recordings/{recording_id}/links", headers=headers, json={"file": "manifest.json"}
    )
    assert response.status == 201, await response.text()
    return str((await response.json())["url"])


def _tampered(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | changes
    return f"{parts.path}?{urlencode(query)}"


async def test_signed_links_ranges_and_their_refusals(
    client: Client, tokens: TokenFactory, clock: ManualClock
) -> None:
    live = await _recorded_session(client, tokens)
    recording_id = await _only_recording(client, tokens, live)
    url = await _link(client, tokens, recording_id, "patient-1")

    whole = await client.get(url)
    assert whole.status == 200
    body = await whole.read()
    assert json.loads(body)["recording_id"] == recording_id
    part = await client.get(url, headers={"Range": "bytes=0-9"})
    assert part.status == 206
    assert part.headers["Content-Range"] == f"bytes 0-9/{len(body)}"
    assert await part.read() == body[:10]
    tail = await client.get(url, headers={"Range": "bytes=-5"})
    assert await tail.read() == body[-5:]
    beyond = await client.get(url, headers={"Range": f"bytes={len(body) + 10}-"})
    assert beyond.status == 416
    assert beyond.headers["Content-Range"] == f"bytes */{len(body)}"

    forged = await client.get(_tampered(url, sig="0" * 64))
    assert (forged.status, (await forged.json())["code"]) == (403, "link_invalid")
    longer = await client.get(_tampered(url, exp=str(int(clock.now().timestamp()) + 3000)))
    assert (longer.status, (await longer.json())["code"]) == (403, "link_invalid")
    other = await client.get(url, headers=tokens.headers("patient-2", "patient"))
    assert other.status == 403, "a forwarded link works only for whom it was issued to"
    clock.set(clock.now() + timedelta(minutes=6))
    expired = await client.get(url)
    assert (expired.status, (await expired.json())["code"]) == (403, "link_expired")

    store = client.app[SERVICES_KEY].store
    audit = await store.list_audit(object_type="recording", object_id=recording_id)
    downloads = [a for a in audit if a.action == "recording_downloaded"]
    assert [a.data.get("range") for a in downloads] == [None, "bytes=0-9", "bytes=-5"]
    denied = [a.data["error"] for a in audit if a.action == "recording_access_denied"]
    assert denied == [
        "range_not_satisfiable",
        "link_invalid",
        "link_invalid",
        "link_invalid",
        "link_expired",
    ]


async def test_deletion_removes_files_and_keeps_the_audit(
    client: Client, tokens: TokenFactory
) -> None:
    live = await _recorded_session(client, tokens)
    recording_id = await _only_recording(client, tokens, live)
    node = recording_node(client.app[SERVICES_KEY])
    directory = node.root / recording_id
    assert directory.is_dir()
    base = f"/api/recordings/{recording_id}"
    assert (await client.delete(base, headers=tokens.headers("patient-1", "patient"))).status == 403
    assert (await client.delete(base, headers=tokens.headers("admin-1", "admin"))).status == 204
    assert not directory.exists()
    assert (await client.delete(base, headers=tokens.headers("admin-1", "admin"))).status == 404
    supervisor = tokens.headers("sup-1", "supervisor")
    assert (await client.get(base, headers=supervisor)).status == 404
    listed = await client.get(f"/api/tickets/{live.ticket_id}/recordings", headers=supervisor)
    assert await listed.json() == []
    store = client.app[SERVICES_KEY].store
    audit = await store.list_audit(object_type="recording", object_id=recording_id)
    deleted = [a for a in audit if a.action == "recording_deleted"]
    assert [(a.actor, a.data["reason"]) for a in deleted] == [("admin-1", "request")]
    assert "manifest.json" in deleted[0].data["files"]
    row = await node.repository.get(recording_id)
    assert row.deleted_by == "admin-1"


async def test_retention_purges_on_the_manual_clock(
    client: Client, tokens: TokenFactory, clock: ManualClock
) -> None:
    live = await _recorded_session(client, tokens)
    recording_id = await _only_recording(client, tokens, live)
    node = recording_node(client.app[SERVICES_KEY])
    clock.set(clock.now() + timedelta(days=179))
    assert await node.purge_due() == []
    assert (node.root / recording_id).is_dir()
    clock.set(clock.now() + timedelta(days=2))
    purged = await node.purge_due()
    assert [(r.recording_id, r.action, r.actor) for r in purged] == [
        (recording_id, "recording_purged", "system")
    ]
    assert not (node.root / recording_id).exists()
    store = client.app[SERVICES_KEY].store
    audit = await store.list_audit(object_type="recording", object_id=recording_id)
    assert [a.action for a in audit][-1] == "recording_purged"
    assert await node.purge_due() == []


@pytest.fixture
async def restarted(
    settings: Settings, clock: ManualClock, aiohttp_client: AiohttpClient
) -> tuple[Client, Live]:
    """A node that finds an unfinished recording of one of its tickets when it starts."""
    first = await aiohttp_client(create_app(settings, clock))
    tokens = TokenFactory(first.app)
    live = await _open(first, tokens, "full")
    node = recording_node(first.app[SERVICES_KEY])
    manifest = Manifest(
        recording_id="rec_crashed",
        session_id=live.session_id,
        ticket_id=live.ticket_id,
        ticket_kind="device_fault",
        policy=RecordingPolicy.FULL,
        state=RecordingState.RECORDING,
        started_at=clock.now(),
    )
    (node.root / "rec_crashed").mkdir(parents=True)
    write_manifest(node.root / "rec_crashed", manifest)
    await first.close()
    second_app = create_app(settings, clock)
    second_app.cleanup_ctx.append(recordings_ctx)
    return await aiohttp_client(second_app), live


async def test_startup_recovers_interrupted_recordings(restarted: tuple[Client, Live]) -> None:
    client, live = restarted
    headers = TokenFactory(client.app).headers("sup-1", "supervisor")
    listed = await (
        await client.get(f"/api/tickets/{live.ticket_id}/recordings", headers=headers)
    ).json()
    assert [(r["id"], r["state"], r["reason"]) for r in listed] == [
        ("rec_crashed", "interrupted", "server_stopped")
    ]
    timeline = await client.app[SERVICES_KEY].store.list_timeline(live.ticket_id)
    assert "recording_interrupted" in [entry.action for entry in timeline]


def test_recordings_root_is_per_node(settings: Settings, tmp_path: Path) -> None:
    app = create_app(settings.model_copy(update={"node_id": "node-a"}))
    assert recording_node(app[SERVICES_KEY]).root == settings.data_dir / "recordings" / "node-a"


@contextlib.contextmanager
def _file_size_limit(limit: int) -> Iterator[None]:
    """Writes past ``limit`` bytes fail with EFBIG, as they fail with ENOSPC on a full disk."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


async def test_full_disk_ends_the_recording_and_the_session_goes_on(
    client: Client, tokens: TokenFactory, settings: Settings
) -> None:
    live = await _open(client, tokens, "full")
    expert = await _join(client, tokens, "expert-1", "expert", live)
    expert_id = _pid(expert)
    await expert.call("consent", granted=True)
    await expert.indicators(**{expert_id: "recording"})
    room = client.app[ROOMS_KEY].get(live.session_id)
    # A pre-encoded microphone stands in for the publisher: the disk is what is under test.
    microphone = SyntheticProducer(expert_id, "audio/opus")
    room.feature(RecordingFeature).producer_added(
        room.session.participants[expert_id], cast(Producer, microphone)
    )
    packets = await asyncio.to_thread(lambda: list(opus_packets(120.0)))
    database = max(p.stat().st_size for p in settings.data_dir.glob("*.sqlite3*"))
    with _file_size_limit(database + 300_000):
        for start in range(0, len(packets), 50):
            for packet, keyframe in packets[start : start + 50]:
                microphone.emit(packet, keyframe)
            await asyncio.sleep(0.005)
        failed = await expert.event("recording_state", state="failed")
    assert failed["reason"] == "disk_full"
    assert failed["indicators"] == {expert_id: "off"}
    # The session goes on: chat still works, and it ends normally.
    assert (await expert.call("chat", text="still here"))["ok"]
    await _end(client, tokens, live)
    await expert.ws.close()
    row = (await recording_node(client.app[SERVICES_KEY]).repository.for_ticket(live.ticket_id))[0]
    assert (row.state, row.reason) == ("failed", "disk_full")
    timeline = await client.app[SERVICES_KEY].store.list_timeline(live.ticket_id)
    assert "recording_failed" in [entry.action for entry in timeline]


def _update(index: int, cue: Cue | None = None) -> AnalysisUpdate:
    landmarks = [[0.5, 0.5, 1.0]] * 33
    return AnalysisUpdate(index / 30, "squat", 0, "rest", {"knee": 170.0}, landmarks, cue=cue)


async def test_annotations_and_sampled_analysis_go_on_the_timeline(
    client: Client, tokens: TokenFactory
) -> None:
    live = await _open(client, tokens, "metrics_only")
    expert = await _join(client, tokens, "expert-1", "expert", live)
    expert_id = _pid(expert)
    await expert.indicators(**{expert_id: "metrics_only"})
    stroke = {"kind": "stroke", "producer_id": "prd_cam", "media_time_s": 1.5}
    stroke |= {"points": [[0.1, 0.1], [0.3, 0.3]], "colour": "#ff0000", "width": 0.01}
    assert (await expert.call("annotate", annotation=stroke))["ok"]
    observers = client.app[ROOMS_KEY].get(live.session_id).feature(CoachingFeature)
    # What the analysis delivers at 30 updates a second for one second, one with a cue.
    for index in range(30):
        cue = Cue("knee_valgus", "Knees out", "en") if index == 10 else None
        for observer in observers.update_observers:
            observer(expert_id, "prd_cam", _update(index, cue))
        await asyncio.sleep(1 / 30)
    await _end(client, tokens, live)
    await expert.ws.close()
    recording_id = await _only_recording(client, tokens, live)
    supervisor = tokens.headers("sup-1", "supervisor")
    manifest = await (
        await client.get(f"/api/recordings/{recording_id}", headers=supervisor)
    ).json()
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for event in manifest["timeline"]:
        by_kind.setdefault(event["kind"], []).append(event)
    assert [e["data"]["seq"] for e in by_kind["annotation"]] == [1]
    assert 4 <= len(by_kind["landmarks"]) <= 8, "landmarks are sampled at about 5 Hz"
    assert len(by_kind["landmarks"][0]["data"]["landmarks"]) == 33
    [analysis] = by_kind["analysis"]
    assert analysis["data"]["cue"]["code"] == "knee_valgus"
    assert "landmarks" not in analysis["data"]
