"""Case facts, closing with an outcome, the case-list indexes and the reports' counters
(issue 21), against the whole bot with Redis only: operators set and correct facts in
the console; what Redis counts always equals a recount from the case records, through
every change and after `helpline reindex`; the case list from the indexes equals the
filters applied to every case; and no export for partners shows a cell under 5 or lets
one be worked out from the totals."""

from __future__ import annotations

import asyncio
import csv
import io
import random
import re
import subprocess
import sys
import time
import zipfile
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.i18n import use_locale
from bot.reports import (
    SUPPRESS_BELOW,
    SUPPRESSED,
    Figures,
    Period,
    Table,
    export_table,
    figures,
    suppress,
)
from bot.store.case_index import ANY, month_of, row_of
from bot.store.cases import Case, CaseFilter, CaseStore, Priority, Status
from bot.store.users import Role, User
from tests.chat import Chat
from tests.console import Operator
from tests.eventually import eventually

SARI = User("sari", Role.OPERATOR.value, "Sari", "x")
BOSS = User("susi", Role.SUPERVISOR.value, "Susi", "x")


@pytest.fixture
async def operator(desk: Chat) -> AsyncIterator[Operator]:
    signed_in = await Operator.signed_in(desk, "sari")
    yield signed_in
    await signed_in.close()


async def _emergency(desk: Chat) -> Case:
    worker = await desk.new_worker()
    await worker.say("tolong majikan saya pukul saya setiap hari, saya di hong kong")
    case = await desk.services.cases.open_case_of(worker.sender)
    assert case is not None
    return case


async def test_operators_set_and_correct_the_facts_and_every_change_is_recorded(
    desk: Chat, operator: Operator
) -> None:
    case = await _emergency(desk)
    await operator.post(f"/console/cases/{case.id}/claim")
    form = [
        ("intent", "complaint_agency"),
        ("country", "taiwan"),
        ("sector", "domestic"),
        ("against", "agency"),
        ("agency", "PT  Maju   Jaya"),
        ("agency_licence", "KEP.123/2019"),
        ("violation", "documents_held"),
        ("violation", "overcharged_fees"),
        ("currency", "TWD"),
        ("owed", "45,000"),
        ("recovered", "12000.5"),
        ("gender", "female"),
    ]
    status, page, _ = await operator.post(f"/console/cases/{case.id}/facts", form)
    assert status == 200 and "facts were saved" in page
    saved = await desk.services.cases.get(case.id)
    assert saved is not None
    assert (saved.intent, saved.category, saved.country) == (
        "complaint_agency",
        "complaint",
        "taiwan",
    )
    assert saved.facts == {
        "sector": "domestic",
        "against": "agency",
        "agency": "PT Maju Jaya",
        "agency_licence": "KEP.123/2019",
        "violations": ["documents_held", "overcharged_fees"],
        "currency": "TWD",
        "owed": 45000.0,
        "recovered": 12000.5,
        "gender": "female",
    }
    event = [e for e in await desk.services.cases.timeline(case.id) if e["kind"] == "facts"][-1]
    assert event["by"] == "sari"
    assert event["changed"]["country"] == ["hong_kong", "taiwan"]
    assert event["changed"]["gender"] == ["?", "?"], "the timeline does not repeat the gender"
    audit = [e for e in await desk.console.audit.recent(case_id=case.id) if e.action == "facts"]
    assert audit and "violations" in audit[0].detail and "female" not in audit[0].detail
    agencies = await desk.casework.agencies()
    assert agencies[0]["name"] == "PT Maju Jaya" and agencies[0]["licence"] == "KEP.123/2019"

    # What the vocabulary does not have is refused and changes nothing.
    for bad in (
        [("sector", "mining")],
        [("violation", "rudeness")],
        [("owed", "-5"), ("currency", "TWD")],
        [("owed", "100")],
        [("intent", "world_peace")],
    ):
        status, page, _ = await operator.post(f"/console/cases/{case.id}/facts", bad)
        assert status == 409 and "Not saved" in page, bad
    again = await desk.services.cases.get(case.id)
    assert again is not None and again.facts == saved.facts

    # The page shows the facts back, labelled.
    _status, page = await operator.get(f"/console/cases/{case.id}")
    assert "PT Maju Jaya" in page and "passport or documents held" in page


async def test_closing_asks_for_the_outcome_and_about_a_pending_referral(
    desk: Chat, operator: Operator
) -> None:
    case = await _emergency(desk)
    await operator.post(f"/console/cases/{case.id}/claim")
    await operator.post(f"/console/cases/{case.id}/refer", {"partner": "KDEI Taipei", "text": ""})
    close = {"status": "closed", "outcome": "referred_closed"}
    status, page, _ = await operator.post(f"/console/cases/{case.id}/status", close)
    assert status == 409 and "still waits for an answer" in page and 'id="close-anyway"' in page
    assert (await desk.services.cases.get(case.id)).is_open  # type: ignore[union-attr]
    status, page, _ = await operator.post(
        f"/console/cases/{case.id}/status", {**close, "anyway": "yes"}
    )
    assert status == 200 and "The case is closed" in page
    closed = await desk.services.cases.get(case.id)
    assert closed is not None and closed.outcome == "referred_closed" and closed.closed_at
    timeline = await desk.services.cases.timeline(case.id)
    assert timeline[-1]["kind"] == "status" and timeline[-1]["outcome"] == "referred_closed"

    await desk.casework.reopen(case.id, BOSS)
    reopened = await desk.services.cases.get(case.id)
    assert reopened is not None and reopened.outcome is None and reopened.closed_at is None


# -- the counters and the indexes --------------------------------------------------------

COUNTRIES = ("hong_kong", "taiwan", "malaysia", None)
SECTORS = ("domestic", "factory", "fishing", "")
VIOLATIONS = ("documents_held", "wages_withheld", "underpaid", "violence")


def _month(months_ago: int) -> float:
    return time.time() - months_ago * 31 * 86400


async def _seed(store: CaseStore, redis: Redis, count: int, rng: random.Random) -> list[Case]:
    """Cases opened in the last three months (through the store's own staging)."""
    made = []
    for i in range(count):
        case = Case(
            id=await store.new_id(),
            sender=f"{rng.choice(('webchat', 'telegram', 'whatsapp'))}:w{i}",
            category=rng.choice(("emergency", "complaint", "other")),
            intent="complaint_employer",
            priority=rng.choice(list(Priority)).value,
            country=rng.choice(COUNTRIES),
            locale="id",
            summary=f"summary {i} kata{i % 7}",
            created_at=_month(rng.randrange(3)) + i,
        )
        async with redis.pipeline(transaction=True) as pipe:
            store.stage_new(pipe, case)
            await pipe.execute()
        made.append(case)
    return made


async def _churn(store: CaseStore, cases: list[Case], rng: random.Random) -> None:
    """Every kind of change a case goes through, in a random order."""
    for case in cases:
        fresh = await store.get(case.id)
        assert fresh is not None
        case = fresh
        if rng.random() < 0.7:
            await store.assign(case, rng.choice(("ana", "dewi")), by="x")
        if rng.random() < 0.5:
            facts = {
                "sector": rng.choice(SECTORS),
                "violations": sorted(rng.sample(VIOLATIONS, rng.randrange(3))),
                "against": "agency",
                "agency": rng.choice(("PT A", "PT B")),
                "currency": "HKD",
                "owed": float(rng.randrange(0, 5000)),
                "recovered": float(rng.randrange(0, 100)) + 0.25,
            }
            await store.set_facts(case, {k: v for k, v in facts.items() if v}, {}, by="x")
        if rng.random() < 0.3:
            await store.refer(case, rng.choice(("KDEI", "HELP")), "", by="x")
            await store.referral_outcome(case, 0, "accepted", by="x")
        if rng.random() < 0.2:
            case.shared_with.append("dewi")
            await store.save(case)
        if rng.random() < 0.4:
            await store.set_status(case, Status.CLOSED, by="x", outcome="resolved_paid")
            if rng.random() < 0.5:
                await store.rate(case, rng.randint(1, 5))
        if not case.is_open and rng.random() < 0.25:
            await store.reopen(case, by="x")


async def _recount(store: CaseStore, period: Period) -> Counter[str]:
    """The counters, recounted from every case record."""
    counted: Counter[str] = Counter()
    months = set(period.months)
    for case in await store.all():
        row = row_of(case)
        month, country, sector, channel = row.dimensions
        if month not in months:
            continue
        if period.country not in (ANY, country) or period.sector not in (ANY, sector):
            continue
        if period.channel not in (ANY, channel):
            continue
        for name, amount in row.fields:
            counted[name] += amount
    return counted


def _summed(per_month: dict[str, dict[str, float]]) -> Counter[str]:
    total: Counter[str] = Counter()
    for counts in per_month.values():
        for name, value in counts.items():
            total[name] += int(value)
    return +total


async def test_the_counters_always_equal_a_recount_and_reindex_rebuilds_them(desk: Chat) -> None:
    store, rng = desk.services.cases, random.Random(21)
    cases = await _seed(store, desk.redis, 60, rng)
    await _churn(store, cases, rng)
    start, end = month_of(_month(3)), month_of(time.time())
    periods = [
        Period(start, end),
        Period(start, end, country="hong_kong"),
        Period(start, end, sector="domestic", channel="telegram"),
        Period(end, end, country="taiwan", channel="whatsapp"),
    ]
    for period in periods:
        counted = await figures(store.index, period)
        assert _summed(counted.per_month) == +(await _recount(store, period)), period

    # Money is exact to the cent.
    total = await figures(store.index, periods[0])
    owed = sum(float(c.facts.get("owed", 0)) for c in await store.all())
    assert sum(r["owed"] for r in total.money_rows()) == pytest.approx(owed, abs=0.001)

    before = {p: _summed((await figures(store.index, p)).per_month) for p in periods}
    await desk.redis.hset(desk.helpline.keys.stats(f"{end}:*:*:*"), "cases", 999)  # drifted
    assert await store.reindex() == 60
    for period in periods:
        assert _summed((await figures(store.index, period)).per_month) == before[period]


async def test_the_case_list_from_the_indexes_equals_filtering_every_case(desk: Chat) -> None:
    store, rng = desk.services.cases, random.Random(7)
    cases = await _seed(store, desk.redis, 80, rng)
    await _churn(store, cases, rng)
    everything = await store.all()
    filters = [
        CaseFilter(),
        CaseFilter(status="open"),
        CaseFilter(status="closed", country="hong_kong"),
        CaseFilter(status="open", priority="critical", category="emergency"),
        CaseFilter(status="", assignee="none"),
        CaseFilter(status="open", assignee="ana"),
        CaseFilter(status="open", visible_to="dewi"),
        CaseFilter(status="", visible_to="ana", country="taiwan"),
        CaseFilter(status="", text="kata3"),
        CaseFilter(status="open", assignee="none", country="taiwan"),
        CaseFilter(status="open", priority="high"),
        CaseFilter(status="", text=everything[7].id),
        CaseFilter(status="open", text=everything[7].id[:-2].lower()),
    ]
    for case_filter in filters:
        expected = [c.id for c in everything if case_filter.matches(c)]
        page, total = await store.search(case_filter, limit=10, offset=5)
        assert total == len(expected), case_filter
        assert [c.id for c in page] == expected[5:15], case_filter


# -- sharing with partners ---------------------------------------------------------------


def test_suppression_leaves_no_cell_under_5_and_none_that_totals_give_away() -> None:
    rng = random.Random(5)
    for _round in range(300):
        rows, columns = rng.randrange(1, 6), rng.randrange(1, 6)
        grid = [
            [rng.choice((0, 1, 2, 4, 5, 6, 9, 30)) for _c in range(columns)] for _r in range(rows)
        ]
        full = [[*row, sum(row)] for row in grid]
        full.append([sum(col) for col in zip(*full, strict=True)])
        shown = suppress(full)
        _check_suppressed(full, shown)


def _unsuppressed(table: Table, data: Figures, dimension: str) -> list[list[int]]:
    """The table's counts before suppression, recomputed from the counters."""
    grid = [
        [int(counts.get(f"{dimension}:{v}", 0)) for v in table.columns]
        for counts in data.per_month.values()
    ]
    full = [[*row, sum(row)] for row in grid]
    full.append([sum(col) for col in zip(*full, strict=True)])
    return full


def _check_suppressed(full: list[list[int]], shown: list[list[object]]) -> None:
    for r, row in enumerate(shown):
        for c, cell in enumerate(row):
            assert cell == SUPPRESSED or (cell == full[r][c] and full[r][c] >= SUPPRESS_BELOW)
    pairs = [list(zip(full[r], shown[r], strict=True)) for r in range(len(full))]
    lines = pairs + [list(col) for col in zip(*pairs, strict=True)]
    for line in lines:
        secret = [value for value, cell in line if cell == SUPPRESSED]
        if secret and len(secret) < len(line):
            # The total minus the shown cells is the hidden cells' sum: never one cell,
            # and never a sum that pins them under the threshold.
            assert len(secret) >= 2 and sum(secret) >= SUPPRESS_BELOW, line


async def test_no_export_reveals_a_cell_under_the_threshold(desk: Chat, tmp_path: Path) -> None:
    store, rng = desk.services.cases, random.Random(11)
    cases = await _seed(store, desk.redis, 70, rng)
    await _churn(store, cases, rng)
    supervisor = await Operator.signed_in(desk, "susi", Role.SUPERVISOR)
    try:
        start, end = month_of(_month(3)), month_of(time.time())
        query = f"from={start}&to={end}"
        for dimension in ("category", "country", "sector", "violation", "outcome", "channel"):
            status, body = await supervisor.get(
                f"/console/reports/export.csv?by={dimension}&{query}"
            )
            assert status == 200, body
            table = list(csv.reader(io.StringIO(body)))
            header, rows = table[0], table[1:]
            assert header[0] == "month" and header[-1] == "total"
            assert rows[-1][0] == "total" and all(len(r[0]) == 7 for r in rows[:-1])
            data = await figures(store.index, Period(start, end))
            full = [[int(x) if x != SUPPRESSED else -1 for x in r[1:]] for r in rows]
            truth = export_table(data, dimension)
            assert len(full) == len(truth.rows)
            # Every shown cell is at least 5; a row or column never hides exactly one.
            for row in full:
                assert all(x == -1 or x >= SUPPRESS_BELOW for x in row)
            counts = _unsuppressed(truth, data, dimension)
            published: list[list[object]] = [
                [x if x == SUPPRESSED else int(x) for x in r[1:]] for r in rows
            ]
            _check_suppressed(counts, published)
            assert "PT A" not in body and "summary" not in body and "webchat:" not in body
        async with supervisor.session.get(
            f"{desk.base}/console/reports/export.xlsx?{query}"
        ) as response:
            assert response.status == 200
            book = zipfile.ZipFile(io.BytesIO(await response.read()))
        sheets = [n for n in book.namelist() if n.startswith("xl/worksheets/sheet")]
        assert len(sheets) == 7
        assert "PT A" not in book.read("xl/sharedStrings.xml").decode()
        audit = [e for e in await desk.console.audit.recent(user="susi") if e.action == "export"]
        assert len(audit) == 7
    finally:
        await supervisor.close()
    stranger = Operator.anonymous(desk, "nobody")
    try:
        status, _page = await stranger.get(f"/console/reports/export.csv?by=country&{query}")
        assert status == 303, "no figures without signing in"
    finally:
        await stranger.close()


async def test_reports_page_charts_and_the_monthly_report(
    desk: Chat, operator: Operator, tmp_path: Path
) -> None:
    store, rng = desk.services.cases, random.Random(3)
    cases = await _seed(store, desk.redis, 30, rng)
    await _churn(store, cases, rng)
    assert (await operator.get("/console/reports"))[0] == 403, "operators see no reports"
    supervisor = await Operator.signed_in(desk, "susi", Role.SUPERVISOR)
    try:
        status, page = await supervisor.get("/console/reports?country=hong_kong")
        assert status == 200
        data = await figures(
            store.index, Period(month_of(_month(11)), month_of(time.time()), "hong_kong")
        )
        assert f'id="total-cases">{int(data.total("cases"))}<' in page
        assert "/console/reports/chart/category.svg?country=hong_kong" in page
        counts, average = data.ratings()
        if average is not None:
            assert f"Average {average:.1f} of 5, from {sum(counts.values())} answers" in page
        for chart in ("category", "country", "sector", "violation", "outcome", "agencies"):
            async with supervisor.session.get(
                f"{desk.base}/console/reports/chart/{chart}.svg?country=hong_kong"
            ) as response:
                assert response.status == 200 and response.content_type == "image/svg+xml"
                assert b"<svg" in await response.read()
        assert (await supervisor.get("/console/reports?from=2026-13"))[0] == 400
    finally:
        await supervisor.close()
    month = month_of(time.time())
    settings = desk.helpline.settings
    env = {
        "HELPLINE_REDIS_URL": settings.redis_url or "",
        "HELPLINE_KEY_PREFIX": settings.key_prefix,
        "HELPLINE_DATA_DIR": str(tmp_path / "data"),
        "PATH": "/usr/bin:/bin",
        "MPLCONFIGDIR": str(tmp_path / "mpl"),
    }
    for kind in ("md", "pdf"):
        out = tmp_path / f"report.{kind}"
        argv = ["report", "--month", month, "--format", kind, "--lang", "en", "--out", str(out)]
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "bot.cli", *argv],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        if kind == "pdf":
            assert out.read_bytes().startswith(b"%PDF")
        else:
            text = out.read_text()
            this_month = await figures(store.index, Period(month, month))
            assert f"{this_month.total('cases'):,.0f} cases opened" in text
            assert "## Agency watch" in text


def test_an_xlsx_export_holds_the_suppressed_tables() -> None:
    from bot.reports import xlsx

    period = Period("2026-10", "2026-11")
    data = Figures(
        period,
        {
            "2026-10": {"country:hong_kong": 12, "country:taiwan": 3, "country:malaysia": 9},
            "2026-11": {"country:hong_kong": 7, "country:taiwan": 8, "country:malaysia": 1},
        },
    )
    book = xlsx([export_table(data, "country")])
    with zipfile.ZipFile(io.BytesIO(book)) as opened:
        strings = opened.read("xl/sharedStrings.xml").decode()
        sheet = opened.read("xl/worksheets/sheet1.xml").decode()
    assert SUPPRESSED.replace("<", "&lt;") in strings
    # Taiwan's 3 and Malaysia's 1 are hidden, and with them enough cells of their rows
    # and columns (Hong Kong's 7 and then 12 among them) that no total gives them away.
    numbers = {int(n) for n in re.findall(r'<c r="[A-Z]+\d+"><v>(\d+)</v>', sheet)}
    assert numbers == {24, 16, 19, 11, 40}, "Hong Kong's, Taiwan's and the grand totals stay"


async def test_a_referral_packet_needs_the_workers_consent_and_carries_what_was_chosen(
    desk: Chat, operator: Operator
) -> None:
    case = await _emergency(desk)
    await operator.post(f"/console/cases/{case.id}/claim")
    await operator.post(
        f"/console/cases/{case.id}/facts",
        [("sector", "domestic"), ("violation", "documents_held"), ("country", "hong_kong")],
    )
    packet = [("partner", "KJRI Hong Kong"), ("part", "facts"), ("text", "please call her")]
    status, page, _ = await operator.post(f"/console/cases/{case.id}/packet.pdf", packet)
    assert status == 403 and "has not agreed" in page
    status, page, _ = await operator.post(
        f"/console/cases/{case.id}/consent", {"partner": "KJRI Hong Kong"}
    )
    assert status == 200 and "consent was recorded" in page and "Make the packet" in page
    async with operator.session.post(
        f"{desk.base}/console/cases/{case.id}/packet.pdf",
        data=[*packet, ("csrf_token", operator.csrf)],
    ) as response:
        assert response.status == 200 and response.content_type == "application/pdf"
        assert (await response.read()).startswith(b"%PDF")
    with use_locale("en"):
        sections = dict(
            await desk.casework.referral_packet(case.id, SARI, "KJRI Hong Kong", {"facts"}, "")
        )
    assert "passport or documents held" in sections["Case facts"]
    assert "What the worker told us first" not in sections, "only what the operator chose"
    timeline = await desk.services.cases.timeline(case.id)
    assert any(e["kind"] == "packet" and e["partner"] == "KJRI Hong Kong" for e in timeline)
    audit = {e.action for e in await desk.console.audit.recent(case_id=case.id)}
    assert {"packet", "packet_refused", "consent"} <= audit


async def test_cases_stored_before_the_indexes_are_indexed_when_the_helpline_starts(
    desk: Chat,
) -> None:
    store = desk.services.cases
    cases = await _seed(store, desk.redis, 12, random.Random(1))
    await store.index.clear()  # as a helpline before issue 21 left them
    assert await store.index.missing()
    assert (await store.search(CaseFilter(status="open")))[1] == 0
    async with Chat.serve(desk.helpline.settings) as again:
        found = await eventually(
            lambda: again.services.cases.search(CaseFilter(status="open")),
            lambda result: result[1] == len(cases),
            what="the cases indexed at start",
        )
    assert {c.id for c in found[0]} == {c.id for c in cases}
    assert not await store.index.missing()
