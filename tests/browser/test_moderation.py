"""Moderator controls in the browser: mute someone, spotlight them, remove them."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page

from tests.app_fixtures import TokenFactory
from tests.browser.conftest import PHONE, create_session, open_as

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.media, pytest.mark.timeout(240)]


async def join(page: Page) -> None:
    """Press join and wait until connected."""
    await page.click("#join-button")
    await page.wait_for_selector('[data-testid="connection-state"][data-state="connected"]')


async def test_expert_mutes_spotlights_and_removes_the_patient(
    browser: Browser, node: TestServer, node_tokens: TokenFactory
) -> None:
    _, session_id = await create_session(node, node_tokens, "remote_diagnosis")
    path = f"/sessions/{session_id}"
    patient_token = node_tokens("patient-1", "patient")
    patient, _ = await open_as(browser, node, patient_token, path, viewport=PHONE)
    expert, _ = await open_as(browser, node, node_tokens("expert-1", "expert"), path)
    await join(patient)
    await join(expert)
    # Patients get no moderator controls; experts get them for others only.
    assert await patient.locator(".moderator-controls").count() == 0
    row = expert.locator("[data-testid=participants] li", has_text="patient-1")
    await row.wait_for()

    await row.get_by_role("button", name="Mute").click()
    # The patient's page follows: its microphone button now says it is off.
    mic = patient.locator('[data-control="mic"]')
    await mic.and_(patient.locator('[aria-pressed="false"]')).wait_for()
    assert await mic.get_attribute("data-i18n") == "control.mic_off"
    await expert.locator(
        '[data-testid=participants] li .flag[data-i18n="participant.audio_muted"]'
    ).wait_for()

    # Spotlighting the patient makes the patient's own picture the large one everywhere.
    assert await patient.locator(".stage-main figure.tile.local").count() == 0
    await row.get_by_role("button", name="Spotlight").click()
    await patient.locator(".stage-main figure.tile.local").wait_for()

    await row.get_by_role("button", name="Remove").click()
    await patient.locator('[data-testid="final-state"][data-state="removed"]').wait_for()
    await expert.locator("[data-testid=participants] li", has_text="patient-1").wait_for(
        state="detached"
    )
