"""The web chat page in a real browser (Chromium driven by Playwright) on a phone screen."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, ViewportSize

from tests.chat import Chat

pytestmark = pytest.mark.rasa

PHONE: ViewportSize = {"width": 390, "height": 844}


@pytest.fixture
async def page(browser: Browser, chat: Chat) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport=PHONE, locale="en-US")
    opened = await context.new_page()
    await opened.goto(f"{chat.base}/chat")
    yield opened
    await context.close()


async def send(page: Page, text: str) -> None:
    await page.fill("#input", text)
    await page.keyboard.press("Enter")


async def test_a_conversation_with_buttons_on_a_phone(page: Page) -> None:
    await send(page, "hello, I work in singapore")
    await page.click('.chip[data-payload="menu:rights"]', timeout=20_000)
    await page.click('.chip[data-payload="topic:rest_day"]', timeout=20_000)
    await page.wait_for_selector('.chip[data-payload="helped:yes"]', timeout=20_000)
    answers = await page.locator(".msg.from-bot").all_inner_texts()
    assert any("Source:" in text for text in answers)
    # The pressed topic's chips are disabled, so a stale press cannot be sent twice.
    assert await page.locator('.chip[data-payload="topic:rest_day"]').is_disabled()
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "the page scrolls sideways on a phone"


async def test_markup_is_shown_as_text_never_run(page: Page) -> None:
    await send(page, '<img src=x onerror="window.pwned=1"><b>bold?</b>')
    await page.wait_for_selector(".msg.from-bot", timeout=20_000)
    worker = await page.locator(".msg.from-worker").first.inner_text()
    assert "<img" in worker and "<b>" in worker
    assert await page.evaluate("window.pwned === undefined")
    assert await page.locator(".msg b").count() == 0


async def test_reload_shows_the_whole_conversation(page: Page) -> None:
    await send(page, "hello")
    await page.wait_for_selector(".chip", timeout=20_000)
    before = await page.locator(".msg").count()
    await page.reload()
    await page.wait_for_function(f"document.querySelectorAll('.msg').length >= {before}")
    assert await page.locator(".msg").count() == before
