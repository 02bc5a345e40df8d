"""Typed reading of Redis stream replies (the client is made with decode_responses=True)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

StreamEntry = tuple[str, dict[str, Any]]


def _as_is(data: str) -> str:
    return data


def entries(raw: Any, unseal: Callable[[str], str] = _as_is) -> list[StreamEntry]:
    """[(entry id, decoded "data" field)] from an XRANGE-style list; deleted entries skipped.
    ``unseal`` opens a sealed field (bot/store/sealing.py)."""
    found: list[StreamEntry] = []
    for entry_id, fields in raw or []:
        if fields and "data" in fields:
            found.append((str(entry_id), json.loads(unseal(fields["data"]))))
    return found


def read_entries(raw: Any, unseal: Callable[[str], str] = _as_is) -> list[StreamEntry]:
    """The same from an XREAD/XREADGROUP reply: [[stream, entries], ...]."""
    return [item for _, stream_entries in raw or [] for item in entries(stream_entries, unseal)]
