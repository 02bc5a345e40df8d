"""Babel/gettext for every user-facing string; the locale lives in a ContextVar.

Dispatch sets the worker's locale for the message being handled; flows call ``_`` and
``ngettext`` and Babel's formatters. Catalogs are in locales/<lang>/LC_MESSAGES.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date as _format_date
from babel.dates import format_datetime as _format_datetime
from babel.numbers import format_decimal as _format_decimal
from babel.support import NullTranslations, Translations

SUPPORTED = ("id", "en")
DEFAULT_LOCALE = "id"
LOCALES_DIR = Path(__file__).resolve().parents[1] / "locales"
DOMAIN = "messages"

_locale: ContextVar[str] = ContextVar("locale", default=DEFAULT_LOCALE)


@cache
def translations(locale: str) -> NullTranslations:
    loaded = Translations.load(str(LOCALES_DIR), [locale], DOMAIN)
    return loaded


def current_locale() -> str:
    return _locale.get()


@contextmanager
def use_locale(locale: str) -> Iterator[None]:
    token = _locale.set(locale if locale in SUPPORTED else DEFAULT_LOCALE)
    try:
        yield
    finally:
        _locale.reset(token)


def _(message: str) -> str:
    return translations(_locale.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_locale.get()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks a string for extraction; translated later, where it is shown."""
    return message


def format_number(value: float | Decimal) -> str:
    return _format_decimal(value, locale=Locale.parse(_locale.get()))


def format_date(value: dt.date | dt.datetime) -> str:
    return _format_date(value, format="medium", locale=Locale.parse(_locale.get()))


def format_datetime(value: dt.datetime) -> str:
    return _format_datetime(value, format="short", locale=Locale.parse(_locale.get()))


def preferred_language(accept_language: str) -> str:
    """The first supported language in an Accept-Language header, else the default."""
    for part in accept_language.split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in SUPPORTED:
            return code
    return DEFAULT_LOCALE
