"""Awareness alerts: a worker asks for them (per country, on the channel they write on)
and stops them with one word. Editors write the alerts (bot/console/content_alerts.py);
bot/alerts.py sends them."""

from __future__ import annotations

from bot.i18n import _
from bot.messages import Button
from bot.store.alerts import CHANNELS
from flows.base import Turn, menu_buttons
from flows.onboarding import country_buttons, country_name


def offer(turn: Turn) -> None:
    session = turn.session
    if session.sender.partition(":")[0] not in CHANNELS:
        turn.say(
            _(
                "Alerts come on Telegram or WhatsApp: this chat cannot send them. Write to "
                "us there and press Alerts in the menu."
            ),
            menu_buttons(),
        )
    elif session.country is None:
        turn.say(_("Alerts are for one country: which country do you work in?"), country_buttons())
    elif session.alerts == session.country:
        turn.say(
            _("You get alerts for {country}. To stop them, reply STOP.").format(
                country=country_name(session.country)
            ),
            [Button(_("Stop alerts"), "alerts:off"), Button(_("Menu"), "menu")],
        )
    else:
        turn.say(
            _(
                "Do you want short alerts for {country}: warnings about scams and fake "
                "agencies, and changes to wages and rules? A few a month at most. To stop "
                "them, reply STOP at any time."
            ).format(country=country_name(session.country)),
            [Button(_("Yes, send me alerts"), "alerts:on"), Button(_("No, thanks"), "menu")],
        )


async def subscribe(turn: Turn) -> None:
    session = turn.session
    if session.country is None or session.sender.partition(":")[0] not in CHANNELS:
        offer(turn)
        return
    await turn.services.alerts.subscribe(session.sender, session.country, before=session.alerts)
    session.alerts = session.country
    turn.say(
        _("Done: you will get alerts for {country}. To stop them, reply STOP.").format(
            country=country_name(session.country)
        ),
        menu_buttons(),
    )


async def stop(turn: Turn) -> None:
    session = turn.session
    await turn.services.alerts.unsubscribe(session.sender, session.alerts)
    session.alerts = None
    turn.say(_("Done: no more alerts. You can still write to us at any time."), menu_buttons())


async def country_changed(turn: Turn) -> None:
    """Alerts follow the worker to the country they now say they work in (called once
    after every turn, bot/dispatch.py)."""
    session = turn.session
    if session.alerts and session.country and session.alerts != session.country:
        await turn.services.alerts.subscribe(session.sender, session.country, before=session.alerts)
        session.alerts = session.country
