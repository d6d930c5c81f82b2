"""After a guided session, the ticket shows its exercise summary and the patient's progress
page charts it."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page

from tests.app_fixtures import TokenFactory
from tests.browser.conftest import PHONE, artifact, create_session, open_as

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.media, pytest.mark.timeout(240)]

REPS_AT_LEAST = "(n) => Number(document.querySelector('[data-testid=rep-count]')?.textContent) >= n"


async def join(page: Page) -> None:
    """Press join and wait until connected."""
    await page.click("#join-button")
    await page.wait_for_selector('[data-testid="connection-state"][data-state="connected"]')


async def test_summary_on_the_ticket_and_charts_on_the_progress_page(
    browser: Browser, node: TestServer, node_tokens: TokenFactory
) -> None:
    ticket_id, session_id = await create_session(node, node_tokens, "guided_exercise")
    path = f"/sessions/{session_id}"
    patient_token = node_tokens("patient-1", "patient")
    patient, patient_log = await open_as(browser, node, patient_token, path, viewport=PHONE)
    expert, _ = await open_as(browser, node, node_tokens("expert-1", "expert"), path)
    await join(patient)
    await join(expert)
    await patient.wait_for_function(REPS_AT_LEAST, arg=1, timeout=90_000)
    expert.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await expert.click('[data-control="end"]')
    await patient.wait_for_selector('[data-testid="final-state"][data-state="ended"]')

    # The ticket's timeline carries the session's exercise summary.
    await patient.click('[data-testid="final-state"] a')
    summary = patient.locator('.exercise-summary li[data-exercise="squat"]')
    await summary.wait_for()
    assert "reps" in (await summary.inner_text())
    # The page keeps its session list current: the session shows as ended.
    await patient.locator(".session-item .session-done").wait_for(timeout=60_000)
    await patient.screenshot(path=artifact("ticket-summary-patient.png"), full_page=True)

    # The patient's own progress page draws the session.
    await patient.click('nav a[href="#/progress/patient-1"]')
    chart = patient.locator('.chart-block[data-exercise="squat"]')
    await chart.wait_for()
    assert await chart.locator("svg.chart").count() == 2
    assert await chart.locator("rect.bar").count() == 1
    assert ticket_id
    await patient.screenshot(path=artifact("progress-patient.png"), full_page=True)
    assert patient_log.errors() == [], str(patient_log)
