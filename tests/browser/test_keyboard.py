"""Keyboard use and labels: sign in and reach the session controls without a mouse."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page

from tests.app_fixtures import TokenFactory
from tests.browser.conftest import PHONE, create_session, open_as

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.timeout(240)]

# Controls without an accessible name (no text, no label, no aria-label).
UNLABELLED = """
() => [...document.querySelectorAll("button, a[href], input, select, textarea")]
  .filter((el) => !el.closest("[hidden]"))
  .filter((el) => {
    const labelled = el.id && document.querySelector(`label[for="${el.id}"]`);
    return !(el.getAttribute("aria-label") || labelled || el.textContent.trim());
  })
  .map((el) => el.outerHTML.slice(0, 80))
"""
FOCUSED = "() => document.activeElement?.dataset.identity || document.activeElement?.id || ''"


async def tab_to(page: Page, wanted: str, limit: int = 40) -> None:
    """Press Tab until the focused element is ``wanted`` (an id or a demo identity)."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await page.evaluate(FOCUSED) == wanted:
            return
    raise AssertionError(f"{wanted} cannot be reached with the Tab key")


async def test_sign_in_and_join_with_the_keyboard_only(
    plain_browser: Browser, node: TestServer, node_tokens: TokenFactory
) -> None:
    context = await plain_browser.new_context(viewport=PHONE)
    page = await context.new_page()
    await page.goto(str(node.make_url("/")))
    await page.wait_for_selector(".demo-identity")
    assert await page.evaluate(UNLABELLED) == []
    await tab_to(page, "language")
    await page.keyboard.press("ArrowDown")  # a closed select changes value on arrow keys
    assert await page.evaluate("() => document.documentElement.lang") == "zh-CN"
    await tab_to(page, "expert-mia")
    await page.keyboard.press("Enter")
    await page.wait_for_selector(".queue")
    assert await page.evaluate(UNLABELLED) == []

    await page.goto(str(node.make_url("/")) + "#/tickets/new")
    await page.wait_for_selector("#title")
    assert await page.evaluate(UNLABELLED) == []
    await context.close()

    _, session_id = await create_session(node, node_tokens, "guided_exercise")
    page, _ = await open_as(
        plain_browser, node, node_tokens("expert-1", "expert"), f"/sessions/{session_id}"
    )
    await page.wait_for_selector("#join-button:not([disabled])")
    # The join button takes the focus, so Enter joins.
    await page.keyboard.press("Enter")
    await page.wait_for_selector('[data-testid="connection-state"][data-state="connected"]')
    assert await page.evaluate(UNLABELLED) == []
    await tab_to(page, "chat-input")
    await page.keyboard.type("hello from the keyboard")
    await page.keyboard.press("Enter")
    await page.wait_for_selector("[data-testid=chat-log] li >> text=hello from the keyboard")
