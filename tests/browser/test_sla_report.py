"""The weekly SLA report page in Chromium: tickets seeded over HTTP show up as figures and
bars, the CSV link serves the same report, an empty week and a forbidden reader say so."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page

from tests.app_fixtures import TokenFactory
from tests.browser.conftest import artifact, open_as
from tests.browser.test_i18n import audit

pytestmark = [pytest.mark.browser, pytest.mark.servicedesk, pytest.mark.timeout(120)]

SUPERVISOR = ("supervisor-1", "supervisor")
# (kind, tier, statuses it goes through after opening)
SEED = [
    ("device_fault", "urgent", ["assigned", "resolved"]),
    ("guided_exercise", "routine", ["assigned"]),
    ("consultation", "consult", []),
    ("onboarding", "routine", ["cancelled"]),
]


async def seed(node: TestServer, tokens: TokenFactory) -> dict[str, Any]:
    """Open the SEED tickets, move them on, and return this week's report as JSON."""
    headers = tokens.headers(*SUPERVISOR)
    async with aiohttp.ClientSession(str(node.make_url("/"))) as http:
        for kind, tier, statuses in SEED:
            body = {"kind": kind, "tier": tier, "title": f"sla {kind}", "patient": "patient-1"}
            body["requester"] = "patient-1"
            async with http.post("/api/tickets", json=body, headers=headers) as response:
                assert response.status == 201, await response.text()
                ticket = await response.json()
            for status in statuses:
                path = f"/api/tickets/{ticket['id']}/transition"
                async with http.post(path, json={"status": status}, headers=headers) as response:
                    assert response.status == 200, await response.text()
        async with http.get("/api/reports/sla", headers=headers) as response:
            assert response.status == 200, await response.text()
            report: dict[str, Any] = await response.json()
    return report


async def figure(page: Page, name: str) -> str:
    """The text of one figure of the summary."""
    return await page.locator(f'[data-testid=sla-figures] dd[data-figure="{name}"]').inner_text()


async def test_the_report_shows_the_seeded_week(
    plain_browser: Browser, node: TestServer, node_tokens: TokenFactory
) -> None:
    report = await seed(node, node_tokens)
    assert report["tickets"]["total"] == len(SEED)
    page, log = await open_as(plain_browser, node, node_tokens(*SUPERVISOR), "/reports/sla")
    await page.wait_for_selector('[data-testid=sla-status][data-state="ready"]', state="attached")
    assert await figure(page, "tickets") == str(len(SEED))
    # Numbers as JavaScript prints them: 100.0 shows as 100.
    assert float(await figure(page, "response_pct")) == report["response"]["attainment_pct"]
    assert float(await figure(page, "resolution_pct")) == report["resolution"]["attainment_pct"]
    assert await figure(page, "breaches") == str(report["breaches"]["total"])

    # A bar per tier with a decided clock (urgent and routine responded, urgent resolved),
    # one per kind in the volumes, one per score.
    for chart, bars in (("response", 2), ("resolution", 1), ("kinds", 4), ("surveys", 5)):
        assert await page.locator(f'[data-chart="{chart}"] svg rect.bar').count() == bars
    urgent = report["by_tier"]["urgent"]["response"]["attainment_pct"]
    values = page.locator('[data-chart="response"] svg text.value')
    assert float(await values.first.text_content() or "nan") == urgent
    kinds = await page.locator('[data-chart="kinds"] svg text.value').all_text_contents()
    assert kinds == ["1", "1", "1", "1"]

    # The CSV link carries the same report.
    csv = await page.eval_on_selector(
        "[data-testid=sla-csv]", "a => fetch(a.href).then(r => r.text())"
    )
    assert f"tickets.total,{len(SEED)}" in csv.splitlines()
    await page.screenshot(path=artifact("sla-report.png"), full_page=True)
    await audit(page, log, "sla-report")  # every string from the catalog, in both languages

    # A week without tickets shows the empty state.
    await page.fill("#sla-week", "2020-01-06")
    await page.dispatch_event("#sla-week", "change")
    await page.wait_for_selector('[data-testid=sla-status][data-state="empty"]')
    assert await figure(page, "response_pct") == "none"
    assert log.errors() == [], str(log)


async def test_an_expert_is_told_the_report_is_not_for_them(
    plain_browser: Browser, node: TestServer, node_tokens: TokenFactory
) -> None:
    page, _ = await open_as(plain_browser, node, node_tokens("expert-1", "expert"), "/reports/sla")
    status = page.locator('[data-testid=sla-status][data-state="error"]')
    await status.wait_for()
    assert await status.get_attribute("data-i18n") == "sla.forbidden"
    assert await page.locator('a[href="#/reports/sla"]').count() == 0
