"""A client that may only use TURN relay candidates, through a real coturn on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import av
import pytest
from aiohttp.test_utils import TestServer
from aiortc.mediastreams import MediaStreamError

from media.synthetic import StampedVideoTrack, read_stamp
from sessions.clock import SystemClock
from signaling.app import create_app
from signaling.client import TeleGuideClient
from signaling.config import Settings
from tests.app_fixtures import TEST_SECRET, TokenFactory

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

TURN_SECRET = "turn-shared-secret-for-tests"


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def coturn(tmp_path: Path) -> Iterator[int]:
    """coturn with use-auth-secret on 127.0.0.1; yields its port."""
    binary = shutil.which("turnserver")
    if binary is None:
        pytest.skip("coturn is not installed (make test installs it)")
    port = _free_udp_port()
    process = subprocess.Popen(
        [
            binary,
            "-n",
            "--listening-ip=127.0.0.1",
            f"--listening-port={port}",
            "--relay-ip=127.0.0.1",
            "--min-port=49160",
            "--max-port=49200",
            "--use-auth-secret",
            f"--static-auth-secret={TURN_SECRET}",
            "--realm=teleguide",
            "--no-cli",
            "--no-tls",
            "--no-dtls",
            "--allow-loopback-peers",
            "--fingerprint",
            f"--pidfile={tmp_path / 'turn.pid'}",
            f"--log-file={tmp_path / 'turn.log'}",
            "--simple-log",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_udp_listener(port, process)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_udp_listener(port: int, process: subprocess.Popen[bytes]) -> None:
    """Wait until coturn answers a STUN binding request."""
    request = bytes.fromhex("000100002112a442") + b"teleguide-tx"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.2)
        for _ in range(50):
            if process.poll() is not None:
                pytest.fail("turnserver exited at start")
            sock.sendto(request, ("127.0.0.1", port))
            with contextlib.suppress(TimeoutError):
                sock.recvfrom(512)
                return
    pytest.fail("turnserver did not answer STUN within 10 s")


@pytest.fixture
async def server(tmp_path: Path, coturn: int) -> AsyncIterator[TestServer]:
    """A node that hands out TURN credentials for the local coturn."""
    settings = Settings(
        data_dir=tmp_path / "data",
        jwt_secret=TEST_SECRET,
        turn_urls=[f"turn:127.0.0.1:{coturn}?transport=udp"],
        turn_secret=TURN_SECRET,
    )
    test_server = TestServer(create_app(settings, SystemClock()))
    await test_server.start_server()
    yield test_server
    await test_server.close()


async def test_relay_only_client_publishes_and_receives(server: TestServer) -> None:
    tokens = TokenFactory(server.app)
    headers = tokens.headers("expert-1", "expert")
    async with aiohttp.ClientSession() as http:
        ticket = await (
            await http.post(
                str(server.make_url("/api/tickets")),
                headers=headers,
                json={
                    "kind": "device_fault",
                    "tier": "urgent",
                    "title": "behind a firewall",
                    "requester": "tech-1",
                },
            )
        ).json()
        session = await (
            await http.post(
                str(server.make_url(f"/api/tickets/{ticket['id']}/sessions")),
                headers=headers,
                json={"kind": "remote_diagnosis"},
            )
        ).json()
    url = str(server.make_url("/ws")).replace("http://", "ws://")
    relayed = TeleGuideClient(url, tokens("tech-1", "technician"), relay_only=True)
    expert = TeleGuideClient(url, tokens("expert-1", "expert"), relay_only=True)
    try:
        await relayed.connect()
        joined = await relayed.join(session["id"])
        turn = [s for s in joined["ice_servers"] if s["urls"][0].startswith("turn:")]
        assert turn, "no TURN server was handed out"
        assert turn[0]["username"].endswith(":tech-1")
        await relayed.publish([StampedVideoTrack(320, 240, 15)])
        await expert.connect()
        await expert.join(session["id"])
        subscription = await expert.subscribe(await expert.wait_for_producers(1))
        track = next(iter(subscription.tracks.values()))
        counters: list[int] = []
        with contextlib.suppress(TimeoutError, MediaStreamError):
            async with asyncio.timeout(30):
                while len(counters) < 10:
                    frame = await track.recv()
                    assert isinstance(frame, av.VideoFrame)
                    stamp = read_stamp(frame)
                    if stamp is not None:
                        counters.append(stamp.counter)
        assert len(counters) == 10
        assert counters == sorted(counters)
        ice = relayed.publisher_pc.getTransceivers()[0].sender.transport.transport
        nominated = ice._connection._nominated.values()  # the pair media really flows over
        assert nominated
        assert all(pair.local_candidate.type == "relay" for pair in nominated)
    finally:
        await relayed.close()
        await expert.close()
