"""Sends approved awareness alerts to the workers who asked for them, within each
platform's limits.

One process sends at a time (the limits are per bot, not per process): it holds a short
turn in Redis, renewed while it sends. Telegram takes about 30 messages a second from one
bot (RATES keeps under it); WhatsApp free-form messages only reach a worker who wrote in
the last 24 hours - anyone else gets the approved alert template with the text in it
(HELPLINE_WHATSAPP_ALERT_TEMPLATE), or is counted "skipped" without one. Every alert
ends with how to stop them (one word: STOP), and is kept in the worker's transcript.

Each recipient is taken off the alert's list before the send, so a process that dies
mid-alert does not send anyone the same alert twice; the one in flight may be lost
(counted nowhere: the report shows it as "left").
"""

from __future__ import annotations

import logging
import time

from aiolimiter import AsyncLimiter

from bot.channels.base import SendFailed
from bot.delivery import Delivery
from bot.i18n import _, use_locale
from bot.logs import masked
from bot.messages import Outbound
from bot.store.alerts import Alert, Alerts
from bot.store.outbox import Outbox
from bot.store.sessions import SessionStore
from bot.tasks import every

log = logging.getLogger(__name__)

# Messages a second per channel.
RATES = {"telegram": 25.0, "whatsapp": 20.0}
TURN_SECONDS = 5.0


def stop_hint() -> str:
    return _("To stop these alerts, reply STOP.")


class AlertSender:
    def __init__(
        self,
        alerts: Alerts,
        delivery: Delivery,
        sessions: SessionStore,
        outbox: Outbox,
        *,
        process: str,
        rates: dict[str, float] | None = None,
    ) -> None:
        self.alerts, self.delivery, self.sessions, self.outbox = alerts, delivery, sessions, outbox
        self.process = process
        # One message at a time, evenly spaced: never a burst above the rate in any second.
        self._limits = {
            name: AsyncLimiter(1, 1.0 / rate) for name, rate in (rates or RATES).items()
        }

    async def run(self, seconds: float = 1.0) -> None:
        await every(seconds, self.tick, "alerts")

    async def tick(self) -> None:
        for alert_id in await self.alerts.sending():
            if not await self.alerts.claim_sending(self.process, TURN_SECONDS):
                return  # another process is sending
            await self._send(alert_id)

    async def _send(self, alert_id: str) -> None:
        alert = await self.alerts.get(alert_id)
        if alert is None:
            return
        log.info("sending alert %s to %d workers", alert_id, alert.left)
        claimed = time.monotonic()
        while True:
            if time.monotonic() - claimed > TURN_SECONDS / 3:
                if not await self.alerts.claim_sending(self.process, TURN_SECONDS):
                    return
                claimed = time.monotonic()
            sender = await self.alerts.next_recipient(alert_id)
            if sender is None:
                break
            await self.alerts.count(alert_id, await self._one(alert, sender))
        await self.alerts.finish(alert_id)
        done = await self.alerts.get(alert_id)
        log.info("alert %s sent: %s", alert_id, done.counts if done else {})

    async def _one(self, alert: Alert, sender: str) -> str:
        name, _sep, user_id = sender.partition(":")
        channel = self.delivery.channels.get(name)
        if channel is None:
            return "skipped"
        session = await self.sessions.load(sender)
        locale = session.locale or "id"
        with use_locale(locale):
            text = f"{alert.text(locale)}\n\n{stop_hint()}"
        message = Outbound(text=text, locale=locale)
        limit = self._limits.get(name)
        try:
            if limit is not None:
                await limit.acquire()
            if not await channel.window_open(user_id):
                if not await channel.send_template(user_id, locale, text=text):
                    return "skipped"
            else:
                await channel.send(user_id, [message], locale)
        except SendFailed as exc:
            log.warning("alert %s to %s not sent: %s", alert.id, masked(sender), exc)
            return "failed" if exc.later else "blocked"
        await self.outbox.push_outbound(sender, message)  # the worker's transcript shows it
        return "sent"
