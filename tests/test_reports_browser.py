"""Case facts and reports in a real browser (Chromium, Playwright), Redis only: an
operator corrects a case's country, adds violations and closes it with an outcome; a
supervisor (signing in with the second factor, as people do) sees the report change
and downloads the partners' export."""

from __future__ import annotations

import csv
import io

import pyotp
from playwright.async_api import BrowserContext, Page, expect

from bot.store.users import Role
from tests.chat import Chat
from tests.console import PASSWORD
from tests.test_console_browser import sign_in


async def supervisor_signs_in(page: Page, base: str, username: str) -> None:
    """Password, then the second factor they must set up at their first sign-in."""
    await sign_in(page, base, username, landing=r"/console/account/2fa")
    secret = (await page.locator("#totp-secret").inner_text()).replace(" ", "")
    await page.fill('#enrol-form input[name="code"]', pyotp.TOTP(secret).now())
    await page.click('#enrol-form button[type="submit"]')
    # The recovery codes are shown once; then on to the console.
    await expect(page.get_by_role("link", name="Continue")).to_be_visible()


async def test_an_operator_records_facts_and_a_supervisor_sees_the_report_change(
    desk: Chat, desk_and_phone: tuple[BrowserContext, BrowserContext]
) -> None:
    await desk.console.users.add("sari", PASSWORD, Role.OPERATOR, "Sari", "en")
    await desk.console.users.add("susi", PASSWORD, Role.SUPERVISOR, "Susi", "en")
    worker = await desk.new_worker()
    await worker.say("tolong majikan saya pukul saya setiap hari, saya di hong kong")
    case = await desk.services.cases.open_case_of(worker.sender)
    assert case is not None and case.country != "taiwan"

    boss = await desk_and_phone[1].new_page()
    await supervisor_signs_in(boss, desk.base, "susi")
    await boss.goto(f"{desk.base}/console/reports")
    await expect(boss.locator("#total-cases")).to_have_text("1")
    await expect(boss.locator("#report-violation")).to_contain_text("None in this period")
    await expect(boss.locator("#report-category img.chart")).to_be_visible()

    console = await desk_and_phone[0].new_page()
    await sign_in(console, desk.base, "sari")
    await console.goto(f"{desk.base}/console/cases/{case.id}")
    await console.click("#claim")
    await expect(console.locator("#assignee")).to_have_text("sari")
    facts = console.locator("#facts-form")
    await facts.locator('select[name="country"]').select_option("taiwan")
    await facts.locator('select[name="sector"]').select_option("domestic")
    await facts.locator('input[value="documents_held"]').check()
    await facts.locator('input[value="wages_withheld"]').check()
    await facts.locator('button[type="submit"]').click()
    await expect(console.locator(".done")).to_contain_text("facts were saved")
    before = {"hong_kong": "Hong Kong", None: "-"}[case.country]
    await expect(console.locator("#timeline")).to_contain_text(f"Country: {before} → Taiwan")
    await expect(console.locator("#case-country")).to_have_text("Taiwan")

    await console.select_option('#close-form select[name="outcome"]', "resolved_unpaid")
    await console.click("#close-case")
    await expect(console.locator("#case-outcome")).to_contain_text("resolved without payment")

    await boss.reload()
    violations = boss.locator("#report-violation table")
    await expect(violations).to_contain_text("passport or documents held")
    await expect(violations).to_contain_text("wages withheld")
    await expect(boss.locator("#report-outcome table")).to_contain_text("resolved without payment")
    await expect(boss.locator("#report-country table")).to_contain_text("Taiwan")
    await expect(boss.locator("#report-country table")).not_to_contain_text("Hong Kong")
    await expect(boss.locator("#report-sector table")).to_contain_text("domestic work")

    async with boss.expect_download() as downloading:
        await boss.click('#report-exports a[href*="by=violation"]')
    download = await downloading.value
    path = await download.path()
    rows = list(csv.reader(io.StringIO(path.read_text())))
    assert rows[0][0] == "month" and "documents_held" in rows[0]
    # One case: every count is under 5, so none shows.
    assert all(cell == "<5" for row in rows[1:] for cell in row[1:])
