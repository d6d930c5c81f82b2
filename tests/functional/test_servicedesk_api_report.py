"""The weekly SLA report through the real server, on a seeded week worked out by hand."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from sessions.clock import ManualClock
from tests.app_fixtures import TokenFactory
from tests.functional.test_servicedesk_api import open_ticket

pytestmark = pytest.mark.servicedesk

Client = TestClient[Any, Any]


async def _move(client: Client, tokens: TokenFactory, ticket_id: str, status: str) -> None:
    response = await client.post(
        f"/api/tickets/{ticket_id}/transition",
        headers=tokens.headers("ana", "expert"),
        json={"status": status},
    )
    assert response.status == 200, await response.text()


async def _seed(client: Client, tokens: TokenFactory, clock: ManualClock) -> None:
    """Monday 09:00 UTC: three urgent tickets and one routine one, then a day's work.

    - A: answered after 30 min (response met), resolved after 5 h (resolution met);
    - B: answered after 2 h (response breached, the window is 1 h), still open otherwise;
    - C: still waiting at the report (its response hour ended at 10:00: breached);
    - D (routine): cancelled, so it counts in volumes only.
    """
    start = clock.now()
    a = await open_ticket(client, tokens, title="A")
    b = await open_ticket(client, tokens, title="B")
    await open_ticket(client, tokens, title="C")
    d = await open_ticket(client, tokens, title="D", tier="routine")
    clock.set(start + timedelta(minutes=30))
    await _move(client, tokens, a["id"], "assigned")
    clock.set(start + timedelta(hours=2))
    await _move(client, tokens, b["id"], "assigned")
    await _move(client, tokens, d["id"], "cancelled")
    clock.set(start + timedelta(hours=5))
    await _move(client, tokens, a["id"], "resolved")
    clock.set(start + timedelta(hours=6))


async def test_report_json_and_csv_agree_with_the_hand_worked_week(
    client: Client, tokens: TokenFactory, clock: ManualClock
) -> None:
    """Volumes, attainment over decided clocks, and the same figures as CSV."""
    await _seed(client, tokens, clock)
    sup = tokens.headers("sup", "supervisor")
    response = await client.get("/api/reports/sla?week=2026-11-25", headers=sup)
    assert response.status == 200
    report = await response.json()
    assert report["week_start"] == "2026-11-23T00:00:00+00:00"
    assert report["tickets"]["total"] == 4
    assert report["tickets"]["cancelled"] == 1
    assert report["tickets"]["by_tier"] == {"urgent": 3, "routine": 1, "consult": 0}
    # Response: A met; B and C breached (C is still open but its hour is over).
    assert (report["response"]["met"], report["response"]["breached"]) == (1, 2)
    assert report["response"]["attainment_pct"] == pytest.approx(100 / 3, abs=0.1)
    # Resolution (24 h): only A is decided, and met.
    assert (report["resolution"]["met"], report["resolution"]["breached"]) == (1, 0)
    assert report["breaches"]["response"] == 2

    as_csv = await client.get("/api/reports/sla.csv?week=2026-11-23", headers=sup)
    assert as_csv.status == 200
    assert as_csv.content_type == "text/csv"
    text = await as_csv.text()
    rows = dict(csv.reader(io.StringIO(text)))
    assert rows.pop("metric") == "value"
    assert rows["tickets.total"] == "4"
    assert rows["response.breached"] == "2"
    assert rows["resolution.met"] == "1"
    switched = await client.get("/api/reports/sla?week=2026-11-23&format=csv", headers=sup)
    assert switched.content_type == "text/csv"
    assert await switched.text() == text


async def test_report_inputs_and_access(
    client: Client, tokens: TokenFactory, clock: ManualClock
) -> None:
    """An empty week has no attainment; bad weeks and non-supervisors get problems."""
    await _seed(client, tokens, clock)
    sup = tokens.headers("sup", "supervisor")
    empty = await (await client.get("/api/reports/sla?week=2026-11-16", headers=sup)).json()
    assert empty["tickets"]["total"] == 0
    assert empty["response"]["attainment_pct"] is None
    this_week = await (await client.get("/api/reports/sla", headers=sup)).json()
    assert this_week["tickets"]["total"] == 4
    for bad in ("week=0", "week=2026-02-30", "week=next", "format=pdf"):
        response = await client.get(f"/api/reports/sla?{bad}", headers=sup)
        assert response.status == 422, bad
        assert response.content_type == "application/problem+json"
    far = await client.get("/api/reports/sla?week=9999-12-31", headers=sup)
    assert far.status == 404
    expert = tokens.headers("ana", "expert")
    assert (await client.get("/api/reports/sla.csv", headers=expert)).status == 403
