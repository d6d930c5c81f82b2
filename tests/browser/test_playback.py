"""Playback of a real recording in Chromium: the video plays, the expert's mark is drawn on
the overlay at its media time and not before, the bar has a marker for it, chat seeks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page

from media.synthetic import StampedVideoTrack, ToneAudioTrack
from sessions.clock import SystemClock
from signaling.app import create_app
from signaling.client import TeleGuideClient
from signaling.config import Settings
from signaling.recording_feature import recordings_ctx
from tests.app_fixtures import TokenFactory
from tests.browser.conftest import artifact, create_session, open_as
from tests.browser.test_i18n import audit

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.timeout(240)]

EXPERT = ("expert-1", "expert")
PATIENT = ("patient-1", "patient")
FINAL = ("complete", "failed", "interrupted")
# A thick red line across the middle of the picture: easy to find in the overlay's pixels.
STROKE: dict[str, Any] = {
    "kind": "stroke",
    "media_time_s": 1.0,
    "points": [[0.2, 0.5], [0.8, 0.5]],
    "colour": "#ff0000",
    "width": 0.05,
}
# The overlay pixel under the middle of the stroke, inside the picture's rectangle.
PIXEL_JS = """() => {
  const video = document.querySelector('[data-testid=playback-video]');
  const canvas = document.querySelector('[data-testid=playback-overlay]');
  const scale = Math.min(canvas.width / video.videoWidth, canvas.height / video.videoHeight);
  const x = (canvas.width - video.videoWidth * scale) / 2 + 0.5 * video.videoWidth * scale;
  const y = canvas.height / 2;
  // Read through a copy, so the page's own canvas keeps its drawing settings.
  const copy = document.createElement('canvas');
  copy.width = 1;
  copy.height = 1;
  const ctx = copy.getContext('2d', {willReadFrequently: true});
  ctx.drawImage(canvas, Math.round(x), Math.round(y), 1, 1, 0, 0, 1, 1);
  return Array.from(ctx.getImageData(0, 0, 1, 1).data);
}"""


@pytest.fixture
async def recording_node(settings: Settings) -> AsyncIterator[TestServer]:
    """A node that records."""
    app = create_app(settings, SystemClock())
    app.cleanup_ctx.append(recordings_ctx)
    server = TestServer(app)
    await server.start_server()
    yield server
    await server.close()


async def record_session(
    browser: Browser, node: TestServer, tokens: TokenFactory
) -> tuple[str, str]:
    """Record a few seconds: patient's camera and sound, the expert's stroke and a chat line.

    While it is still being written, the playback page says so.
    """
    ticket_id, session_id = await create_session(
        node, tokens, "remote_diagnosis", recording_policy="full"
    )
    url = str(node.make_url("/ws")).replace("http://", "ws://")
    expert, patient = TeleGuideClient(url, tokens(*EXPERT)), TeleGuideClient(url, tokens(*PATIENT))
    try:
        for client in (expert, patient):
            await client.connect()
            await client.join(session_id)
        await patient.wait_for("consent_requested")
        for client in (expert, patient):
            await client.request("consent", granted=True)
        published = await patient.publish([StampedVideoTrack(320, 240, 15.0), ToneAudioTrack()])
        await asyncio.sleep(3.0)
        stroke = STROKE | {"producer_id": published["producer_ids"][0]}
        await expert.request("annotate", annotation=stroke)
        await asyncio.sleep(2.0)
        await expert.chat("look at the left hinge")
        await page_says_still_recording(browser, node, tokens, ticket_id)
        await asyncio.sleep(1.0)
        async with aiohttp.ClientSession(str(node.make_url("/"))) as http:
            end = f"/api/sessions/{session_id}/end"
            async with http.post(end, headers=tokens.headers(*EXPERT)) as response:
                assert response.status in (200, 204), await response.text()
    finally:
        for client in (expert, patient):
            await client.close()
    return ticket_id, await finished_recording(node, tokens, ticket_id)


async def page_says_still_recording(
    browser: Browser, node: TestServer, tokens: TokenFactory, ticket_id: str
) -> None:
    """Open the playback page of the recording being written and find the message."""
    async with aiohttp.ClientSession(str(node.make_url("/"))) as http:
        path = f"/api/tickets/{ticket_id}/recordings"
        async with http.get(path, headers=tokens.headers(*EXPERT)) as response:
            rows = await response.json()
    assert rows[0]["state"] == "recording", rows
    path = f"/tickets/{ticket_id}/recordings/{rows[0]['id']}"
    page, _ = await open_as(browser, node, tokens(*EXPERT), path)
    status = page.locator('[data-testid=playback-status][data-state="in_progress"]')
    await status.wait_for()
    assert await page.locator("[data-testid=playback-video]").count() == 0
    await page.context.close()


async def finished_recording(node: TestServer, tokens: TokenFactory, ticket_id: str) -> str:
    """The id of the ticket's recording once it is final."""
    async with aiohttp.ClientSession(str(node.make_url("/"))) as http:
        for _ in range(100):
            path = f"/api/tickets/{ticket_id}/recordings"
            async with http.get(path, headers=tokens.headers(*EXPERT)) as response:
                rows = await response.json()
            if rows and rows[0]["state"] in FINAL:
                return str(rows[0]["id"])
            await asyncio.sleep(0.2)
    raise AssertionError(f"the recording did not finish: {rows}")


async def current_time(page: Page) -> float:
    """The video element's position in seconds."""
    return float(await page.eval_on_selector("[data-testid=playback-video]", "v => v.currentTime"))


async def seek_and_settle(page: Page, seconds: float) -> None:
    """Seek the video (file time) and wait until the overlay has been redrawn there."""
    await page.eval_on_selector(
        "[data-testid=playback-video]", "(v, t) => { v.pause(); v.currentTime = t; }", seconds
    )
    await page.wait_for_function(
        "t => { const v = document.querySelector('[data-testid=playback-video]');"
        " return !v.seeking && Math.abs(v.currentTime - t) < 0.1; }",
        arg=seconds,
    )
    await page.wait_for_timeout(300)  # a few animation frames


async def test_playback_draws_the_mark_at_its_time_and_chat_seeks(
    plain_browser: Browser, recording_node: TestServer
) -> None:
    node, tokens = recording_node, TokenFactory(recording_node.app)
    ticket_id, recording_id = await record_session(plain_browser, node, tokens)
    path = f"/tickets/{ticket_id}/recordings/{recording_id}"
    page, log = await open_as(plain_browser, node, tokens(*EXPERT), path)
    await page.wait_for_selector(
        '[data-testid=playback-status][data-state="ready"]', state="attached"
    )
    await page.wait_for_function(
        "() => document.querySelector('[data-testid=playback-video]').readyState >= 2"
    )
    manifest = await page.evaluate(
        "id => fetch('/api/recordings/' + id, {headers: {Authorization: 'Bearer ' +"
        " sessionStorage.getItem('teleguide.token')}}).then(r => r.json())",
        recording_id,
    )
    video = next(t for t in manifest["tracks"] if t["kind"] == "video")
    start = float(video["start_media_s"])
    mark_at = next(e["media_s"] for e in manifest["timeline"] if e["kind"] == "annotation")
    chat_at = next(e["media_s"] for e in manifest["timeline"] if e["kind"] == "chat")

    # The video plays: its position advances.
    await page.eval_on_selector("[data-testid=playback-video]", "v => v.play()")
    await page.wait_for_function(
        "() => document.querySelector('[data-testid=playback-video]').currentTime > 0.5"
    )

    # One marker on the bar for the mark, at its time.
    marker = page.locator('[data-testid=playback-bar] [data-kind="annotation"]')
    assert await marker.count() == 1
    assert float(await marker.get_attribute("data-at") or "nan") == pytest.approx(mark_at, abs=0.01)

    # Before its time the overlay is empty under the stroke; after it, red.
    await seek_and_settle(page, max(0.0, mark_at - start - 1.0))
    before = await page.evaluate(PIXEL_JS)
    assert before[3] == 0, before
    await seek_and_settle(page, mark_at - start + 0.5)
    after = await page.evaluate(PIXEL_JS)
    red, green, _, alpha = after
    assert red > 200, after
    assert green < 60, after
    assert alpha > 200, after
    await page.screenshot(path=artifact("playback-mark.png"), full_page=True)

    # Clicking the marker seeks to the mark; clicking the chat line seeks to the message.
    await seek_and_settle(page, 0.0)
    await marker.click()
    await page.wait_for_timeout(300)
    assert await current_time(page) == pytest.approx(mark_at - start, abs=0.25)
    chat = page.locator('[data-testid=playback-entries] li[data-kind="chat"] button')
    assert "look at the left hinge" in await chat.inner_text()
    await chat.click()
    await page.wait_for_timeout(300)
    assert await current_time(page) == pytest.approx(chat_at - start, abs=0.25)
    await audit(page, log, "playback")  # every string from the catalog, in both languages
    await links_are_renewed_before_they_expire(plain_browser, node, tokens(*EXPERT), path)


async def links_are_renewed_before_they_expire(
    browser: Browser, node: TestServer, token: str, path: str
) -> None:
    """With the page's clock run forward past most of a link's life, the video gets a new one."""
    context = await browser.new_context()
    page = await context.new_page()
    await page.clock.install()
    await page.goto(str(node.make_url("/")) + f"#token={token}&to={path}")
    video = page.locator("[data-testid=playback-video]")
    await page.wait_for_function(
        "() => document.querySelector('[data-testid=playback-video]')?.src.includes('/files/')"
    )
    first = await video.evaluate("v => v.src")
    await page.clock.run_for(250_000)  # links live 300 s and are renewed 60 s before the end
    await page.wait_for_function(
        "old => document.querySelector('[data-testid=playback-video]').src !== old", arg=first
    )
    renewed = await video.evaluate("v => v.src")
    assert "/files/" in renewed
    response = await page.request.get(renewed)
    assert response.status == 200
    await context.close()


async def test_a_recording_nobody_may_see_says_so(
    plain_browser: Browser, recording_node: TestServer
) -> None:
    node, tokens = recording_node, TokenFactory(recording_node.app)
    path = "/tickets/tkt_missing/recordings/rec_missing"
    page, _ = await open_as(plain_browser, node, tokens(*EXPERT), path)
    status = page.locator('[data-testid=playback-status][data-state="error"]')
    await status.wait_for()
    assert await status.get_attribute("data-i18n") == "playback.not_found"


MANIFEST_JS = """
const annotation = (seq, media_s, type, data, producer_id = "prd_a") =>
  ({seq, media_s, kind: "annotation", data: {type, producer_id, data}});
const shape = {kind: "stroke", producer_id: "prd_a", points: [[0, 0], [1, 1]]};
const pose = {producer_id: "prd_a", landmarks: [[0.5, 0.5, 1]]};
const manifest = {
  started_at: "2026-01-01T10:00:00Z", ended_at: "2026-01-01T10:00:10Z", tracks: [],
  timeline: [
    {seq: 1, media_s: 1.0, kind: "landmarks", data: pose},
    annotation(2, 2.0, "mark_added", {mark: {mark_id: "m1", shape}}),
    {seq: 3, media_s: 2.5, kind: "chat", actor: "expert-1", data: {text: "hello"}},
    annotation(4, 3.0, "mark_added", {mark: {mark_id: "m2", shape}}),
    {seq: 5, media_s: 3.5, kind: "analysis", data: {producer_id: "prd_a", rep: {index: 1}}},
    annotation(6, 4.0, "mark_removed", {mark_id: "m1"}),
    annotation(7, 5.0, "frozen", {}),
    annotation(8, 6.0, "marks_cleared", {mark_ids: ["m2"]}, null),
    annotation(9, 7.0, "unfrozen", {}),
    {seq: 10, media_s: 8.0, kind: "analysis", data: {producer_id: "prd_a", notice: "no_person"}},
  ],
};
const model = m.buildTimeline(manifest);
const ids = (t) => m.marksAt(model, t, "prd_a").map((x) => x.id);
"""


async def test_the_timeline_model_keeps_marks_between_their_add_and_removal(
    plain_browser: Browser, node: TestServer
) -> None:
    page = await plain_browser.new_page()
    await page.goto(str(node.make_url("/")))
    source = (
        "async () => { const m = await import('/static/js/playback/timeline_model.js');"
        + MANIFEST_JS
        + """return {
          duration: model.duration,
          marks: [1.9, 2.0, 3.5, 4.5, 6.0].map(ids),
          otherVideo: m.marksAt(model, 3.5, "prd_b").length,
          frozen: [4.9, 5.5, 7.5].map((t) => m.frozenAt(model, t, "prd_a")),
          markers: model.markers.map((x) => [x.kind, x.at]),
          skeleton: [1.3, 2.0].map((t) => m.landmarksAt(model, t, "prd_a") !== null),
          entries: model.entries.map((e) => [e.kind, e.at, e.text]),
        }; }"""
    )
    result = await page.evaluate(source)
    assert result["duration"] == 10
    assert result["marks"] == [[], ["m1"], ["m1", "m2"], ["m2"], []]
    assert result["otherVideo"] == 0
    assert result["frozen"] == [False, True, False]
    assert result["markers"] == [
        ["annotation", 2.0],
        ["annotation", 3.0],
        ["rep", 3.5],
        ["no_person", 8.0],
    ]
    assert result["skeleton"] == [True, False]
    assert result["entries"] == [["chat", 2.5, "hello"]]
