"""The service desk in the browser: open a ticket, take it, move it, filter the queue, start
a session from the ticket."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser

from tests.app_fixtures import TokenFactory
from tests.browser.conftest import open_as

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.timeout(240)]


async def test_open_take_escalate_filter_and_start_a_session(
    plain_browser: Browser, node: TestServer, node_tokens: TokenFactory
) -> None:
    token = node_tokens("expert-1", "expert")
    page, log = await open_as(plain_browser, node, token, "/tickets/new")
    await page.select_option("#kind", "device_fault")
    await page.select_option("#tier", "routine")
    await page.fill("#title", "Infusion pump shows E42")
    await page.fill("#device_model", "FlowMate 3")
    await page.fill("#device_serial", "FM3-0042")
    await page.fill("#patient", "patient-7")
    await page.click(".ticket-form button[type=submit]")

    # The new ticket's page, with its SLA clocks counting down.
    await page.wait_for_selector(".ticket-detail h1 >> text=Infusion pump shows E42")
    response = page.locator('[data-testid="sla-response"]')
    first = int(await response.get_attribute("data-seconds") or 0)
    await page.wait_for_timeout(2100)
    assert int(await response.get_attribute("data-seconds") or 0) < first

    await page.click('[data-action="take"]')
    await page.wait_for_selector('[data-fact="ticket.assignee"] dd >> text=expert-1')
    assert await page.locator('[data-action="take"]').count() == 0

    await page.select_option("#next-status", "escalated")
    await page.click(".ticket-actions button[type=submit]")
    await page.wait_for_selector('.facts dd[data-i18n="status.escalated"]')
    await page.wait_for_selector('.timeline [data-i18n="action.status_changed"]')

    # The queue filters by status and by priority.
    await page.click('nav a[href="#/queue"]')
    await page.wait_for_selector(".ticket-item")
    await page.select_option("#filter-status", "escalated")
    await page.wait_for_selector(".ticket-item >> text=Infusion pump shows E42")
    await page.select_option("#filter-tier", "urgent")
    await page.wait_for_selector('[data-i18n="queue.empty"]:visible')
    assert await page.locator(".ticket-item").count() == 0

    # Back on the ticket, a session starts and its page opens.
    await page.select_option("#filter-tier", "")
    await page.click(".ticket-item a")
    await page.select_option("#session-kind", "remote_diagnosis")
    await page.click("text=Start a session")
    await page.wait_for_selector("#join-button:not([disabled])")
    assert "#/sessions/" in page.url
    assert log.errors() == [], str(log)
