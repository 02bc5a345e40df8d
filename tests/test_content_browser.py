"""The editors' section in a real browser (Chromium driven by Playwright), beside the web
chat: edit, preview live, publish, the chat answers with the new text; a translation
becomes stale; rollback."""

from __future__ import annotations

import re

from playwright.async_api import BrowserContext, Page, expect

from bot.store.users import Role
from tests.chat import Chat
from tests.console import PASSWORD

EDIT = "/console/content/answer/rest_day/singapore"


async def sign_in(page: Page, base: str) -> None:
    await page.goto(f"{base}/console/login")
    await page.fill('input[name="username"]', "edi")
    await page.fill('input[name="password"]', PASSWORD)
    await page.click('#login button[type="submit"]')
    await expect(page).to_have_url(re.compile(r"/console/content$"))


async def edit_and_publish(page: Page, text: str) -> None:
    await page.fill("#text", text)
    await page.click("#save")
    await expect(page.locator(".done")).to_contain_text("Draft saved")
    await page.click("#publish")
    await expect(page.locator(".done")).to_contain_text("Published")


async def ask_about_rest_days(page: Page, base: str) -> None:
    await page.goto(f"{base}/chat")
    await page.fill("#input", "hello, I work in singapore")
    await page.keyboard.press("Enter")
    await page.click('.chip[data-payload="menu:rights"]', timeout=20_000)
    await page.click('.chip[data-payload="topics:work"]', timeout=20_000)
    await page.click('.chip[data-payload="topic:rest_day"]', timeout=20_000)


async def test_edit_preview_publish_stale_and_rollback(
    desk: Chat, desk_and_phone: tuple[BrowserContext, BrowserContext]
) -> None:
    await desk.console.users.add("edi", PASSWORD, Role.EDITOR, "Edi", "en")
    console = await desk_and_phone[0].new_page()
    await sign_in(console, desk.base)
    assert await console.get_attribute("#cell-rest_day-singapore-id", "data-state") == "published"
    await console.goto(f"{desk.base}{EDIT}/en")
    old_text = await console.input_value("#text")

    # The preview follows the typing, placeholders filled, markup shown as text.
    await console.fill("#text", "Rest day <b>every</b> week. Embassy: {embassy_hotline}")
    preview = console.locator("#preview")
    await expect(preview).to_contain_text("Rest day <b>every</b> week. Embassy: +65")
    assert await console.locator("#preview b").count() == 0
    await expect(console.locator("#length")).to_contain_text("characters")
    await console.fill("#text", "x" * 1100)
    await expect(console.locator("#preview-problem")).to_contain_text("Too long")

    new_text = "You get one rest day every week: at least 8 hours in a row (NEW)."
    await edit_and_publish(console, new_text)
    chat_page = await desk_and_phone[1].new_page()
    await ask_about_rest_days(chat_page, desk.base)
    new_answer = chat_page.locator(".msg.from-bot", has_text="(NEW)")
    await expect(new_answer).to_have_count(1, timeout=20_000)

    # The Indonesian translation is now stale.
    await console.goto(f"{desk.base}/console/content")
    state = console.locator("#cell-rest_day-singapore-id")
    await expect(state).to_have_attribute("data-state", "stale")

    # One click rolls the English answer back to the text it had before.
    await console.goto(f"{desk.base}{EDIT}/en")
    await console.locator("#history .rollback").last.click()
    await expect(console.locator(".done")).to_contain_text("Rolled back")
    assert await console.input_value("#text") == old_text
    # Asked again by another worker (a phone of their own), through the same buttons.
    browser = desk_and_phone[1].browser
    assert browser is not None
    other_phone = await browser.new_context(viewport={"width": 390, "height": 844})
    try:
        other_page = await other_phone.new_page()
        await ask_about_rest_days(other_page, desk.base)
        answer = other_page.locator(".msg.from-bot", has_text=old_text[:40])
        await expect(answer).to_have_count(1, timeout=20_000)
    finally:
        await other_phone.close()
