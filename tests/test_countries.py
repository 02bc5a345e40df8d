from __future__ import annotations

import pytest

from bot.nlu import countries


@pytest.mark.parametrize(
    ("value", "country"),
    [
        ("HK", "hong_kong"),
        ("hong_kong", "hong_kong"),
        ("Hong-Kong", "hong_kong"),
        ("Taipei", "taiwan"),
        ("KL", "malaysia"),
        ("s'pore", "singapore"),
        ("Arab Saudi", "saudi_arabia"),
        ("KSA", "saudi_arabia"),
        ("jakarta", None),
    ],
)
def test_normalise(value: str, country: str | None) -> None:
    assert countries.normalise(value) == country


@pytest.mark.parametrize(
    ("text", "country"),
    [
        ("sy kerja di hongkong udh 3 thn", "hong_kong"),
        ("majikan sy di Riyadh gk bayar", "saudi_arabia"),
        ("gk tw mau ngapain", None),  # "tw" is "tahu" here, not Taiwan
        ("kl gaji telat gmn", None),  # "kl" is "kalau"
        ("help my employer", None),  # "my" is English
        ("kerja di kuala lumpur", "malaysia"),
    ],
)
def test_find_in_text(text: str, country: str | None) -> None:
    assert countries.find_in_text(text) == country
