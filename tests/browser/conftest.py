"""Headless Chromium (Debian's, driven by Playwright) against a real node, with a fake camera."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, ViewportSize, async_playwright

from sessions.clock import SystemClock
from signaling.app import create_app
from signaling.config import Settings
from tests.app_fixtures import TokenFactory
from tests.conftest import REPO_ROOT, media_file

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO_ROOT / "test-artifacts" / "browser"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    # Pages in background tabs must keep decoding and running timers like a foreground one.
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def squat_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The squat clip as the raw y4m Chromium's fake camera plays (made once per run)."""
    source = media_file("pose_squats.mp4")
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        pytest.skip("ffmpeg is not installed (make system-packages)")
    clip = tmp_path_factory.mktemp("camera") / "squats.y4m"
    scale = "scale=360:640,fps=15"
    command = [ffmpeg, "-v", "error", "-i", str(source), "-vf", scale, "-pix_fmt", "yuv420p"]
    subprocess.run([*command, str(clip)], check=True)
    return clip


@pytest.fixture
async def node(settings: Settings) -> AsyncIterator[TestServer]:
    """A node on a loopback port with the wall clock, serving the web client."""
    server = TestServer(create_app(settings.model_copy(update={"demo": True}), SystemClock()))
    await server.start_server()
    yield server
    await server.close()


@pytest.fixture
def node_tokens(node: TestServer) -> TokenFactory:
    """Tokens of the node under test."""
    return TokenFactory(node.app)


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    """Debian's Chromium, or a skip naming the missing package."""
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is not installed (make system-packages)")
    return CHROMIUM


async def _launch(chromium_path: Path, args: list[str]) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=str(chromium_path), args=args)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def browser(chromium_path: Path, squat_clip: Path) -> AsyncIterator[Browser]:
    """Headless Chromium whose camera plays the squat clip."""
    clip_arg = f"--use-file-for-fake-video-capture={squat_clip}"
    async for chromium in _launch(chromium_path, [*CHROMIUM_ARGS, clip_arg]):
        yield chromium


@pytest.fixture
async def plain_browser(chromium_path: Path) -> AsyncIterator[Browser]:
    """Headless Chromium with Chromium's own fake camera (for tests that need no real clip)."""
    async for chromium in _launch(chromium_path, CHROMIUM_ARGS):
        yield chromium


class PageLog:
    """Console messages and page errors of one page, for failure reports."""

    def __init__(self, page: Page) -> None:
        self.lines: list[str] = []
        page.on("console", lambda message: self.lines.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: self.lines.append(f"pageerror: {error}"))

    def errors(self) -> list[str]:
        """Uncaught errors and warnings (a missing catalog key is a warning).

        Failed HTTP requests are left out: the pages show them as states, which tests check.
        """
        return [
            line
            for line in self.lines
            if line.startswith(("pageerror", "warning", "error"))
            and "Failed to load resource" not in line
        ]

    def __str__(self) -> str:
        return "\n".join(self.lines[-60:])


async def open_as(
    browser: Browser,
    server: TestServer,
    token: str,
    path: str,
    *,
    viewport: ViewportSize | None = None,
    locale: str = "en-GB",
) -> tuple[Page, PageLog]:
    """A new page (own context, own storage) signed in with token and showing path."""
    context = await browser.new_context(viewport=viewport or DESKTOP, locale=locale)
    page = await context.new_page()
    log = PageLog(page)
    await page.goto(str(server.make_url("/")) + f"#token={token}&to={path}")
    return page, log


async def create_session(
    server: TestServer,
    tokens: TokenFactory,
    kind: str,
    *,
    patient: str = "patient-1",
    recording_policy: str = "off",
) -> tuple[str, str]:
    """Open a ticket and a live session of ``kind`` over HTTP; return (ticket_id, session_id)."""
    headers = tokens.headers("expert-1", "expert")
    ticket_body = {
        "kind": "guided_exercise" if kind == "guided_exercise" else "onboarding",
        "tier": "routine",
        "title": f"browser test: {kind}",
        "patient": patient,
        "requester": patient,
        "targets": {"squat": {"target_angle": 90, "reps": 10, "sets": 3}},
    }
    async with aiohttp.ClientSession(str(server.make_url("/"))) as http:
        async with http.post("/api/tickets", json=ticket_body, headers=headers) as response:
            assert response.status == 201, await response.text()
            ticket = await response.json()
        session_body = {"kind": kind, "recording_policy": recording_policy}
        async with http.post(
            f"/api/tickets/{ticket['id']}/sessions", json=session_body, headers=headers
        ) as response:
            assert response.status == 201, await response.text()
            session = await response.json()
    return ticket["id"], session["id"]


def artifact(name: str) -> Path:
    """A path under test-artifacts/browser/ (git-ignored) for screenshots.

    Playwright creates the folder when it writes, so nothing blocks the event loop here.
    """
    return ARTIFACTS / name
