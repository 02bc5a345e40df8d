"""The low findings of issue 18, replayed: the chat page's CSP and framing, the Server
header, deeply nested JSON on every JSON endpoint, and WhatsApp replays and status
callbacks from outside the duplicate window."""

from __future__ import annotations

import asyncio
import io
import time

import pytest

from tests.graph_standin import encode, msg, payload, sign, text, value
from tests.harness import Helpline

pytestmark = pytest.mark.rasa

DEEP = b"[" * 100_000 + b"]" * 100_000


async def test_the_chat_page_runs_only_its_own_script_and_is_never_framed(wa: Helpline) -> None:
    async with wa.chat.session.get(f"{wa.chat.base}/chat") as response:
        policy = response.headers["Content-Security-Policy"]
        page = await response.text()
        server = response.headers.get("Server", "")
    assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
    nonce = policy.split("'nonce-")[1].split("'")[0]
    assert f'<script nonce="{nonce}">' in page
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "aiohttp" not in server and "Python" not in server and server


async def test_deeply_nested_json_is_a_400_everywhere(wa: Helpline) -> None:
    chat = wa.chat
    worker = await chat.new_worker()
    async with chat.session.post(
        f"{chat.base}/api/chat/messages",
        data=io.BytesIO(b'{"text": ' + b"[" * 30_000 + b"]" * 30_000 + b"}"),
        headers={"Authorization": f"Bearer {worker.token}", "Content-Type": "application/json"},
    ) as response:
        assert response.status in (400, 413)
    assert await wa.post(DEEP) == 400


async def test_whatsapp_replays_and_unknown_status_callbacks_are_not_taken(wa: Helpline) -> None:
    worker = "6281355500001"
    old = msg(worker, "text", text={"body": "halo dari masa lalu"})
    old["timestamp"] = str(int(time.time()) - 20 * 86400)
    mark = await wa.says(old)
    await asyncio.sleep(0.3)  # silence: a replayed message must get no answer
    assert [b for b in wa.whatsapp.sent[mark:] if b["to"] == worker] == []
    unknown = {"id": "wamid.never-sent", "status": "read", "timestamp": str(int(time.time())),
               "recipient_id": worker}  # fmt: skip
    data = payload(value(statuses=[unknown]))
    assert await wa.post(data, sign(encode(data))) == 200
    await asyncio.sleep(0.3)  # silence: an unknown status must not be stored
    keys = wa.chat.helpline.keys
    assert not await wa.chat.redis.exists(keys.whatsapp_status("wamid.never-sent"))
    # A fresh message from the same number is answered as usual.
    mark = await wa.says(text(worker, "halo"))
    await wa.whatsapp.wait_for(lambda b: b["to"] == worker, after=mark)
