"""Both catalogs agree, and every string on the main pages comes from the catalog."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page

from tests.app_fixtures import TokenFactory
from tests.browser.conftest import PHONE, PageLog, artifact, create_session, open_as
from tests.conftest import REPO_ROOT

WEB_CLIENT = REPO_ROOT / "web_client"
LANGUAGES = ("en", "zh-CN")
# Keys whose text is the same in every language on purpose (a language's own name, units).
SAME_IN_ALL = {"lang.en", "lang.zh-CN", "recordings.size"}


def _load(language: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((WEB_CLIENT / "i18n" / f"{language}.json").read_text())
    return data


# Read once at import: the async tests must not read files on the event loop.
CATALOGS = {language: _load(language) for language in LANGUAGES}


def catalog(language: str) -> dict[str, str]:
    """One message catalog."""
    return CATALOGS[language]


def placeholders(text: str) -> set[str]:
    """The {name} placeholders of a message."""
    return set(re.findall(r"\{(\w+)\}", text))


def test_catalogs_have_the_same_keys_and_placeholders() -> None:
    en, zh = catalog("en"), catalog("zh-CN")
    assert sorted(en) == sorted(zh)
    for key in en:
        assert en[key].strip(), f"empty en message {key}"
        assert zh[key].strip(), f"empty zh-CN message {key}"
        assert placeholders(en[key]) == placeholders(zh[key]), key
        if key not in SAME_IN_ALL:
            assert en[key] != zh[key], f"{key} is not translated"


def literal_keys(source: str) -> set[str]:
    """Message keys written literally in the client's code."""
    patterns = (
        r"i18n: \"([\w.-]+)\"",
        r"data-i18n=\"([\w.-]+)\"",
        r"bindText\([^,]+, \"([\w.-]+)\"",
        r"\bt\(\"([\w.-]+)\"",
        r"key: \"([\w.-]+)\"",
        r"\"(?:aria-label|placeholder|title)\": \"([\w.-]+)\"",
    )
    return {key for pattern in patterns for key in re.findall(pattern, source)}


def test_every_literal_key_in_the_code_is_in_the_catalog() -> None:
    en = catalog("en")
    sources = [*WEB_CLIENT.glob("js/**/*.js"), WEB_CLIENT / "index.html"]
    used: dict[str, Path] = {}
    for path in sources:
        for key in literal_keys(path.read_text()):
            used.setdefault(key, path)
    assert len(used) > 60, "the key pattern no longer matches the code"
    missing = {key: path.name for key, path in used.items() if key not in en}
    assert missing == {}


# Runs in the page: every visible text node and labelling attribute must be the current
# catalog's message for the key its element is bound to, or be marked as data.
AUDIT = """
([catalog, language]) => {
  const render = (key, argsJson) => {
    const args = argsJson ? JSON.parse(argsJson) : {};
    return catalog[key].replace(/\\{(\\w+)\\}/g, (m, n) => (n in args ? String(args[n]) : m));
  };
  const problems = [];
  const lang = document.documentElement.lang;
  if (lang !== language) problems.push(`lang is ${lang}`);
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const text = walker.currentNode.textContent.trim();
    const el = walker.currentNode.parentElement;
    if (!text || el.closest("script, style, [data-content]")) continue;
    const owner = el.closest("[data-i18n]");
    if (!owner) problems.push(`not from the catalog: "${text}"`);
    else if (!(owner.dataset.i18n in catalog)) problems.push(`missing key ${owner.dataset.i18n}`);
    else if (owner.textContent !== render(owner.dataset.i18n, owner.dataset.i18nArgs)) {
      problems.push(`stale text "${owner.textContent}" for ${owner.dataset.i18n}`);
    }
  }
  const labelled = document.body.querySelectorAll("[aria-label], [placeholder], [title]");
  const messages = new Set(Object.values(catalog));
  for (const el of labelled) {
    if (el.closest("[data-content]") && !el.dataset.i18nAttrs) continue;
    for (const name of ["aria-label", "placeholder", "title"]) {
      const value = el.getAttribute(name);
      if (value && !messages.has(value)) problems.push(`${name} not from the catalog: "${value}"`);
    }
  }
  return {problems, texts: document.body.innerText.length};
}
"""


PROGRESS_READY = ".progress [role=status]:not([data-i18n='common.loading']), .chart"


async def switch_language(page: Page, language: str) -> None:
    """Pick a language in the header, as a user would."""
    await page.select_option("#language", language)
    await page.wait_for_function("(l) => document.documentElement.lang === l", arg=language)


async def audit(page: Page, log: PageLog, name: str) -> None:
    """Check the page in both languages; keep a zh-CN screenshot."""
    for language in ("zh-CN", "en"):
        await switch_language(page, language)
        result: dict[str, Any] = await page.evaluate(AUDIT, [catalog(language), language])
        assert result["texts"] > 20, f"{name}: the page is empty"
        assert result["problems"] == [], f"{name} in {language}: {result['problems']}"
        if language == "zh-CN":
            await page.screenshot(path=artifact(f"i18n-{name}-zh-CN.png"), full_page=True)
    assert log.errors() == [], f"{name}: {log}"


@pytest.mark.browser
@pytest.mark.e2e
@pytest.mark.timeout(240)
async def test_main_pages_have_no_untranslated_string(
    plain_browser: Browser, node: TestServer, node_tokens: TokenFactory
) -> None:
    ticket_id, session_id = await create_session(node, node_tokens, "guided_exercise")
    context = await plain_browser.new_context(viewport=PHONE, locale="en-GB")
    signin = await context.new_page()
    signin_log = PageLog(signin)
    await signin.goto(str(node.make_url("/")))
    await signin.wait_for_selector(".demo-identity")
    await audit(signin, signin_log, "signin")

    expert_token = node_tokens("expert-1", "expert")
    pages = {
        "queue": ("/queue", ".ticket-item .sla-time"),
        "ticket": (f"/tickets/{ticket_id}", ".timeline li"),
        "new-ticket": ("/tickets/new", "#title"),
        "progress": ("/progress/patient-1", PROGRESS_READY),
        "session": (f"/sessions/{session_id}", "#join-button:not([disabled])"),
    }
    for name, (path, ready) in pages.items():
        page, log = await open_as(plain_browser, node, expert_token, path)
        await page.wait_for_selector(ready)
        await audit(page, log, name)
        if name == "session":
            await page.click("#join-button")
            await page.wait_for_selector('[data-testid="connection-state"][data-state="connected"]')
            await audit(page, log, "session-live")
        await page.context.close()
