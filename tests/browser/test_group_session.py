"""Group onboarding: two browser pages and one Python client all see each other."""

from __future__ import annotations

import asyncio
import contextlib

import av
import pytest
from aiohttp.test_utils import TestServer
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from playwright.async_api import Browser, Page
from playwright.async_api import TimeoutError as PlaywrightTimeout

from media.synthetic import StampedVideoTrack, ToneAudioTrack
from signaling.client import TeleGuideClient
from tests.app_fixtures import TokenFactory
from tests.browser.conftest import PHONE, artifact, create_session, open_as

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.media, pytest.mark.timeout(240)]

# Every tile but our own shows a decoded picture.
OTHERS_PLAYING = """
(count) => {
  const videos = [...document.querySelectorAll('figure.tile:not(.local) video')];
  return videos.length === count && videos.every((v) => v.videoWidth > 0 && v.currentTime > 0);
}
"""


VIDEO_STATES = """
() => [...document.querySelectorAll('figure.tile video')].map((v) => ({
  tile: v.closest('figure').dataset.participantId,
  role: v.closest('figure').dataset.role,
  width: v.videoWidth,
  time: v.currentTime,
  paused: v.paused,
  ready: v.readyState,
  tracks: (v.srcObject?.getTracks() || []).map((t) => `${t.kind}:${t.readyState}`),
}))
"""


async def wait_for_others_playing(page: Page, count: int) -> None:
    """Wait until every other participant's tile plays; report the tiles if not."""
    try:
        await page.wait_for_function(OTHERS_PLAYING, arg=count, timeout=30_000)
    except PlaywrightTimeout as exc:
        raise AssertionError(f"tiles: {await page.evaluate(VIDEO_STATES)}") from exc


async def join(page: Page) -> None:
    """Press join and wait until connected."""
    await page.click("#join-button")
    await page.wait_for_selector('[data-testid="connection-state"][data-state="connected"]')


async def participant_names(page: Page) -> list[str]:
    """Names in the page's participant list."""
    names: list[str] = await page.eval_on_selector_all(
        "[data-testid=participants] .participant-name", "els => els.map((e) => e.textContent)"
    )
    return sorted(names)


async def decoded_frames(track: MediaStreamTrack, wanted: int, within_s: float) -> int:
    """Count decoded video frames of a track, up to ``wanted``."""
    frames = 0
    with contextlib.suppress(TimeoutError, MediaStreamError):
        async with asyncio.timeout(within_s):
            while frames < wanted:
                frame = await track.recv()
                assert isinstance(frame, av.VideoFrame)
                frames += 1
    return frames


async def test_two_browsers_and_a_python_client_see_each_other(
    browser: Browser, node: TestServer, node_tokens: TokenFactory
) -> None:
    _, session_id = await create_session(node, node_tokens, "group_onboarding")
    url = str(node.make_url("/ws")).replace("http://", "ws://")
    device = TeleGuideClient(url, node_tokens("trainee-2", "technician"))
    path = f"/sessions/{session_id}"
    trainer, trainer_log = await open_as(browser, node, node_tokens("trainer-1", "trainer"), path)
    trainee_token = node_tokens("trainee-1", "patient")
    trainee, trainee_log = await open_as(browser, node, trainee_token, path, viewport=PHONE)
    try:
        await device.connect()
        await device.join(session_id)
        await device.publish([StampedVideoTrack(320, 240, 15.0), ToneAudioTrack()])
        await join(trainer)
        await join(trainee)
        for page in (trainer, trainee):
            await wait_for_others_playing(page, 2)
            assert await participant_names(page) == ["trainee-1", "trainee-2", "trainer-1"]
        # The Python client receives both browsers' camera and microphone.
        producers = await device.wait_for_producers(4, within_s=30)
        publishers = {device.producers[p]["participant_id"] for p in producers}
        assert len(publishers) == 2
        subscription = await device.subscribe(producers)
        videos = [t for t in subscription.tracks.values() if t.kind == "video"]
        assert len(videos) == 2
        for track in videos:
            assert await decoded_frames(track, wanted=10, within_s=30) == 10
        # Trainees see the trainer large; the trainer sees a grid of the trainees.
        main_roles = await trainee.eval_on_selector_all(
            ".stage-main figure.tile", "els => els.map((e) => e.dataset.role)"
        )
        assert main_roles == ["trainer"]
        grid = await trainer.eval_on_selector_all(
            ".stage.grid .stage-main figure.tile", "els => els.map((e) => e.dataset.role)"
        )
        assert sorted(grid) == ["patient", "technician"]
    finally:
        await device.close()
        await trainer.screenshot(path=artifact("group-trainer.png"), full_page=True)
        await trainee.screenshot(path=artifact("group-trainee.png"), full_page=True)
        print("trainer page:", trainer_log, "\ntrainee page:", trainee_log, sep="\n")
