"""GET /metrics (issue 20): Prometheus figures of a running helpline, counts only."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.chat import Chat
from tests.conftest import make_settings, nlu_nowhere


async def _samples(chat: Chat, headers: dict[str, str] | None = None) -> dict[str, float]:
    async with chat.session.get(f"{chat.base}/metrics", headers=headers or {}) as response:
        assert response.status == 200, await response.text()
        text = await response.text()
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            found[f"{sample.name}{{{labels}}}"] = sample.value
    return found


async def test_the_metrics_count_messages_replies_the_nlu_and_the_queue(chat: Chat) -> None:
    worker = await chat.new_worker()
    await worker.say("halo")
    await worker.say("majikan pukul saya, tolong")
    found = await _samples(chat)
    assert found["helpline_messages_in_total{channel=webchat}"] == 2
    assert found["helpline_messages_out_total{channel=webchat}"] >= 2
    assert found["helpline_reply_seconds_count{channel=webchat}"] == 2
    nlu = [v for k, v in found.items() if k.startswith("helpline_nlu_seconds_count{server=")]
    assert nlu and sum(nlu) >= 2
    assert found["helpline_queue_depth{priority=critical}"] == 1
    assert found["helpline_oldest_unclaimed_emergency_seconds{}"] > 0
    assert "helpline_open_streams{kind=webchat}" in found
    # Counts only: nothing a worker wrote.
    async with chat.session.get(f"{chat.base}/metrics") as response:
        assert "pukul" not in await response.text()


async def test_with_a_token_the_metrics_need_it(redis_url: str, key_prefix: str) -> None:
    settings = make_settings(redis_url, nlu_nowhere(), key_prefix, metrics_token="scrape-me")
    async with Chat.serve(settings) as chat:
        async with chat.session.get(f"{chat.base}/metrics") as response:
            assert response.status == 401
        assert "helpline_redis_errors_total{}" in await _samples(
            chat, {"Authorization": "Bearer scrape-me"}
        )
