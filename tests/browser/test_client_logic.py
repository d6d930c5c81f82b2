"""The client's pure functions, run in Chromium as the pages run them (ES modules)."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


@pytest.fixture
async def page(plain_browser: Browser, node: TestServer) -> Page:
    """A page of the client, so modules import from /static/ as in production."""
    page = await plain_browser.new_page()
    await page.goto(str(node.make_url("/")))
    await page.wait_for_selector("#token-input")
    return page


async def run(page: Page, module: str, body: str) -> Any:
    """Import web_client/js/<module> as ``m`` and return the value of ``body``."""
    source = f"async () => {{ const m = await import('/static/js/{module}'); {body} }}"
    return await page.evaluate(source)


PEOPLE = """
const people = new Map([
  ["p", {id: "p", role: "patient"}], ["e", {id: "e", role: "expert"}],
  ["t", {id: "t", role: "trainer"}], ["a", {id: "a", role: "patient"}],
]);
const two = new Map([["p", people.get("p")], ["e", people.get("e")]]);
"""


async def test_layout_puts_the_right_person_large(page: Page) -> None:
    result = await run(
        page,
        "session/layout.js",
        PEOPLE
        + """
        return {
          expert: m.arrange("guided_exercise", "expert", "e", two),
          patient: m.arrange("guided_exercise", "patient", "p", two),
          trainer: m.arrange("group_onboarding", "trainer", "t", people),
          trainee: m.arrange("group_onboarding", "trainee", "a", people),
          spotlight: m.arrange("remote_diagnosis", "patient", "p", two, "p"),
          modes: [
            m.viewMode("guided_exercise", "patient"), m.viewMode("group_onboarding", "trainer"),
            m.viewMode("group_onboarding", "technician"), m.viewMode("remote_diagnosis", "expert"),
          ],
        };
        """,
    )
    assert result["expert"] == {"grid": False, "main": ["p"], "side": ["e"]}
    assert result["patient"] == {"grid": False, "main": ["p"], "side": ["e"]}
    assert result["trainer"] == {"grid": True, "main": ["p", "e", "a"], "side": ["t"]}
    assert result["trainee"]["main"] == ["t"]
    assert result["spotlight"]["main"] == ["p"]
    assert result["modes"] == ["patient", "trainer", "trainee", "expert"]


async def test_angle_progress_and_driving_angle(page: Page) -> None:
    result = await run(
        page,
        "session/exercises.js",
        """
        return [
          m.progressToGoal("squat", 170), m.progressToGoal("squat", 122.5, 90),
          m.progressToGoal("squat", 80, 90), m.progressToGoal("shoulder_abduction", 52.5),
          m.drivingAngle("elbow_flexion", {}), m.drivingAngle("unknown", {hip: 1, knee: 2}),
        ];
        """,
    )
    assert result == [0, 0.5, 1, 0.5, "elbow", "hip"]


async def test_exercise_figures_read_both_summary_shapes(page: Page) -> None:
    result = await run(
        page,
        "exercise_figures.js",
        """
        const nested = {reps: 3, range_of_motion: {min_angle: 88, max_angle: 170,
          mean_range_deg: 75.5, best_range_deg: 82}, issues: [{code: "heel_lift", count: 2}]};
        const flat = {reps: 4, min_angle: 90, max_angle: 160, range_of_motion: 70,
          issues: {knee_valgus: 1}};
        return [m.exerciseFigures(nested), m.exerciseFigures(flat), m.exerciseFigures({})];
        """,
    )
    nested, flat, empty = result
    assert nested["rom"] == 75.5
    assert nested["bestRom"] == 82
    assert nested["issues"] == [{"code": "heel_lift", "count": 2}]
    assert (flat["rom"], flat["minAngle"]) == (70, 90)
    assert flat["issues"] == [{"code": "knee_valgus", "count": 1}]
    assert empty == {
        "reps": 0,
        "rom": None,
        "bestRom": None,
        "minAngle": None,
        "maxAngle": None,
        "issues": [],
    }


async def test_durations_chart_axes_and_status_choices(page: Page) -> None:
    durations = await run(
        page,
        "format.js",
        "return [59, 3599, 3660, 90061, -125].map((s) => m.durationMessage(s));",
    )
    assert durations == [
        {"key": "duration.ms", "args": {"m": 0, "s": "59"}},
        {"key": "duration.ms", "args": {"m": 59, "s": "59"}},
        {"key": "duration.hm", "args": {"h": 1, "m": "01"}},
        {"key": "duration.dh", "args": {"d": 1, "h": 1}},
        {"key": "duration.ms", "args": {"m": 2, "s": "05"}},
    ]
    axes = await run(
        page, "charts.js", "return [m.niceMax(73, 20), m.niceMax(1, 4), m.niceMax(0, 20)];"
    )
    assert axes == [80, 4, 20]
    choices = await run(
        page,
        "views/ticket_actions.js",
        """
        const ticket = {status: "open", requester: "p1"};
        return [m.nextStatuses(ticket, {role: "expert", identity: "e1"}),
                m.nextStatuses(ticket, {role: "patient", identity: "p1"}),
                m.nextStatuses(ticket, {role: "patient", identity: "p2"}),
                m.nextStatuses({status: "closed"}, {role: "admin", identity: "a"})];
        """,
    )
    assert choices == [["assigned", "in_session", "escalated", "cancelled"], ["cancelled"], [], []]
