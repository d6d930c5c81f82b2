"""Recording from the browser: both people are asked, both agree, the indicator says so, and
the finished recording is listed on the ticket with files behind signed links."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page

from sessions.clock import SystemClock
from signaling.app import create_app
from signaling.config import Settings
from signaling.recording_feature import recordings_ctx
from tests.app_fixtures import TokenFactory
from tests.browser.conftest import PHONE, artifact, create_session, open_as

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.media, pytest.mark.timeout(240)]


@pytest.fixture
async def recording_node(settings: Settings) -> AsyncIterator[TestServer]:
    """A node that records (the recordings context runs recovery and retention)."""
    app = create_app(settings, SystemClock())
    app.cleanup_ctx.append(recordings_ctx)
    server = TestServer(app)
    await server.start_server()
    yield server
    await server.close()


async def join_and_consent(page: Page) -> None:
    """Join, then answer the consent question with yes."""
    await page.click("#join-button")
    await page.wait_for_selector('[data-testid="connection-state"][data-state="connected"]')
    await page.click('[data-consent="yes"]')


async def test_both_consent_then_the_recording_is_on_the_ticket(
    browser: Browser, recording_node: TestServer
) -> None:
    node, tokens = recording_node, TokenFactory(recording_node.app)
    ticket_id, session_id = await create_session(
        node, tokens, "guided_exercise", recording_policy="full"
    )
    path = f"/sessions/{session_id}"
    patient, _ = await open_as(browser, node, tokens("patient-1", "patient"), path, viewport=PHONE)
    expert, expert_log = await open_as(browser, node, tokens("expert-1", "expert"), path)
    await join_and_consent(patient)
    await join_and_consent(expert)
    recording_you = '[data-testid="recording-indicator"][data-indicator="recording"]'
    for page in (patient, expert):
        await page.wait_for_selector(recording_you)
    await patient.screenshot(path=artifact("recording-patient.png"))
    await asyncio.sleep(3)  # a few seconds of media in the files
    # The patient takes the yes back: the expert is still recorded, the patient no more.
    await patient.click('[data-consent="withdraw"]')
    await patient.wait_for_selector(
        '[data-testid="recording-indicator"][data-indicator="recording_others"]'
    )
    assert await patient.is_hidden('[data-consent="withdraw"]')

    expert.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await expert.click('[data-control="end"]')
    await expert.wait_for_selector('[data-testid="final-state"][data-state="ended"]')
    await expert.click('[data-testid="final-state"] a')
    assert expert.url.endswith(f"#/tickets/{ticket_id}")
    recording = expert.locator("[data-testid=recordings] li[data-recording-id]")
    await recording.wait_for()
    assert await recording.locator('[data-i18n="recording_state.complete"]').count() == 1
    await recording.locator('[data-i18n="recordings.files"]').click()
    video = recording.locator(".recording-files li", has=expert.locator("text=Video")).first
    await video.wait_for()
    async with expert.context.expect_page() as opened:
        await video.locator("button").click()
    player = await opened.value
    assert "/files/" in player.url
    # The signed link serves the file without any other credential.
    response = await expert.request.get(player.url)
    assert response.status == 200
    assert len(await response.body()) > 10_000
    await expert.screenshot(path=artifact("recording-ticket.png"), full_page=True)
    assert expert_log.errors() == [], str(expert_log)
