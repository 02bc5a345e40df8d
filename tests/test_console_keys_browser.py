"""The console at a desk and on a phone (390 px), in Chromium (issue 22): emergencies
raise one banner that merges repeats and never covers the case page, claimed from the
banner with one click; "take the next" and claiming from the keyboard, Ctrl+Enter sends
a reply, a canned reply goes in with a few keystrokes, a follow-up date and closing with
an outcome fit the screen; the shortcuts are listed on the page."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Page, expect

from bot.store.canned import Canned
from bot.store.users import Role
from tests.chat import Chat
from tests.console import PASSWORD
from tests.test_console_browser import sign_in

WIDTHS = {"desk": 1200, "phone": 390}


@pytest.mark.parametrize("where", list(WIDTHS))
async def test_the_banner_merges_emergencies_and_the_keyboard_claims_and_sends(
    desk: Chat, browser: Browser, where: str
) -> None:
    await desk.console.users.add("sari", PASSWORD, Role.OPERATOR, "Sari", "en")
    await desk.casework.canned.save(
        Canned("safe", "Somewhere safe?", {"id": "Are you somewhere safe now?"})
    )
    context = await browser.new_context(
        viewport={"width": WIDTHS[where], "height": 844}, locale="en-US"
    )
    try:
        console = await context.new_page()
        await sign_in(console, desk.base, "sari")
        await expect(console.locator("#queue")).to_contain_text("Nobody is waiting")
        await expect(console.locator("#shortcuts")).to_contain_text("Ctrl")

        first = await desk.new_worker()
        await first.say("tolong majikan saya pukul saya setiap hari")
        banner = console.locator("#alert")
        await expect(banner).to_be_visible(timeout=5_000)
        case_a = await desk.services.cases.open_case_of(first.sender)
        assert case_a is not None
        await expect(banner.locator("a")).to_contain_text(case_a.id)
        await expect(banner.locator("#alert-claim")).to_be_visible()

        second = await desk.new_worker()
        await second.say("saya dikunci di kamar tidak dikasih makan tolong")
        await expect(banner.locator("a")).to_have_text("2 emergencies unclaimed", timeout=5_000)
        await expect(banner.locator("#alert-claim")).to_have_count(0)
        await expect(banner).to_have_count(1)

        # One click from the banner: the oldest emergency is claimed.
        await banner.locator("#alert-next").click()
        await expect(console).to_have_url(re.compile(rf"/console/cases/{case_a.id}"))
        await expect(console.locator("#assignee")).to_have_text("sari")

        # A canned reply in a few keystrokes: Alt+/, its name, Enter; then Ctrl+Enter.
        reply = console.locator('#reply-form textarea[name="text"]')
        await reply.fill("We are here. ")
        await reply.press("Alt+/")
        await expect(console.locator("#canned-pick")).to_be_focused()
        await console.keyboard.type("safe")
        await console.keyboard.press("Enter")
        await expect(reply).to_have_value("We are here. Are you somewhere safe now?")
        await reply.press("Control+Enter")
        await expect(console.locator(".done")).to_contain_text("Your reply was sent")
        seen = await first.until(lambda seen: seen[-1].get("from") == "operator")
        assert seen[-1]["text"] == "We are here. Are you somewhere safe now?"

        # A follow-up date, then the case closes with its outcome.
        await console.fill('#due-form input[name="day"]', "2026-12-24")
        await console.click('#due-form button[type="submit"]')
        await expect(console.locator(".done")).to_contain_text("Follow-up date saved")
        await expect(console.locator("#due-day")).to_contain_text("2026")
        assert await _too_wide(console) == []
        await console.select_option('#close-form select[name="outcome"]', "information_given")
        await console.click("#close-case")
        await expect(console.locator("#case-outcome")).to_contain_text("information given")
        # The worker is asked how helpful it was (buttons 1-5).
        await first.until(
            lambda seen: f"rate:{case_a.id}:5" in str(seen[-1].get("buttons")),
        )

        # The queue from the keyboard, and the next emergency with "n".
        await console.locator("h1").click()
        await console.keyboard.press("q")
        await expect(console).to_have_url(re.compile(r"/console/queue$"))
        case_b = await desk.services.cases.open_case_of(second.sender)
        assert case_b is not None
        await expect(console.locator("#queue")).to_contain_text(case_b.id)
        assert await _too_wide(console) == []
        await console.keyboard.press("n")
        await expect(console).to_have_url(re.compile(rf"/console/cases/{case_b.id}"))
        await expect(console.locator("#assignee")).to_have_text("sari")

        # On a case page a new emergency's banner sits above the case, not over it.
        third = await desk.new_worker()
        await third.say("help my employer beats me and I am bleeding")
        await expect(banner).to_be_visible(timeout=5_000)
        position = await banner.evaluate("el => getComputedStyle(el).position")
        assert position == "static"
        assert await _too_wide(console) == []
    finally:
        await context.close()


async def _too_wide(page: Page) -> list[str]:
    """What sticks out past the screen's right edge (nothing should: no sideways
    scrolling on a phone)."""
    found: list[str] = await page.evaluate(
        "Array.from(document.querySelectorAll('body *')).filter(e => "
        "e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 8)"
        ".map(e => e.tagName + '#' + e.id + ' ' + Math.round(e.getBoundingClientRect().right))"
    )
    return found
