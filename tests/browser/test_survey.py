"""The after-service survey in Chromium: the emailed link opens a form that answers once."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser

from signaling.keys import SERVICES_KEY
from tests.app_fixtures import TokenFactory
from tests.browser.conftest import artifact

pytestmark = [pytest.mark.browser, pytest.mark.servicedesk, pytest.mark.timeout(120)]


async def _emailed_survey_token(node: TestServer, tokens: TokenFactory) -> str:
    """Resolve a ticket of a technician with an email address; read the mailed link's token.

    No SMTP server is configured here, so the invitation lands in the dead-letter list, where
    an administrator would see it.
    """
    services = node.app[SERVICES_KEY]
    await services.store.upsert_user(
        identity="tech-1",
        display_name="Tech One",
        role="technician",
        language="en",
        now=services.clock.now(),
        email="tech-1@clinic.example",
    )
    staff = tokens.headers("expert-1", "expert")
    admin = tokens.headers("root", "admin")
    async with aiohttp.ClientSession(str(node.make_url("/"))) as http:
        body = {
            "kind": "device_fault",
            "tier": "urgent",
            "title": "Pump alarm E42",
            "requester": "tech-1",
        }
        async with http.post("/api/tickets", json=body, headers=staff) as response:
            ticket: dict[str, Any] = await response.json()
        for status in ("assigned", "resolved"):
            async with http.post(
                f"/api/tickets/{ticket['id']}/transition", json={"status": status}, headers=staff
            ) as response:
                assert response.status == 200, await response.text()
        for _ in range(200):
            async with http.get("/api/desk/dead-letters", headers=admin) as response:
                letters = await response.json()
            mails = [
                m["payload"]["text"]
                for m in letters
                if m["event_type"] == "email.survey_invitation"
            ]
            if mails:
                match = re.search(r"/survey/([A-Za-z0-9_-]+)", mails[0])
                assert match is not None, mails[0]
                return match.group(1)
            await asyncio.sleep(0.05)
    raise AssertionError("no survey invitation was mailed")


async def test_the_emailed_link_opens_a_form_that_answers_once(
    plain_browser: Browser, node: TestServer, node_tokens: TokenFactory
) -> None:
    token = await _emailed_survey_token(node, node_tokens)
    context = await plain_browser.new_context(viewport={"width": 390, "height": 844})
    page = await context.new_page()
    await page.goto(str(node.make_url(f"/survey/{token}")))
    await page.get_by_text("Pump alarm E42").wait_for()
    await page.get_by_label("4 \u2013 good").check()
    await page.get_by_label("Anything you want to tell us (optional)").fill("Quick and clear")
    await page.screenshot(path=str(artifact("survey-form.png")), full_page=True)
    await page.get_by_role("button", name="Send").click()
    await page.get_by_text("Thank you. Your answer was recorded.").wait_for()
    async with (
        aiohttp.ClientSession() as http,
        http.get(str(node.make_url(f"/api/survey/{token}"))) as response,
    ):
        assert (await response.json())["answered"] is True
    await page.goto(str(node.make_url(f"/survey/{token}")))
    await page.get_by_text("This survey has already been answered. Thank you.").wait_for()
    await page.goto(str(node.make_url("/survey/not-a-real-token")))
    await page.get_by_text("This survey link is not valid.").wait_for()
    await context.close()
