"""The web chat page in a real browser (Chromium driven by Playwright) on a phone screen."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, FilePayload, Page, ViewportSize, expect

from tests.chat import Chat
from tests.conftest import make_settings
from tests.eventually import eventually

pytestmark = pytest.mark.rasa

PHONE: ViewportSize = {"width": 390, "height": 844}
KEY = "helpline.chat"
JPEG = b"\xff\xd8\xff\xe0 a photo of a contract"


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
    await page.click('.chip[data-payload="topics:work"]', timeout=20_000)
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
    # (No wait_for_function here or below: the page's CSP forbids the eval it polls with.)
    await expect(page.locator(".msg")).to_have_count(before)


async def stored_conversation(page: Page) -> str:
    """The conversation id the page keeps in localStorage, once it has one."""
    found = await eventually(
        lambda: page.evaluate(f"JSON.parse(localStorage.getItem({KEY!r}) || '{{}}')"),
        lambda found: isinstance(found.get("conversation_id"), str),
        what="the page stores its conversation",
    )
    return str(found["conversation_id"])


async def test_quick_exit_is_always_on_screen_and_big_enough_to_tap(page: Page) -> None:
    await send(page, "hello")
    await page.wait_for_selector(".chip", timeout=20_000)
    for _ in range(3):  # a long conversation scrolls; the header stays
        await send(page, "how many rest days do I get?")
        await page.wait_for_timeout(300)
    box = await page.locator("#quick-exit").bounding_box()
    assert box is not None
    assert box["width"] >= 44 and box["height"] >= 44
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"]
    assert await page.locator("#quick-exit").is_visible()
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "the page scrolls sideways on a phone"


async def test_quick_exit_clears_the_chat_and_the_phone_and_leaves(page: Page, chat: Chat) -> None:
    exit_url = await page.get_attribute("body", "data-exit")
    assert exit_url and exit_url.startswith("http")
    await page.route(
        lambda url: url == exit_url,
        lambda route: route.fulfill(content_type="text/html", body="<title>Weather</title>"),
    )
    # What the chat page holds at the moment it is left, reported from inside it.
    left: list[Any] = []
    await page.expose_function("reportLeaving", lambda state: left.append(state))
    await send(page, "hello, saya di hongkong")
    await page.wait_for_selector(".chip", timeout=20_000)
    await stored_conversation(page)
    await page.evaluate(
        """() => {
          sessionStorage.setItem("helpline.draft", "x");
          addEventListener("beforeunload", () => window.reportLeaving({
            messages: document.querySelectorAll(".msg").length,
            words: document.body.textContent.includes("hongkong"),
            stored: localStorage.length + sessionStorage.length,
          }));
        }"""
    )

    await page.click("#quick-exit")
    await page.wait_for_url(exit_url)
    # The report crosses from the browser while the next page loads.
    await eventually(lambda: left, what="the page's report on leaving")
    assert left == [{"messages": 0, "words": False, "stored": 0}]
    # Back does not bring the chat back: the exit replaced it in the history.
    await page.go_back()
    assert "/chat" not in page.url
    # Nothing is left for the origin, seen from a fresh page and from this tab.
    other = await page.context.new_page()
    await other.goto(f"{chat.base}/healthz")
    stored = await other.evaluate(f"[localStorage.length, localStorage.getItem({KEY!r})]")
    assert stored == [0, None]
    await page.goto(f"{chat.base}/healthz")
    assert await page.evaluate("sessionStorage.length") == 0


async def test_escape_twice_is_a_quick_exit(page: Page) -> None:
    exit_url = await page.get_attribute("body", "data-exit")
    assert exit_url
    await page.route(
        lambda url: url == exit_url,
        lambda route: route.fulfill(content_type="text/html", body="<title>Weather</title>"),
    )
    await send(page, "hello")
    await page.wait_for_selector(".chip", timeout=20_000)
    await page.keyboard.press("Escape")
    await page.keyboard.press("Escape")
    await page.wait_for_url(exit_url)
    assert await page.evaluate("localStorage.length") == 0


async def test_a_phone_that_is_not_private_keeps_nothing(page: Page) -> None:
    await stored_conversation(page)
    normal_title = await page.title()
    await page.click("#discreet")
    assert await page.title() == "Notes"
    assert await page.inner_text("h1") == "Notes"
    assert "helpline" not in (await page.inner_text("header")).lower()
    await send(page, "hello")
    await page.wait_for_selector(".msg.from-bot", timeout=20_000)
    assert await page.evaluate("localStorage.length + sessionStorage.length") == 0
    # A reload starts afresh: that is the point.
    await page.reload()
    await stored_conversation(page)
    assert await page.title() == normal_title
    await page.wait_for_timeout(500)
    assert await page.locator(".msg").count() == 0


async def test_an_emergency_reply_has_numbers_to_tap(page: Page) -> None:
    await send(page, "majikan pukul saya, saya di hongkong")
    links = page.locator('.msg.from-bot a[href^="tel:"]')
    await expect(links.first).to_be_visible(timeout=20_000)
    hrefs = [await link.get_attribute("href") for link in await links.all()]
    assert "tel:999" in hrefs
    assert all(re.fullmatch(r"tel:\+?\d+", h or "") for h in hrefs), hrefs
    # The case number in "case PMI-..." is not a phone number.
    assert not [t for t in await links.all_inner_texts() if "PMI" in t or len(t) > 20]
    assert await page.locator('.msg.from-worker a[href^="tel:"]').count() == 0


async def test_only_phone_numbers_become_links(page: Page, chat: Chat) -> None:
    conversation = await stored_conversation(page)
    text = (
        "Call 999 now, or KJRI +852 6773 0466 / +62 812 9007 0027. In Taiwan: emergency "
        "110 / 119. From Indonesia: 0800-1000. Samaritans 2896 0000; SOS 1767. Talian Kasih "
        "15999, open 365 days.\nKemlu 081290070027. NCMH support line: 920033360.\n"
        "1925 Hotline (MOHW): 1925 (24 hours)\n"
        "Your case PMI-2026-00042 is open 08:00-22:00 since 2026-11-23. Your wage HK$5,100 "
        "(HK$ 4,990) under the Employment Act 1955, 13 Feb 2026; Rp5.000.000; Cap. 453; "
        "room 1203.\n<b>call 1955</b>"
    )
    await chat.services.outbox.push(
        f"webchat:{conversation}",
        {"from": "operator", "text": text, "buttons": [], "name": "Sari"},
    )
    message = page.locator(".msg.from-operator")
    await expect(message).to_contain_text("room 1203", timeout=10_000)
    links = message.locator("a")
    pairs = [(await a.inner_text(), await a.get_attribute("href")) for a in await links.all()]
    assert pairs == [
        ("999", "tel:999"),
        ("+852 6773 0466", "tel:+85267730466"),
        ("+62 812 9007 0027", "tel:+6281290070027"),
        ("110", "tel:110"),
        ("119", "tel:119"),
        ("0800-1000", "tel:08001000"),
        ("2896 0000", "tel:28960000"),
        ("1767", "tel:1767"),
        ("15999", "tel:15999"),
        ("081290070027", "tel:081290070027"),
        ("920033360", "tel:920033360"),
        ("1925", "tel:1925"),
        ("1955", "tel:1955"),
    ]
    # The whole text is still there, word for word, and markup in it is text.
    assert (await message.locator(".text").inner_text()) == text
    assert await page.locator(".msg b").count() == 0


async def own_messages(chat: Chat, conversation: str) -> list[dict[str, Any]]:
    """The worker's messages as the helpline stored them (the echoes in the outbox)."""
    entries = await chat.services.outbox.read(f"webchat:{conversation}")
    return [message for _, message in entries if message.get("from") == "worker"]


async def test_a_photo_with_a_caption_from_the_text_box(page: Page, chat: Chat) -> None:
    conversation = await stored_conversation(page)
    await page.fill("#input", "ini kontrak saya")
    photo: FilePayload = {"name": "kontrak.jpg", "mimeType": "image/jpeg", "buffer": JPEG}
    await page.set_input_files("#file", files=[photo])
    bubble = page.locator(".msg.from-worker").last
    await expect(bubble.locator(".file")).to_contain_text("kontrak.jpg")
    await expect(bubble).to_contain_text("ini kontrak saya")
    await expect(bubble).not_to_have_class(re.compile("pending"), timeout=20_000)
    await page.wait_for_selector(".msg.from-bot", timeout=20_000)
    assert await page.input_value("#input") == ""
    echoes = await own_messages(chat, conversation)
    assert [(e["text"], e["file"]["name"]) for e in echoes] == [("ini kontrak saya", "kontrak.jpg")]
    # A reload shows the file the same way, from the conversation kept by the helpline.
    await page.reload()
    await expect(page.locator(".msg.from-worker .file")).to_contain_text("kontrak.jpg")


async def test_a_file_over_the_limit_is_refused_before_it_is_sent(page: Page, chat: Chat) -> None:
    conversation = await stored_conversation(page)
    limit = chat.helpline.settings.media_max_bytes
    await page.fill("#input", "video majikan")
    video: FilePayload = {"name": "big.mp4", "mimeType": "video/mp4", "buffer": b"\0" * (limit + 1)}
    await page.set_input_files("#file", files=[video])
    await expect(page.locator(".msg.system")).to_contain_text("too large")
    assert await page.locator(".msg.from-worker").count() == 0
    assert await page.input_value("#input") == "video majikan"  # the caption is not lost
    assert await own_messages(chat, conversation) == []


async def test_sharing_the_location(page: Page, chat: Chat) -> None:
    conversation = await stored_conversation(page)
    await page.context.grant_permissions(["geolocation"])
    await page.context.set_geolocation({"latitude": 22.2793, "longitude": 114.1628})
    await page.click("#locate")
    await expect(page.locator(".msg.from-worker").last).to_contain_text("My location")
    # A bare pin is asked about: "are you in danger?"
    await page.wait_for_selector('.chip[data-payload="danger:yes"]', timeout=20_000)
    echoes = await own_messages(chat, conversation)
    assert len(echoes) == 1 and echoes[0].get("location") is True


async def test_a_refused_location_is_said_on_the_page(page: Page) -> None:
    await stored_conversation(page)
    await page.context.clear_permissions()
    await page.click("#locate")
    await expect(page.locator(".msg.system")).to_contain_text("could not be shared")
    assert await page.locator(".msg.from-worker").count() == 0


async def test_after_erasing_the_screen_and_the_phone_start_afresh(page: Page) -> None:
    await send(page, "hello")
    await page.wait_for_selector(".chip", timeout=20_000)
    before = await stored_conversation(page)
    await page.click("#privacy-link")
    await page.click('.chip[data-payload="delete"]', timeout=20_000)
    await page.click('.chip[data-payload="delete:confirm"]', timeout=20_000)
    erased = page.locator(".msg.from-bot", has_text="has been erased")
    await expect(erased).to_be_visible(timeout=20_000)
    # The reply stays long enough to be read; then nothing of the old conversation is left.
    await page.wait_for_timeout(1000)
    await expect(erased).to_be_visible()
    await expect(page.locator(".msg")).to_have_count(0, timeout=10_000)
    after = await stored_conversation(page)
    assert after != before
    await page.reload()
    await page.wait_for_timeout(500)
    assert await page.locator(".msg").count() == 0


async def test_the_quick_exit_goes_where_the_helpline_sends_it(
    browser: Browser, redis_url: str, rasa_url: str, key_prefix: str
) -> None:
    neutral = "https://news.example/weather?city=hong+kong&days=3"
    settings = make_settings(redis_url, rasa_url, key_prefix, quick_exit_url=neutral)
    async with Chat.serve(settings) as chat:
        context = await browser.new_context(viewport=PHONE, locale="en-US")
        try:
            page = await context.new_page()
            await page.route(
                lambda url: url == neutral,
                lambda route: route.fulfill(content_type="text/html", body="<p>Sunny</p>"),
            )
            await page.goto(f"{chat.base}/chat")
            await stored_conversation(page)
            await page.click("#quick-exit")
            await page.wait_for_url(neutral)
        finally:
            await context.close()


async def test_a_first_question_gets_its_answer_within_three_bubbles(page: Page) -> None:
    """First contact is short (issue 22): the welcome and privacy in one bubble, then
    the answer to the question, then its one question - nothing in front of it."""
    await send(page, "what is the minimum wage in hong kong?")
    bubbles = page.locator(".msg.from-bot")
    await expect(bubbles.nth(1)).to_contain_text("HK$5,100", timeout=20_000)
    await expect(bubbles).to_have_count(3)
    await expect(bubbles.nth(0)).to_contain_text("180 days")
    await expect(bubbles.nth(1)).to_contain_text("Source:")
    await expect(bubbles.nth(2)).to_contain_text("Did this help?")
    await expect(page.locator('.chip[data-payload="source:wages"]')).to_be_visible()
