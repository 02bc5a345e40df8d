"""Prometheus metrics of one bot process (`GET /metrics`, prometheus-client).

Counts and timings only - no ids, names or words. Each helpline has a registry of its
own (several run side by side in the tests). Figures that live in Redis (the queue) are
read when the page is asked for.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

# Reply latency buckets, seconds: the web chat's target is 0.3 s at the 95th percentile.
_REPLY_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5, 10, 30)
_NLU_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 3)


class Metrics:
    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        self.messages_in = Counter(
            "helpline_messages_in", "Messages accepted, per channel", ["channel"],
            registry=registry,
        )  # fmt: skip
        self.messages_out = Counter(
            "helpline_messages_out", "Messages sent to workers, per channel", ["channel"],
            registry=registry,
        )  # fmt: skip
        self.send_failures = Counter(
            "helpline_send_failures",
            "Messages to workers the platform did not take, per channel and outcome "
            "(retry: tried again later; failed: refused for good or given up on)",
            ["channel", "outcome"],
            registry=registry,
        )
        self.reply_seconds = Histogram(
            "helpline_reply_seconds",
            "From a message's arrival to its replies being kept and sent",
            ["channel"],
            buckets=_REPLY_BUCKETS,
            registry=registry,
        )
        self.nlu_seconds = Histogram(
            "helpline_nlu_seconds", "Rasa /model/parse time, per server", ["server"],
            buckets=_NLU_BUCKETS, registry=registry,
        )  # fmt: skip
        self.nlu_failures = Counter(
            "helpline_nlu_failures", "Rasa requests that failed or timed out, per server",
            ["server"], registry=registry,
        )  # fmt: skip
        self.redis_errors = Counter(
            "helpline_redis_errors", "Redis errors met while accepting or handling messages",
            registry=registry,
        )  # fmt: skip
        self.queue_depth = Gauge(
            "helpline_queue_depth", "Escalations waiting for an operator, per priority",
            ["priority"], registry=registry,
        )  # fmt: skip
        self.oldest_emergency = Gauge(
            "helpline_oldest_unclaimed_emergency_seconds",
            "How long the longest-waiting unclaimed emergency has waited (0: none)",
            registry=registry,
        )
        self.past_limit = Counter(
            "helpline_escalations_past_limit",
            "Escalations raised to supervisors for waiting too long, per reason",
            ["reason"],
            registry=registry,
        )
        self.open_streams = Gauge(
            "helpline_open_streams", "Open event streams, per kind (webchat, console)",
            ["kind"], registry=registry,
        )  # fmt: skip

    def page(self) -> bytes:
        return generate_latest(self.registry)
