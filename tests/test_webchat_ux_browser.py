"""The web chat page in Chromium on a 390 px phone (issue 22): buttons after a reload, the
screen after a confirmed erase, and a message that could not be sent.

The helpline runs with Redis only (``desk``): every step here is a button, the Privacy
link or a text whose answer does not matter, so no NLU model is needed. Failures are made
at the network (Playwright's routing), never inside the page.
(No wait_for_function here: the page's CSP forbids the eval it polls with.)
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, Error, Page, Route, ViewportSize, expect

from tests.chat import Chat
from tests.eventually import eventually

PHONE: ViewportSize = {"width": 390, "height": 844}
KEY = "helpline.chat"
MESSAGES = "**/api/chat/messages"
# The bot answers in Indonesian (the default) until the worker writes in English.
ERASED = re.compile("has been erased|sudah dihapus")
NOTHING_ERASED = re.compile("Nothing was erased|Tidak ada yang dihapus")


@pytest.fixture
async def page(browser: Browser, desk: Chat) -> AsyncIterator[Page]:
    """The chat page on a phone; a test fails if the page broke its own CSP."""
    context = await browser.new_context(viewport=PHONE, locale="en-US")
    opened = await context.new_page()
    refused: list[str] = []
    opened.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    await opened.goto(f"{desk.base}/chat")
    yield opened
    await context.close()
    assert refused == [], "the page did something its CSP forbids"


async def stored(page: Page) -> dict[str, Any]:
    """What the page keeps in localStorage, once it has a conversation."""
    found: dict[str, Any] = await eventually(
        lambda: page.evaluate(f"JSON.parse(localStorage.getItem({KEY!r}) || '{{}}')"),
        lambda found: isinstance(found.get("conversation_id"), str),
        what="the page stores its conversation",
    )
    return found


async def stream_open(page: Page) -> None:
    """The event stream is open: a restored conversation is being replayed from it."""
    await expect(page.locator("#status")).to_be_hidden(timeout=10_000)


async def own_messages(chat: Chat, conversation: str) -> list[dict[str, Any]]:
    """The worker's messages as the helpline keeps them (the echoes in the outbox)."""
    entries = await chat.services.outbox.read(f"webchat:{conversation}")
    return [message for _, message in entries if message.get("from") == "worker"]


async def fits_the_phone(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "the page scrolls sideways on a phone"


async def ask_to_erase(page: Page) -> None:
    """Privacy -> "Delete my data": the page then asks to confirm (two buttons)."""
    await page.click("#privacy-link")
    await page.click('.chip[data-payload="delete"]', timeout=20_000)
    await expect(page.locator('.chip[data-payload="delete:confirm"]')).to_be_visible(timeout=20_000)


# -- buttons after a reload ----------------------------------------------------------------


async def test_after_a_reload_only_the_last_messages_buttons_can_be_pressed(page: Page) -> None:
    await stored(page)
    await ask_to_erase(page)
    delete = page.locator('.chip[data-payload="delete"]')
    confirm = page.locator('.chip[data-payload="delete:confirm"]')
    cancel = page.locator('.chip[data-payload="delete:cancel"]')
    messages = page.locator(".msg")
    shown = await messages.count()
    assert shown >= 4  # Privacy, the notice, "Delete my data", the question

    await page.reload()
    await stream_open(page)
    await expect(messages).to_have_count(shown)
    # The earlier question's button is spent, and shows which one was pressed.
    await expect(delete).to_be_disabled()
    await expect(delete).to_have_attribute("aria-pressed", "true")
    await expect(delete).to_have_class(re.compile(r"\bpressed\b"))
    await expect(page.locator(".chip.pressed")).to_have_count(1)
    # The last question's buttons still answer it.
    await expect(confirm).to_be_enabled()
    await expect(cancel).to_be_enabled()
    await expect(page.locator(".chip:enabled")).to_have_count(2)
    await fits_the_phone(page)

    await cancel.click()
    await expect(messages).to_have_count(shown + 2)  # the press and "Nothing was erased."
    await expect(page.locator(".msg.from-bot").last).to_have_text(NOTHING_ERASED)
    await expect(cancel).to_have_attribute("aria-pressed", "true")
    await expect(page.locator(".chip:enabled")).to_have_count(0)
    # And a second reload agrees: both pressed buttons marked, none left to press.
    await page.reload()
    await stream_open(page)
    await expect(messages).to_have_count(shown + 2)
    await expect(page.locator(".chip.pressed")).to_have_count(2)
    await expect(page.locator(".chip:enabled")).to_have_count(0)


async def test_typing_instead_of_pressing_retires_the_buttons(page: Page) -> None:
    await stored(page)
    await ask_to_erase(page)
    await page.fill("#input", "sebenarnya saya mau tanya soal gaji")
    await page.keyboard.press("Enter")
    # The question's buttons are retired; the answer to the typed message may bring
    # buttons of its own (how soon it comes depends on the machine's load).
    for choice in ("delete:confirm", "delete:cancel"):
        await expect(page.locator(f'.chip[data-payload="{choice}"]')).to_be_disabled()
    answer = page.locator(".msg.from-bot").last
    await expect(page.locator(".msg.from-worker").last).to_contain_text("soal gaji")
    await expect(answer.locator(".chip:disabled")).to_have_count(0, timeout=20_000)
    await page.reload()
    await stream_open(page)
    await expect(page.locator(".msg.from-worker").last).to_contain_text("soal gaji")
    await expect(page.locator('.chip[data-payload="delete:confirm"]')).to_be_disabled()
    await expect(page.locator(".chip.pressed")).to_have_count(1)  # "Delete my data" only


# -- a confirmed erase ---------------------------------------------------------------------


@pytest.mark.parametrize("reload", ["at_once", "later"])
async def test_a_confirmed_erase_leaves_only_the_confirmation(page: Page, reload: str) -> None:
    before = await stored(page)
    await page.fill("#input", "nama saya Siti, majikan saya di Kowloon")
    await page.keyboard.press("Enter")
    await expect(page.locator(".msg.from-worker")).to_have_count(1)
    await ask_to_erase(page)
    await page.click('.chip[data-payload="delete:confirm"]')

    confirmation = page.locator(".msg.from-bot", has_text=ERASED)
    await expect(confirmation).to_be_visible(timeout=20_000)
    # At once, not after a pause: the confirmation is all that is left on the screen...
    await expect(page.locator(".msg")).to_have_count(1, timeout=2_000)
    await expect(page.locator("#messages")).not_to_contain_text("Kowloon")
    # ...and on the phone: only a fresh conversation, nothing of the erased one.
    after = await stored(page)
    assert after["conversation_id"] != before["conversation_id"]
    assert after["token"] != before["token"]
    assert await page.evaluate("[localStorage.length, sessionStorage.length]") == [1, 0]

    if reload == "later":
        # The confirmation stays readable: in the chat for a moment, then above it.
        note = page.locator("#erased-note")
        await expect(note).to_contain_text(ERASED, timeout=10_000)
        await expect(page.locator(".msg")).to_have_count(0)
    await page.reload()
    await stream_open(page)
    await page.wait_for_timeout(500)  # time for a replay, if there were anything to replay
    await expect(page.locator(".msg")).to_have_count(0)
    assert "Kowloon" not in await page.inner_text("body")
    # The erased conversation's token is not kept anywhere either.
    assert before["token"] not in json.dumps(await page.evaluate("({...localStorage})"))


# -- a message that could not be sent ------------------------------------------------------


async def refuse(route: Route, failure: str) -> None:
    if failure == "offline":
        await route.abort("internetdisconnected")
    elif failure == "rate_limited":
        body = json.dumps({"error": "too many requests"})
        await route.fulfill(status=429, content_type="application/json", body=body)
    else:  # a proxy in front of the helpline failing: 502 with an HTML page
        await route.fulfill(status=502, content_type="text/html", body="<h1>Bad Gateway</h1>")


NOTICES = {
    "offline": "the connection failed",
    "rate_limited": "too many messages",
    "bad_gateway": "Please try again in a moment",
}


@pytest.mark.parametrize("failure", list(NOTICES))
async def test_a_message_that_was_not_sent_stays_in_the_box(
    page: Page, desk: Chat, failure: str
) -> None:
    conversation = (await stored(page))["conversation_id"]
    await stream_open(page)

    async def refused(route: Route) -> None:
        await refuse(route, failure)

    await page.route(MESSAGES, refused)
    text = "gaji saya belum dibayar tiga bulan"
    await page.fill("#input", text)
    await page.keyboard.press("Enter")

    notice = page.locator("#send-error")
    await expect(notice).to_be_visible()
    await expect(notice).to_contain_text("Your message was not sent")
    await expect(notice).to_contain_text(NOTICES[failure])
    await expect(page.locator("#input")).to_have_value(text)
    await expect(page.locator("#input")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator(".msg.from-worker")).to_have_count(0)
    await expect(page.locator(".msg")).to_have_count(0)  # not as a line in the chat either
    # Next to the box: right above it, on screen, within the phone's width.
    box, above = await page.locator("#input").bounding_box(), await notice.bounding_box()
    assert box is not None and above is not None
    assert 0 <= box["y"] - (above["y"] + above["height"]) <= 16
    assert above["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"]
    await fits_the_phone(page)
    assert await own_messages(desk, conversation) == []

    await page.unroute(MESSAGES)
    await page.click("#send")
    sent = page.locator(".msg.from-worker")
    await expect(sent).to_have_text(text)
    await expect(sent).not_to_have_class(re.compile("pending"), timeout=20_000)
    await expect(notice).to_be_hidden()
    await expect(page.locator("#input")).to_have_value("")
    await expect(page.locator("#input")).to_have_attribute("aria-invalid", "false")
    echoes = await own_messages(desk, conversation)
    assert [e["text"] for e in echoes] == [text]


async def test_a_button_that_was_not_sent_can_be_pressed_again(page: Page, desk: Chat) -> None:
    conversation = (await stored(page))["conversation_id"]
    await ask_to_erase(page)
    cancel = page.locator('.chip[data-payload="delete:cancel"]')
    label = await cancel.inner_text()
    shown = await page.locator(".msg").count()
    await page.route(MESSAGES, lambda route: route.abort("internetdisconnected"))
    await cancel.click()
    notice = page.locator("#send-error")
    await expect(notice).to_contain_text("the connection failed")
    await expect(cancel).to_be_enabled()
    await expect(cancel).not_to_have_attribute("aria-pressed", "true")
    await expect(page.locator(".msg")).to_have_count(shown)  # no bubble of the press
    await expect(page.locator("#input")).to_have_value("")  # a button's label is not put there

    await page.unroute(MESSAGES)
    await cancel.click()
    await expect(page.locator(".msg.from-bot").last).to_have_text(NOTHING_ERASED)
    await expect(notice).to_be_hidden()
    echoes = await own_messages(desk, conversation)
    assert [e["text"] for e in echoes][-1] == label


async def test_a_send_that_takes_too_long_is_shown_as_not_sent(page: Page, desk: Chat) -> None:
    """The POST gets no answer in time (the page's clock is moved past its wait)."""
    await page.clock.install()
    await page.reload()
    conversation = (await stored(page))["conversation_id"]
    await stream_open(page)
    held: list[Route] = []

    async def hold(route: Route) -> None:
        held.append(route)

    await page.route(MESSAGES, hold)
    text = "saya mau pulang"
    await page.fill("#input", text)
    await page.keyboard.press("Enter")
    await eventually(lambda: held, what="the page's POST")
    await expect(page.locator(".msg.from-worker.pending")).to_have_count(1)
    await page.clock.fast_forward(31_000)

    notice = page.locator("#send-error")
    await expect(notice).to_contain_text("the connection failed")
    await expect(page.locator("#input")).to_have_value(text)
    await expect(page.locator(".msg.from-worker")).to_have_count(0)
    # It reaches the helpline late after all (the same request, sent on by the test):
    # its echo comes on the event stream, and the page takes the notice back.
    late = held[0].request
    with contextlib.suppress(Error):
        await held[0].abort()
    async with desk.session.post(
        late.url, data=late.post_data, headers=await late.all_headers()
    ) as response:
        assert response.status == 200
    await expect(page.locator(".msg.from-worker")).to_have_text(text, timeout=10_000)
    await expect(notice).to_be_hidden()
    await expect(page.locator("#input")).to_have_value("")
    await expect(page.locator("#input")).to_have_attribute("aria-invalid", "false")
    assert [e["text"] for e in await own_messages(desk, conversation)] == [text]
