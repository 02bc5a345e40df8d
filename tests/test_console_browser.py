"""The operator console in a real browser (Chromium driven by Playwright), beside the
worker's web chat: an emergency appears live, is claimed, answered and closed, and the
worker answers the satisfaction question and their next message is answered by the bot
again."""

from __future__ import annotations

import re

from playwright.async_api import BrowserContext, Page, expect

from bot.store.users import Role
from tests.chat import Chat
from tests.console import PASSWORD


async def sign_in(page: Page, base: str, username: str, landing: str = r"/console/queue$") -> None:
    """Signs in with the password; ``landing``: where that leads (a pattern)."""
    await page.goto(f"{base}/console")
    await page.fill('input[name="username"]', username)
    await page.fill('input[name="password"]', PASSWORD)
    await page.click('#login button[type="submit"]')
    await expect(page).to_have_url(re.compile(landing))


async def worker_says(page: Page, text: str) -> None:
    await page.fill("#input", text)
    await page.keyboard.press("Enter")


async def test_emergency_live_claim_reply_close_and_back_to_the_bot(
    desk: Chat, desk_and_phone: tuple[BrowserContext, BrowserContext]
) -> None:
    await desk.console.users.add("sari", PASSWORD, Role.OPERATOR, "Sari", "en")
    console = await desk_and_phone[0].new_page()
    await sign_in(console, desk.base, "sari")
    # The queue page's live connection is up before the worker writes.
    await expect(console.locator("#queue")).to_contain_text("Nobody is waiting")
    await expect(console.locator("body")).to_have_attribute("data-user", "sari")

    chat_page = await desk_and_phone[1].new_page()
    await chat_page.goto(f"{desk.base}/chat")
    await worker_says(chat_page, "help, my employer beats me every night and I am scared")
    await chat_page.wait_for_selector('.chip[data-payload="safe:yes"]', timeout=20_000)

    # Without reloading, the console shows the emergency and an alert.
    entry = console.locator("#queue li.entry.prio-critical")
    await expect(entry).to_have_count(1, timeout=5_000)
    await expect(console.locator("#alert")).to_be_visible()
    case = await desk.services.cases.open_case_of(await _sender(chat_page))
    assert case is not None
    await expect(entry).to_contain_text(case.id)

    await entry.locator("button.claim").click()
    await expect(console).to_have_url(re.compile(rf"/console/cases/{case.id}"))
    await expect(console.locator("#assignee")).to_have_text("sari")
    await expect(chat_page.locator(".msg.from-bot").last).to_contain_text(
        "Sari from our team has joined", timeout=10_000
    )

    # The worker writes; the case page shows it live; the bot stays silent.
    bot_messages = await chat_page.locator(".msg.from-bot").count()
    await worker_says(chat_page, "I locked myself in the bathroom")
    await expect(console.locator("#timeline")).to_contain_text(
        "I locked myself in the bathroom", timeout=5_000
    )
    assert await chat_page.locator(".msg.from-bot").count() == bot_messages

    reply = "Stay there. We are calling for help now."
    await console.fill('#reply-form textarea[name="text"]', reply)
    await console.click('#reply-form button[type="submit"]')
    await expect(console.locator(".done")).to_contain_text("Your reply was sent")
    operator_message = chat_page.locator(".msg.from-operator").last
    await expect(operator_message).to_contain_text(reply, timeout=10_000)
    await expect(operator_message).to_contain_text("Sari")

    await console.select_option('#close-form select[name="outcome"]', "resolved_unpaid")
    await console.click("#close-case")
    await expect(console.locator("#case-status")).to_have_attribute("data-status", "closed")
    await expect(console.locator("#case-outcome")).to_contain_text("resolved without payment")
    await expect(chat_page.locator(".msg.from-bot").nth(-2)).to_contain_text(
        f"{case.id} is now closed", timeout=10_000
    )

    # One question after closing: how helpful was it (1-5), then an optional comment.
    survey = chat_page.locator(".msg.from-bot").last
    await expect(survey).to_contain_text("how helpful")
    await chat_page.click(f'.chip[data-payload="rate:{case.id}:4"]')
    await expect(chat_page.locator(".msg.from-bot").last).to_contain_text("what we could do")
    await worker_says(chat_page, "you answered fast, thank you")
    await expect(chat_page.locator(".msg.from-bot").last).to_contain_text("Thank you for telling")
    await console.reload()
    await expect(console.locator("#case-rating")).to_contain_text("4/5")
    await expect(console.locator("#case-rating")).to_contain_text("you answered fast")

    # The next message is the bot's again.
    before = await chat_page.locator(".msg.from-bot").count()
    await worker_says(chat_page, "thank you")
    await expect(chat_page.locator(".msg.from-bot")).to_have_count(before + 1, timeout=20_000)


async def _sender(page: Page) -> str:
    conversation = await page.evaluate(
        "JSON.parse(localStorage.getItem(Object.keys(localStorage).find("
        "k => localStorage.getItem(k).includes('conversation_id')))).conversation_id"
    )
    return f"webchat:{conversation}"
