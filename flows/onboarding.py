"""First contact, the privacy notice, and choosing language and country at any time."""

from __future__ import annotations

from bot.i18n import N_, _, use_locale
from bot.messages import Button
from bot.nlu.countries import COUNTRIES
from flows.base import Turn, menu_buttons

COUNTRY_NAMES = {
    "hong_kong": N_("Hong Kong"),
    "taiwan": N_("Taiwan"),
    "malaysia": N_("Malaysia"),
    "singapore": N_("Singapore"),
    "saudi_arabia": N_("Saudi Arabia"),
    "japan": N_("Japan"),
    "south_korea": N_("South Korea"),
}
LANGUAGE_NAMES = {"id": "Bahasa Indonesia", "en": "English"}


def country_name(country: str | None) -> str:
    return _(COUNTRY_NAMES[country]) if country in COUNTRY_NAMES else _("your country")


def country_buttons(flow: str = "", other: str = N_("Another country")) -> list[Button]:
    """A button per country, and one for any other; ``flow``: the flow that asks, when it
    reads the answer itself ("calc" gives "calc:country:taiwan")."""
    prefix = f"{flow}:" if flow else ""
    return [Button(_(COUNTRY_NAMES[c]), f"{prefix}country:{c}") for c in COUNTRIES] + [
        Button(_(other), f"{prefix}country:other")
    ]


def language_buttons() -> list[Button]:
    return [Button(name, f"lang:{code}") for code, name in LANGUAGE_NAMES.items()]


def privacy_notice() -> str:
    return _(
        "Privacy: we keep your messages, your language and your country so we can help "
        "you and follow up your case. Your profile is erased after 180 days without "
        "contact. Only NGO staff see it. You can erase your data at any time: send "
        '"delete my data" or use the Privacy button.'
    )


def short_privacy_notice() -> str:
    """The notice as first contact gives it: what we keep, who sees it, for how long, and
    how to erase it. The full notice is behind the Privacy button."""
    return _(
        "Privacy: we keep your messages, language and country to help you; only our NGO "
        "staff see them. Your profile is erased after 180 days without contact, or at "
        'once if you send "delete my data".'
    )


def introduce(turn: Turn) -> None:
    """First contact, in one short message: who we are and the privacy notice. What the
    first message asked for comes right after it (flows/router.py)."""
    turn.say(
        _(
            "Hello, welcome to the helpline for Indonesian migrant workers. I am a bot; "
            "people from our NGO are behind me. If you are in danger, tell me at once."
        )
        + "\n\n"
        + short_privacy_notice()
    )
    turn.session.privacy_shown = True


def welcome(turn: Turn) -> None:
    """A first contact that asks nothing yet (a greeting, Telegram's /start): the
    introduction, then the country if we do not know it, else the menu."""
    introduce(turn)
    if turn.session.country is None:
        ask_country(turn)
    else:
        turn.say(_("How can I help you?"), menu_buttons())


def ask_language(turn: Turn) -> None:
    turn.say(_("Choose your language:"), language_buttons())


def set_language(turn: Turn, code: str) -> None:
    turn.session.locale = code
    turn.session.locale_chosen = True
    with use_locale(code):
        turn.say(_("OK, I will write in English from now on."), menu_buttons())


def ask_country(turn: Turn) -> None:
    turn.session.flow, turn.session.step = "onboarding", "country"
    turn.say(_("Which country are you working in?"), country_buttons())


def set_country(turn: Turn, country: str) -> bool:
    """True when the country was understood and stored. A flow that asked for it (a
    complaint) goes on; the onboarding question ends."""
    if country == "other":
        turn.session.country = None
        if turn.session.flow == "onboarding":
            turn.session.clear_flow()
        turn.say(
            _(
                "We focus on Hong Kong, Taiwan, Malaysia, Singapore, Saudi Arabia, Japan "
                "and South Korea, but you can still ask: I will give general answers, and "
                "a person can help."
            )
        )
        return True
    if country not in COUNTRY_NAMES:
        return False
    turn.session.country = country
    if turn.session.flow == "onboarding":
        turn.session.clear_flow()
    turn.say(
        _("Noted: you work in {country}.").format(country=country_name(country)),
    )
    return True
