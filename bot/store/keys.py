"""Every Redis key the helpline uses comes from here, under one prefix."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

# The keys that live without a TTL, by their first two parts after the prefix, and the
# rule that bounds each instead (tests/test_key_lifetimes.py holds every other key to a
# TTL; the README's "Redis memory" section lists them).
RETAINED = {
    "case:*": "a case record and its timeline: reduced to the anonymous record "
    "HELPLINE_CASE_RETENTION_DAYS after closing (bot/store/retention.py)",
    "case:counter": "one counter per year",
    "cases:all": "one id per case (the anonymous record stays for the figures)",
    "cases:sender": "a worker's case ids: removed when the worker erases their data",
    "cases:open-critical": "open emergencies only: an id leaves when its case closes",
    "cases:word": "the blind index of words said in cases: an id leaves with the case's "
    "timeline (erasure, retention)",
    "cases:due": "open cases with a follow-up date: an id leaves when its case closes",
    "cases:idx": "case-list indexes: one id per case and dimension, moved as the case "
    "changes (rebuilt by `helpline reindex`)",
    "stats:*": "the reports' counters per month and filter, and each case's row of "
    "contributions: anonymous counts, rebuilt by `helpline reindex`",
    "agencies": "recruitment agencies named on cases (name, licence, how often)",
    "canned": "canned replies: content, kept until an editor deletes one",
    "alerts:*": "awareness alerts (content, counts, who is still to get one) and the "
    "workers who asked for them: kept until opt-out (STOP) or erasure; the lock of the "
    "process sending them has a TTL",
    "inbox": "accepted messages: each entry is deleted once handled",
    "escalations:*": "queue streams: an entry is deleted when it is claimed or done",
    "nlu:late": "messages read without the model: deleted once read again",
    "whatsapp:raw": "webhook payloads: deleted once processed",
    "whatsapp:dead": "dead letters: trimmed after HELPLINE_DEAD_LETTER_DAYS",
    "audit:*": "the audit log: trimmed after HELPLINE_AUDIT_DAYS",
    "kb:*": "the knowledge base and its versions: content, kept as long as it is edited",
    "user:*": "console accounts: kept until removed by an admin",
    "users:*": "the list of console accounts",
    "presence:*": "one entry per console user",
    "timers:*": "due timers: each leaves when it fires",
    "erase:*": "erasures waiting for the append-only file rewrite: emptied by it",
}


def retained(key: str, prefix: str) -> str | None:
    """The rule that bounds a key without a TTL; None when it should have a TTL."""
    parts = key.removeprefix(f"{prefix}:").split(":")
    for kind in (":".join(parts[:2]), f"{parts[0]}:*", parts[0]):
        if kind in RETAINED:
            return RETAINED[kind]
    return None


@dataclass(frozen=True)
class Keys:
    prefix: str = "helpline"

    def _k(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    def session(self, sender: str) -> str:
        return self._k("session", sender)

    def seen(self, channel: str, user_id: str, message_id: str) -> str:
        """A message already accepted, per conversation: a web chat client chooses its own
        message ids, and one conversation must not be able to drop another's. Hashed: a
        key name must not hold a phone number (WhatsApp's message ids carry the sender's
        number, too) - it outlives an erasure by the duplicate window."""
        digest = hashlib.sha256(f"{user_id}\0{message_id}".encode()).hexdigest()[:40]
        return self._k("seen", channel, digest)

    def rate(self, sender: str, window: int) -> str:
        return self._k("rate", sender, str(window))

    def sender_lock(self, sender: str) -> str:
        return self._k("lock", sender)

    def outbox(self, sender: str) -> str:
        return self._k("outbox", sender)

    def outbox_notices(self) -> str:
        """The pub/sub channel that says which conversation's outbox changed."""
        return self._k("outbox", "notices")

    def conversations_from(self, address: str, hour: int) -> str:
        return self._k("rate", "conversations", address, str(hour))

    def webchat_token(self, token_hash: str) -> str:
        return self._k("webchat", "token", token_hash)

    def webchat_ticket(self, ticket_hash: str) -> str:
        return self._k("webchat", "ticket", ticket_hash)

    def replies(self, entry_id: str) -> str:
        """The replies to one accepted message (bot/store/replies.py)."""
        return self._k("replies", entry_id)

    def webchat_conversation(self, conversation_id: str) -> str:
        return self._k("webchat", "conversation", conversation_id)

    def case(self, case_id: str) -> str:
        return self._k("case", case_id)

    def case_counter(self, year: int) -> str:
        return self._k("case", "counter", str(year))

    def case_timeline(self, case_id: str) -> str:
        return self._k("case", case_id, "timeline")

    def cases_of(self, sender: str) -> str:
        return self._k("cases", "sender", sender)

    def cases_all(self) -> str:
        return self._k("cases", "all")

    def cases_open_critical(self) -> str:
        return self._k("cases", "open-critical")

    def case_word(self, digest: str) -> str:
        """The cases whose messages have one word (by its keyed hash)."""
        return self._k("cases", "word", digest)

    def case_words(self, case_id: str) -> str:
        """The hashes of the words said in one case."""
        return self._k("case", case_id, "words")

    def cases_due(self) -> str:
        """Open cases with a follow-up date, scored by it."""
        return self._k("cases", "due")

    def case_index(self, name: str) -> str:
        """A case-list index (bot/store/case_index.py): ids scored by opening time."""
        return self._k("cases", "idx", name)

    def case_query(self, digest: str) -> str:
        """A case-list query's intersection, kept for seconds while pages are read."""
        return self._k("cases", "query", digest)

    def case_rows(self) -> str:
        """Each case's contributions to the indexes and counters."""
        return self._k("stats", "rows")

    def stats(self, suffix: str) -> str:
        """The reports' counters of one month and filter combination."""
        return self._k("stats", suffix)

    def reindexing(self) -> str:
        """Taken by the process that rebuilds the indexes and counters at start."""
        return self._k("reindexing")

    def canned(self) -> str:
        """Canned replies for operators (bot/store/canned.py)."""
        return self._k("canned")

    def agencies(self) -> str:
        """Recruitment agencies named on cases: the list operators choose from."""
        return self._k("agencies")

    def intake(self, key: str) -> str:
        """Which case a message (or a timer) opened: a retry finds it instead of a second."""
        return self._k("intake", key)

    def evidence_waiting(self, sender: str) -> str:
        return self._k("evidence", "waiting", sender)

    def timers(self, name: str) -> str:
        return self._k("timers", name)

    def timer_claim(self, name: str, member: str) -> str:
        return self._k("timers", name, "claim", member)

    def retention_sweep(self) -> str:
        return self._k("retention", "swept")

    def erase_rewrite_due(self) -> str:
        return self._k("erase", "rewrite-due")

    def nlu_late(self) -> str:
        return self._k("nlu", "late")

    def escalations_of(self, priority: str) -> str:
        """The queue stream of one priority."""
        return self._k("escalations", priority)

    def escalations_live(self) -> str:
        return self._k("escalations", "live")

    def escalation_waits(self) -> str:
        """How long recent escalations waited (what a waiting worker is told)."""
        return self._k("escalations", "waits")

    def inbox(self) -> str:
        return self._k("inbox")

    def inbox_order(self, sender: str) -> str:
        """A conversation's accepted, unhandled messages in order (hashed: no phone
        number in a key name)."""
        digest = hashlib.sha256(sender.encode()).hexdigest()[:40]
        return self._k("inbox", "order", digest)

    def sends(self, process: str) -> str:
        """Replies a process is sending to Telegram or WhatsApp (bot/store/sends.py)."""
        return self._k("sends", process)

    def sending(self) -> str:
        """The processes that have sends kept (whose hashes an erasure looks through)."""
        return self._k("sending")

    def alert_subscribers(self, country: str) -> str:
        """The workers who asked for alerts about one country (bot/store/alerts.py)."""
        return self._k("alerts", "subscribers", country)

    def alert(self, alert_id: str) -> str:
        return self._k("alerts", "alert", alert_id)

    def alerts(self) -> str:
        return self._k("alerts", "list")

    def alert_counts(self, alert_id: str) -> str:
        return self._k("alerts", "counts", alert_id)

    def alert_todo(self, alert_id: str) -> str:
        return self._k("alerts", "todo", alert_id)

    def alerts_sending(self) -> str:
        return self._k("alerts", "sending")

    def alerts_sender(self) -> str:
        return self._k("alerts", "sender")

    def alive(self, consumer: str) -> str:
        """A bot process's heartbeat (bot/store/liveness.py)."""
        return self._k("alive", consumer)

    def events(self) -> str:
        return self._k("events")

    def presence(self) -> str:
        return self._k("presence")

    def announced(self, case_id: str, what: str) -> str:
        return self._k("announced", case_id, what)

    def user(self, username: str) -> str:
        return self._k("user", username)

    def users(self) -> str:
        return self._k("users")

    def login_failures(self, username: str, address: str) -> str:
        return self._k("login", "failures", username, address)

    def login_address(self, address: str) -> str:
        return self._k("login", "address", address)

    def login_failed_count(self, day: str) -> str:
        return self._k("login", "failed", day)

    def console_sessions_of(self, username: str) -> str:
        return self._k("console", "sessions-of", username)

    def totp_pending(self, username: str) -> str:
        return self._k("console", "totp-pending", username)

    def console_session(self, token_hash: str) -> str:
        return self._k("console", "session", token_hash)

    def audit(self) -> str:
        return self._k("audit")

    def audit_fragment(self, username: str, case_id: str) -> str:
        return self._k("audit", "fragment", username, case_id)

    def evidence(self, evidence_id: str) -> str:
        return self._k("evidence", evidence_id)

    def evidence_of(self, sender: str) -> str:
        return self._k("evidence", "sender", sender)

    def telegram_messages(self, chat_id: str) -> str:
        return self._k("telegram", "messages", chat_id)

    def telegram_posted(self, case_id: str, what: str) -> str:
        return self._k("telegram", "posted", case_id, what)

    def telegram_alert(self, case_id: str) -> str:
        return self._k("telegram", "alert", case_id)

    def telegram_alert_case(self, message_id: str) -> str:
        return self._k("telegram", "alert-case", message_id)

    def telegram_posts(self, case_id: str) -> str:
        return self._k("telegram", "posts", case_id)

    def telegram_relayed(self, case_id: str) -> str:
        return self._k("telegram", "relayed", case_id)

    def telegram_relay_lock(self, case_id: str) -> str:
        return self._k("telegram", "relaying", case_id)

    def kb(self, *parts: str) -> str:
        return self._k("kb", *parts)

    def example_proposals(self) -> str:
        """Example phrasings editors proposed for the NLU (bot/store/proposals.py)."""
        return self._k("kb", "examples")

    def whatsapp_payloads(self) -> str:
        return self._k("whatsapp", "raw")

    def whatsapp_dead(self) -> str:
        return self._k("whatsapp", "dead")

    def whatsapp_last_in(self, wa_id: str) -> str:
        return self._k("whatsapp", "last-in", wa_id)

    def whatsapp_sent(self, wamid: str) -> str:
        return self._k("whatsapp", "sent", wamid)

    def whatsapp_sent_to(self, wa_id: str) -> str:
        return self._k("whatsapp", "sent-to", wa_id)

    def whatsapp_status(self, wamid: str) -> str:
        return self._k("whatsapp", "status", wamid)
