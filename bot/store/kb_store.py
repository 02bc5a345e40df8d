"""The knowledge base as editors keep it: in Redis, with drafts, publishing and history.

An entry is one answer ("answer/<topic>/<country>/<lang>"), one country's referral
record ("referral/<country>") or one figure an answer states ("figure/<id>"). Each has a
published content, maybe a draft, a version number that every save raises (two editors
saving the same entry: the second, holding an old version, is told), and a history of
every draft, publish, rollback and import with who and when. The bot serves only
published content; publishing tells every bot process to reload (an event), so the new
text is served at once.

The kb/ files stay the seed and the exchange format: ``import_files`` fills the store
(never over an entry edited in the console since the last import, unless forced), and
``export_files`` writes the published content back as kb/ files, for review in git.
Figures travel the same way (kb/figures.yml); they are edited in the file, not in the
console.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from redis.asyncio import Redis
from redis.exceptions import WatchError

from bot.kb import KB_DIR, KnowledgeBase, figures_named, load_figures
from bot.store.events import Events
from bot.store.keys import Keys

HISTORY_KEPT = 200


class StaleVersion(Exception):
    """Someone saved this entry since the editor opened it."""

    def __init__(self, by: str, at: float) -> None:
        super().__init__(f"changed meanwhile by {by}")
        self.by, self.at = by, at


class ReviewRequired(Exception):
    """Publishing needs a second person: the one who wrote the draft cannot publish it."""


@dataclass
class Entry:
    key: str
    published: dict[str, Any] | None = None
    published_by: str = ""
    published_at: float = 0.0
    # When the published content last changed (for "stale" translations).
    changed_at: float = 0.0
    draft: dict[str, Any] | None = None
    draft_by: str = ""
    draft_at: float = 0.0
    version: int = 0
    # "import" while the entry is as the files had it; "console" once edited there.
    origin: str = "import"
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def state(self) -> str:
        if self.published is None and self.draft is None:
            return "missing"
        if self.draft is not None and self.draft != self.published:
            return "draft"
        return "published"


def answer_key(topic: str, country: str, lang: str) -> str:
    return f"answer/{topic}/{country}/{lang}"


def referral_key(country: str) -> str:
    return f"referral/{country}"


def figure_key(figure_id: str) -> str:
    return f"figure/{figure_id}"


class KBStore:
    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        *,
        review_required: bool = False,
        referral_review_required: bool = True,
    ) -> None:
        """``review_required``: a draft's author may not publish it, a second editor must.
        ``referral_review_required``: the same for the referral directory - the emergency
        numbers - on by default (a wrong number is worst in an emergency)."""
        self._redis, self._keys = redis, keys
        self._events = Events(redis, keys)
        self.review_required = review_required
        self.referral_review_required = referral_review_required

    def _k(self, *parts: str) -> str:
        return self._keys.kb(*parts)

    async def get(self, key: str, with_history: bool = False) -> Entry:
        raw = await self._redis.get(self._k("entry", key))
        entry = Entry(key)
        if raw:
            data = json.loads(raw)
            entry = Entry(key, **{k: v for k, v in data.items() if k != "history"})
        if with_history:
            entry.history = [
                json.loads(h) for h in await self._redis.lrange(self._k("history", key), 0, -1)
            ]
        return entry

    async def all(self) -> dict[str, Entry]:
        members: set[str] = await self._redis.smembers(self._k("keys"))  # type: ignore[assignment]
        keys = sorted(members)
        if not keys:
            return {}
        raws = await self._redis.mget([self._k("entry", k) for k in keys])
        found = {}
        for key, raw in zip(keys, raws, strict=True):
            if raw:
                data = json.loads(raw)
                found[key] = Entry(key, **{k: v for k, v in data.items() if k != "history"})
        return found

    async def _write(
        self, entry: Entry, expected_version: int | None, event: dict[str, Any]
    ) -> None:
        """Saves the entry if nobody saved it since ``expected_version`` (atomic)."""
        key = self._k("entry", entry.key)
        async with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    current = json.loads(raw)["version"] if raw else 0
                    if expected_version is not None and current != expected_version:
                        stored = json.loads(raw) if raw else {}
                        raise StaleVersion(
                            stored.get("draft_by") or stored.get("published_by") or "?",
                            max(stored.get("draft_at", 0), stored.get("published_at", 0)),
                        )
                    entry.version = current + 1
                    data = {k: v for k, v in entry.__dict__.items() if k not in ("key", "history")}
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.set(key, json.dumps(data, ensure_ascii=False))
                    pipe.sadd(self._k("keys"), entry.key)
                    history = self._k("history", entry.key)
                    record = {**event, "version": entry.version, "at": time.time()}
                    pipe.lpush(history, json.dumps(record, ensure_ascii=False))
                    pipe.ltrim(history, 0, HISTORY_KEPT - 1)
                    await pipe.execute()
                    return
                except WatchError:
                    continue

    async def save_draft(self, key: str, content: dict[str, Any], by: str, version: int) -> Entry:
        entry = await self.get(key)
        entry.draft, entry.draft_by, entry.draft_at = content, by, time.time()
        entry.origin = "console"
        await self._write(entry, version, {"action": "draft", "by": by, "content": content})
        return entry

    async def publish(self, key: str, by: str, version: int) -> Entry:
        entry = await self.get(key)
        if entry.draft is None:
            return entry
        review = self.review_required or (
            self.referral_review_required and key.startswith("referral/")
        )
        if review and entry.draft_by == by:
            raise ReviewRequired(by)
        await self._set_published(entry, entry.draft, by, version, "publish")
        return entry

    async def rollback(self, key: str, to_version: int, by: str, version: int) -> Entry:
        """Publishes the content an earlier version had (a new version, in the history)."""
        entry = await self.get(key, with_history=True)
        old = next((h for h in entry.history if h["version"] == to_version), None)
        if old is None or old.get("content") is None:
            raise KeyError(f"no version {to_version} of {key}")
        entry.history = []
        await self._set_published(entry, old["content"], by, version, f"rollback to {to_version}")
        return entry

    async def _set_published(
        self, entry: Entry, content: dict[str, Any], by: str, version: int, action: str
    ) -> None:
        now = time.time()
        if content != entry.published:
            entry.changed_at = now
        entry.published, entry.published_by, entry.published_at = content, by, now
        entry.draft, entry.draft_by, entry.draft_at = None, "", 0.0
        entry.origin = "console"
        await self._write(entry, version, {"action": action, "by": by, "content": content})
        await self._redis.incr(self._k("generation"))
        await self._events.publish("kb", key=entry.key)

    # -- the bot's view -----------------------------------------------------------------

    async def knowledge_base(self) -> KnowledgeBase | None:
        """Everything published, as the bot serves it; None while the store is empty."""
        entries = await self.all()
        if not entries:
            return None
        titles = json.loads(await self._redis.get(self._k("titles")) or "{}")
        topics: dict[str, dict[str, Any]] = {
            t: {"topic": t, "title": names, "answers": {}} for t, names in titles.items()
        }
        countries: dict[str, Any] = {}
        figures: dict[str, Any] = {}
        for key, entry in entries.items():
            if entry.published is None:
                continue
            parts = key.split("/")
            if parts[0] == "answer":
                _, topic, country, lang = parts
                doc = topics.setdefault(topic, {"topic": topic, "title": {}, "answers": {}})
                doc["answers"].setdefault(country, {})[lang] = entry.published
            elif parts[0] == "referral":
                countries[parts[1]] = entry.published
            elif parts[0] == "figure":
                figures[parts[1]] = entry.published
        return KnowledgeBase.from_data(list(topics.values()), countries, figures)

    async def generation(self) -> int:
        return int(await self._redis.get(self._k("generation")) or 0)

    # -- the files ----------------------------------------------------------------------

    async def import_files(self, root: Path = KB_DIR, force: bool = False) -> ImportReport:
        """The kb/ files into the store. An entry edited in the console since it was last
        imported is kept (and reported), unless ``force``."""
        report = ImportReport()
        topics = [
            yaml.safe_load(p.read_text("utf-8")) for p in sorted((root / "topics").glob("*.yml"))
        ]
        titles = {doc["topic"]: dict(doc.get("title") or {}) for doc in topics}
        await self._redis.set(self._k("titles"), json.dumps(titles, ensure_ascii=False))
        contents: dict[str, dict[str, Any]] = {}
        for doc in topics:
            for country, by_lang in (doc.get("answers") or {}).items():
                for lang, content in (by_lang or {}).items():
                    contents[answer_key(doc["topic"], country, lang)] = _plain(content)
        ref_path = root / "referrals.yml"
        if ref_path.exists():
            directory = yaml.safe_load(ref_path.read_text("utf-8")) or {}
            for country, info in (directory.get("countries") or {}).items():
                contents[referral_key(country)] = _plain(info)
        for figure_id, data in load_figures(root).items():
            contents[figure_key(figure_id)] = _plain(data)
        # One time for the whole import, so no imported translation looks stale.
        now = time.time()
        for key, content in contents.items():
            entry = await self.get(key)
            if entry.published == content:
                report.unchanged += 1
                continue
            if entry.origin == "console" and not force:
                report.kept.append(key)
                continue
            if entry.published is not None:
                report.updated += 1
            else:
                report.added += 1
            entry.published, entry.published_by, entry.published_at = content, "import", now
            entry.changed_at = now
            entry.draft, entry.origin = None, "import"
            await self._write(entry, None, {"action": "import", "by": "import", "content": content})
        if (root / "figures.yml").exists():
            await self._retire_figures(set(contents), report)
        await self._redis.incr(self._k("generation"))
        await self._events.publish("kb", key="*")
        return report

    async def _retire_figures(self, imported: set[str], report: ImportReport) -> None:
        """Figures are edited in the file only, so one gone from it is gone from the store,
        unless an answer (edited in the console) still names it: removing it then would
        show the worker a bare placeholder."""
        entries = await self.all()
        named: set[str] = set()
        for key, entry in entries.items():
            for content in (entry.published, entry.draft):
                if key.startswith("answer/") and isinstance(content, dict):
                    named |= figures_named(str(content.get("text", "")))
        for key in sorted(entries):
            if not key.startswith("figure/") or key in imported:
                continue
            if key.removeprefix("figure/") in named:
                report.still_named.append(key)
                continue
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.delete(self._k("entry", key), self._k("history", key))
                pipe.srem(self._k("keys"), key)
                await pipe.execute()
            report.removed.append(key)

    async def export_files(self, root: Path) -> int:
        """The published content as kb/ files (topics/<topic>.yml, referrals.yml,
        figures.yml)."""
        entries = await self.all()
        titles = json.loads(await self._redis.get(self._k("titles")) or "{}")
        topics: dict[str, dict[str, Any]] = {}
        countries: dict[str, Any] = {}
        figures: dict[str, Any] = {}
        for key, entry in sorted(entries.items()):
            if entry.published is None:
                continue
            parts = key.split("/")
            if parts[0] == "answer":
                _, topic, country, lang = parts
                doc = topics.setdefault(
                    topic, {"topic": topic, "title": titles.get(topic, {}), "answers": {}}
                )
                doc["answers"].setdefault(country, {})[lang] = entry.published
            elif parts[0] == "figure":
                figures[parts[1]] = entry.published
            else:
                countries[parts[1]] = entry.published
        (root / "topics").mkdir(parents=True, exist_ok=True)
        header = "# Exported from the helpline's console by `helpline kb export`.\n"
        for topic, doc in topics.items():
            text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=100)
            (root / "topics" / f"{topic}.yml").write_text(header + text, "utf-8")
        if countries:
            text = yaml.safe_dump({"countries": countries}, allow_unicode=True, sort_keys=False)
            (root / "referrals.yml").write_text(header + text, "utf-8")
        if figures:
            text = yaml.safe_dump({"figures": figures}, allow_unicode=True, sort_keys=False)
            (root / "figures.yml").write_text(header + text, "utf-8")
        return len(topics) + (1 if countries else 0) + (1 if figures else 0)


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    # Entries edited in the console since the last import: not overwritten.
    kept: list[str] = field(default_factory=list)
    # Figures no longer in figures.yml: removed, or kept while an answer still names them.
    removed: list[str] = field(default_factory=list)
    still_named: list[str] = field(default_factory=list)


def _plain(data: Any) -> Any:
    """YAML values as JSON keeps them (dates become ISO strings)."""
    return json.loads(json.dumps(data, default=str, ensure_ascii=False))
