"""The NLU client against the real Rasa server with the trained model."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from bot.net import free_port
from bot.nlu.client import NLUClient
from bot.nlu.taxonomy import ALL_INTENTS, UNKNOWN
from bot.nlu_model.rasa_env import RasaProject, rasa_server

pytestmark = pytest.mark.rasa

HELDOUT = Path(__file__).parent / "data" / "heldout.yml"


@pytest.fixture
async def client(rasa_url: str) -> AsyncIterator[NLUClient]:
    async with NLUClient(rasa_url) as nlu:
        yield nlu


async def test_server_is_ready(client: NLUClient) -> None:
    assert await client.is_ready()


async def test_the_server_answers_with_the_emergency_score(client: NLUClient) -> None:
    """nlu_pipeline/emergency.py runs inside the stock Rasa server, next to DIET."""
    scores = {
        text: (await client.parse_raw(text))["emergency_score"]
        for text in (
            "muka sy bengkak abis ditonjok suami nyonya semalem",
            "my employer locked me in and took my passport",
            "brp gaji minimum di hongkong skrg?",
            "halo kak",
        )
    }
    assert all(0.0 <= value <= 1.0 for value in scores.values()), scores
    emergencies, others = list(scores.values())[:2], list(scores.values())[2:]
    assert min(emergencies) > 0.5 > max(others), scores


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("majikan sy mukul sy tiap hari", "emergency"),
        ("sy gak boleh keluar rumah, hp diambil nyonya", "emergency"),
        ("gaji sy blm dibayar 3 bulan sm majikan", "complaint"),
        ("brp gaji minimum di hongkong skrg?", "rights_question"),
        ("tolong kirim resep rendang dong", "other"),
        ("pukul berapa skrg di jakarta", "other"),
        ("my employer has not paid my salary for two months", "complaint"),
        ("how many rest days do I get in singapore", "rights_question"),
    ],
)
async def test_classifies_typical_messages(client: NLUClient, text: str, category: str) -> None:
    result = await client.classify(text)
    assert result.nlu_available
    assert result.category == category, result
    assert result.intent in ALL_INTENTS
    assert 0.0 <= result.confidence <= 1.0


async def test_country_is_reported(client: NLUClient) -> None:
    result = await client.classify("brp libur sy di Hong Kong sebulan")
    assert result.country == "hong_kong"
    result = await client.classify("gaji di taipei brp ya")
    assert result.country == "taiwan"
    result = await client.classify("halo kak")
    assert result.country is None


@pytest.mark.parametrize(
    "text",
    ["", "   \t ", "a" * 10_000, "😭😭😭🙏", "你好\uff0c我想问一下", "مرحبا كيف حالك", "??!!..."],
)
async def test_bad_input_is_out_of_scope(client: NLUClient, text: str) -> None:
    result = await client.classify(text)
    assert (result.category, result.emergency) == ("other", False)
    assert result.intent == "out_of_scope" or result.uncertain
    assert result.as_json()["text"] == text


async def test_long_message_is_cut_for_the_model_but_read_by_the_lexicon(
    client: NLUClient,
) -> None:
    text = "cerita panjang soal keluarga di kampung. " * 300 + "tadi sy dipukul majikan"
    result = await client.classify(text)
    assert result.emergency and result.lexicon == ["dipukul"]


async def test_non_latin_crisis_word_still_counts(client: NLUClient) -> None:
    result = await client.classify("救命")
    assert result.emergency


async def test_heldout_messages_generalise(client: NLUClient) -> None:
    """Messages written apart from nlu/ must be classified about as well as cross-validation."""
    messages = yaml.safe_load(HELDOUT.read_text("utf-8"))["messages"]
    results = [await client.classify(m["text"]) for m in messages]
    emergencies = [
        r for m, r in zip(messages, results, strict=True) if m["category"] == "emergency"
    ]
    others = [r for m, r in zip(messages, results, strict=True) if m["category"] != "emergency"]
    recall = sum(r.emergency for r in emergencies) / len(emergencies)
    false_alarms = sum(r.emergency for r in others) / len(others)
    accuracy = sum(
        r.category == m["category"] for m, r in zip(messages, results, strict=True)
    ) / len(messages)
    assert recall >= 0.95, recall
    assert false_alarms <= 0.08, false_alarms
    assert accuracy >= 0.85, accuracy


async def test_outage_still_reports_the_lexicon_verdict(
    project: RasaProject, trained_model: Path
) -> None:
    """When the Rasa server stops, the client says so and still flags emergencies."""
    with rasa_server(project, free_port(), model=trained_model) as url:
        async with NLUClient(url, timeout=2.0) as client:
            before = await client.classify("gaji sy blm dibayar")
            assert before.nlu_available
    async with NLUClient(url, timeout=2.0) as client:
        assert not await client.is_ready()
        calm = await client.classify("gaji sy blm dibayar")
        assert (calm.intent, calm.nlu_available, calm.emergency) == (UNKNOWN, False, False)
        crisis = await client.classify("tolong sy dikurung majikan")
        assert not crisis.nlu_available
        assert crisis.emergency and crisis.emergency_reason == "lexicon"
        assert crisis.category == "emergency"
