"""Clear states in the browser: reconnect after a lost link, session ended, token expired,
camera and microphone denied."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import WSCloseCode
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, async_playwright

from signaling.keys import OPEN_SOCKETS_KEY
from tests.app_fixtures import TokenFactory
from tests.browser.conftest import CHROMIUM_ARGS, PHONE, artifact, create_session, open_as

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.media, pytest.mark.timeout(240)]

PATIENT_VIDEO = 'figure.tile[data-role="patient"] video'
# The patient's tile plays a picture from a track other than the one it had before.
PLAYING_NEW_TRACK = """
([selector, oldTrack]) => {
  const video = document.querySelector(selector);
  const track = video?.srcObject?.getVideoTracks()[0];
  return Boolean(track) && track.id !== oldTrack && video.videoWidth > 0 && video.currentTime > 0;
}
"""


async def join(page: Page) -> None:
    """Press join and wait until connected."""
    await page.click("#join-button")
    await page.wait_for_selector('[data-testid="connection-state"][data-state="connected"]')


async def test_patient_page_reconnects_after_losing_its_link(
    browser: Browser, node: TestServer, node_tokens: TokenFactory
) -> None:
    _, session_id = await create_session(node, node_tokens, "guided_exercise")
    path = f"/sessions/{session_id}"
    patient, patient_log = await open_as(
        browser, node, node_tokens("patient-1", "patient"), path, viewport=PHONE
    )
    await join(patient)
    open_sockets = node.app[OPEN_SOCKETS_KEY]
    (patient_socket,) = list(open_sockets)
    participant_id = await patient.get_attribute("section.session", "data-participant-id")
    expert, _ = await open_as(browser, node, node_tokens("expert-1", "expert"), path)
    await join(expert)
    await expert.wait_for_function(PLAYING_NEW_TRACK, arg=[PATIENT_VIDEO, ""], timeout=30_000)
    before = await expert.eval_on_selector(PATIENT_VIDEO, "v => v.srcObject.getVideoTracks()[0].id")

    # The server loses the patient's socket, as on a network change.
    await patient_socket.close(code=WSCloseCode.SERVICE_RESTART)
    await patient.wait_for_selector('[data-state="reconnecting"]', timeout=10_000)
    await patient.wait_for_selector('[data-state="connected"]', timeout=20_000)
    again = await patient.get_attribute("section.session", "data-participant-id")
    assert again == participant_id, "the place in the session was not kept"
    # The patient published again and the expert's page subscribed to the new tracks.
    await expert.wait_for_function(PLAYING_NEW_TRACK, arg=[PATIENT_VIDEO, before], timeout=30_000)
    await patient.screenshot(path=artifact("reconnected-patient.png"))
    assert patient_log.errors() == [], str(patient_log)


async def test_patient_page_shows_the_session_ended(
    browser: Browser, node: TestServer, node_tokens: TokenFactory
) -> None:
    ticket_id, session_id = await create_session(node, node_tokens, "guided_exercise")
    path = f"/sessions/{session_id}"
    patient, _ = await open_as(browser, node, node_tokens("patient-1", "patient"), path)
    expert, _ = await open_as(browser, node, node_tokens("expert-1", "expert"), path)
    await join(patient)
    await join(expert)
    expert.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await expert.click('[data-control="end"]')
    final = patient.locator('[data-testid="final-state"][data-state="ended"]')
    await final.wait_for()
    assert await final.get_attribute("data-reason") is not None
    link = await patient.get_attribute('[data-testid="final-state"] a', "href")
    assert link == f"#/tickets/{ticket_id}"
    await patient.screenshot(path=artifact("ended-patient.png"))


async def test_an_expired_sign_in_link_asks_to_sign_in_again(
    browser: Browser, node: TestServer, node_tokens: TokenFactory
) -> None:
    token = node_tokens("patient-1", "patient", ttl_s=1)
    await asyncio.sleep(1.5)
    page, _ = await open_as(browser, node, token, "/queue", viewport=PHONE)
    await page.wait_for_selector('[role=alert][data-i18n="signin.expired_notice"]')
    assert await page.is_visible("#token-input")
    await page.screenshot(path=artifact("expired-signin.png"))


@pytest.fixture
async def browser_without_devices(chromium_path: Path) -> AsyncIterator[Browser]:
    """Chromium where camera and microphone permission is not given (no fake-ui flag)."""
    args = [a for a in CHROMIUM_ARGS if a != "--use-fake-ui-for-media-stream"]
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=str(chromium_path), args=args)
        try:
            yield chromium
        finally:
            await chromium.close()


async def test_denied_camera_and_microphone_are_explained(
    browser_without_devices: Browser, node: TestServer, node_tokens: TokenFactory
) -> None:
    _, session_id = await create_session(node, node_tokens, "guided_exercise")
    token = node_tokens("patient-1", "patient")
    page, _ = await open_as(browser_without_devices, node, token, f"/sessions/{session_id}")
    await join(page)
    notice = page.locator('[data-testid="media-problem"]')
    await notice.wait_for()
    assert await notice.get_attribute("data-i18n") == "media.denied_both"
    # Still in the session: the patient can see and hear others and chat.
    assert await page.is_enabled(".chat-form button")
    await page.screenshot(path=artifact("denied-media.png"))
