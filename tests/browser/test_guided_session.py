"""A patient and an expert in a guided squat session, in two headless Chromium pages."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page

from tests.app_fixtures import TokenFactory
from tests.browser.conftest import PHONE, artifact, create_session, open_as

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.media, pytest.mark.timeout(240)]

PATIENT_TILE_VIDEO = 'figure.tile[data-role="patient"] video'


async def join(page: Page) -> None:
    """Press the join button of the pre-join screen and wait until connected."""
    await page.click("#join-button")
    await page.wait_for_selector('[data-testid="connection-state"][data-state="connected"]')


async def video_progress(page: Page, selector: str) -> dict[str, float]:
    """Size and playback position of a video element."""
    result: dict[str, float] = await page.eval_on_selector(
        selector,
        "v => ({width: v.videoWidth, height: v.videoHeight, time: v.currentTime})",
    )
    return result


async def test_expert_sees_patient_video_and_reps(
    browser: Browser, node: TestServer, node_tokens: TokenFactory
) -> None:
    _, session_id = await create_session(node, node_tokens, "guided_exercise")
    path = f"/sessions/{session_id}"
    patient_token = node_tokens("patient-1", "patient")
    patient, patient_log = await open_as(browser, node, patient_token, path, viewport=PHONE)
    expert, expert_log = await open_as(browser, node, node_tokens("expert-1", "expert"), path)
    try:
        await join(patient)
        await join(expert)
        # The expert's large tile is the patient's camera, decoded and playing.
        await expert.wait_for_function(
            f"() => document.querySelector('{PATIENT_TILE_VIDEO}')?.videoWidth > 0",
            timeout=30_000,
        )
        first = await video_progress(expert, PATIENT_TILE_VIDEO)
        await expert.wait_for_timeout(1500)
        later = await video_progress(expert, PATIENT_TILE_VIDEO)
        assert (first["width"], first["height"]) == (360, 640), first
        assert later["time"] > first["time"], f"video is not advancing: {first} -> {later}"
        # The server's pose analysis counts the squats of the clip.
        await expert.wait_for_function(
            "() => Number(document.querySelector('[data-testid=rep-count]')?.textContent) >= 2",
            timeout=90_000,
        )
    finally:
        await patient.screenshot(path=artifact("guided-patient.png"), full_page=True)
        await expert.screenshot(path=artifact("guided-expert.png"), full_page=True)
        print("patient page:", patient_log, "\nexpert page:", expert_log, sep="\n")
