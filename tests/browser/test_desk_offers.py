"""An expert's desk in Chromium: going online brings an offer, taking it assigns the ticket."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser

from tests.app_fixtures import TokenFactory
from tests.browser.conftest import artifact, open_as

pytestmark = [pytest.mark.browser, pytest.mark.servicedesk, pytest.mark.timeout(120)]

ALL_WEEK = [{"day": day, "start": "00:00", "end": "23:59"} for day in range(7)]


async def _api(node: TestServer, method: str, path: str, token: str, body: Any = None) -> Any:
    async with (
        aiohttp.ClientSession() as http,
        http.request(
            method,
            str(node.make_url(path)),
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        ) as response,
    ):
        assert response.status < 300, await response.text()
        return await response.json()


async def test_an_online_expert_is_offered_a_ticket_and_takes_it(
    plain_browser: Browser, node: TestServer, node_tokens: TokenFactory
) -> None:
    await _api(
        node,
        "POST",
        "/api/desk/experts",
        node_tokens("sup-1", "supervisor"),
        {
            "identity": "expert-1",
            "name": "Ana Expert",
            "skills": ["infusion_pump"],
            "languages": ["en"],
            "working_hours": ALL_WEEK,
        },
    )
    page, _ = await open_as(plain_browser, node, node_tokens("expert-1", "expert"), "/queue")
    presence = page.get_by_label("Availability for new tickets")
    await presence.select_option("online")
    for _ in range(100):  # the page's desk connection tells the server
        experts = await _api(node, "GET", "/api/desk/experts", node_tokens("sup-1", "supervisor"))
        if [e for e in experts if e["identity"] == "expert-1" and e["presence"] == "online"]:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the expert never came online")
    ticket = await _api(
        node,
        "POST",
        "/api/tickets",
        node_tokens("tech-1", "technician"),
        {
            "kind": "device_fault",
            "tier": "urgent",
            "title": "Infusion pump occlusion alarm",
            "device": {"model": "Alaris GP", "serial": "SN-7"},
        },
    )
    offer = page.locator(".offer-card")
    await offer.get_by_text("Infusion pump occlusion alarm").wait_for(timeout=20_000)
    await page.screenshot(path=str(artifact("desk-offer.png")))
    await offer.get_by_role("button", name="Take it").click()
    await page.wait_for_url(f"**#/tickets/{ticket['id']}")
    await offer.wait_for(state="detached")
    taken = await _api(
        node, "GET", f"/api/tickets/{ticket['id']}", node_tokens("expert-1", "expert")
    )
    assert taken["assignee"] == "expert-1"
    assert taken["status"] == "assigned"
    assert await presence.input_value() == "online"
