"""Typed reading of Redis stream replies (the client is made with decode_responses=True)."""

from __future__ import annotations

import json
from typing import Any

StreamEntry = tuple[str, dict[str, Any]]


def entries(raw: Any) -> list[StreamEntry]:
    """[(entry id, decoded "data" field)] from an XRANGE-style list; deleted entries skipped."""
    found: list[StreamEntry] = []
    for entry_id, fields in raw or []:
        if fields and "data" in fields:
            found.append((str(entry_id), json.loads(fields["data"])))
    return found


def read_entries(raw: Any) -> list[StreamEntry]:
    """The same from an XREAD/XREADGROUP reply: [[stream, entries], ...]."""
    return [item for _, stream_entries in raw or [] for item in entries(stream_entries)]
