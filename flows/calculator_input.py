"""Reading the worker's answers to the rights calculator: amounts, counts, yes or no, sector.

Workers type "4.500", "HK$4,500", "4,5 juta", "enam bulan", "2 thn", "gk ada"; these
functions read the one value an answer gives, or None when it gives none or several, so the
flow (flows/calculator.py) can ask again rather than guess.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

MOST = 10_000  # months or days: more than this is a typing slip
HIGHEST_WAGE = Decimal(100_000_000)

_NUMBER = re.compile(r"\d[\d.,]*")
RUPIAH = re.compile(r"\b(?:rp|idr|rupiah)\b|\brp\.?\s*\d", re.IGNORECASE)
_THOUSANDS = re.compile(r"^\s*(?:k|rb|ribu|thousand)\b", re.IGNORECASE)
_MILLIONS = re.compile(r"^\s*(?:jt|juta|million|mio)\b", re.IGNORECASE)
_YEARS = re.compile(r"^\s*(?:tahun|thn|th|years?|yrs?)\b", re.IGNORECASE)
_NUMBER_WORDS = {
    "nol": 0, "zero": 0, "none": 0, "never": 0, "satu": 1, "one": 1, "sebulan": 1,
    "dua": 2, "two": 2, "tiga": 3, "three": 3, "empat": 4, "four": 4, "lima": 5, "five": 5,
    "enam": 6, "six": 6, "tujuh": 7, "seven": 7, "delapan": 8, "eight": 8, "sembilan": 9,
    "nine": 9, "sepuluh": 10, "ten": 10, "setahun": 12, "twelve": 12,
}  # fmt: skip
NONE = re.compile(
    r"\b(?:tidak|tdk|gak|ga|gk|nggak|ngga|enggak|belum|blm|no|nope|nothing|kosong)\b", re.I
)
YES = re.compile(
    r"\b(?:ya|iya|iyaa|y|yes|yep|yeah|ok|oke|okay|betul|benar|bener|pernah|sudah|udah|dikasih|"
    r"dapat|dapet|sure)\b",
    re.IGNORECASE,
)
_SECTOR_WORDS = (
    (
        "domestic",
        re.compile(
            r"\b(?:prt|art|pembantu|rumah tangga|domestic|helper|maid|caregiver|carer|care|"
            r"perawat|jompo|lansia|manula|nanny|babysitter|pengasuh|fdh|fdw|pekerja rumah)",
            re.IGNORECASE,
        ),
    ),
    (
        "other",
        re.compile(
            r"\b(?:pabrik|factory|manufaktur|kebun|perkebunan|sawit|ladang|farm|tani|pertanian|"
            r"kapal|nelayan|fishing|fisher|ikan|konstruksi|construction|bangunan|proyek|"
            r"restoran|hotel|other|lain)",
            re.IGNORECASE,
        ),
    ),
)


def number_of(raw: str) -> Decimal | None:
    """A number as workers write it: "4.500", "4,500", "4500.50", "4.500,50", "4,5";
    None when the marks make no number ("12,34,567")."""
    try:
        return _number(raw)
    except InvalidOperation:
        return None


def _number(raw: str) -> Decimal | None:
    raw = raw.rstrip(".,")
    marks, groups = re.findall(r"[.,]", raw), re.split(r"[.,]", raw)
    if not marks:
        return Decimal(raw)
    head, rest = groups[0], groups[1:]
    if len(rest[-1]) == 3 and len(set(marks)) == 1:
        thousands, decimals = rest, ""
    elif len(rest[-1]) in (1, 2) and marks[-1] not in marks[:-1]:
        thousands, decimals = rest[:-1], rest[-1]
    else:
        return None
    if thousands and (not 1 <= len(head) <= 3 or any(len(g) != 3 for g in thousands)):
        return None
    return Decimal(head + "".join(thousands) + ("." + decimals if decimals else ""))


def amount_of(text: str) -> Decimal | None:
    """The one amount in the worker's answer ("HK$4.500", "4500 HKD", "4,5 juta")."""
    found = list(_NUMBER.finditer(text))
    amount = number_of(found[0].group(0)) if len(found) == 1 else None
    if amount is None:
        return None
    after = text[found[0].end() :]
    if _THOUSANDS.match(after):
        amount *= 1000
    elif _MILLIONS.match(after):
        amount *= 1_000_000
    if amount == amount.to_integral_value():
        amount = amount.quantize(Decimal(1))  # "4,5 juta": 4500000, not 4500000.0
    return amount if 0 < amount <= HIGHEST_WAGE else None


def count_of(text: str, *, months: bool = False) -> int | None:
    """A whole number of months or days ("6", "6 bulan", "enam", "2 tahun", "tidak ada")."""
    found = list(_NUMBER.finditer(text))
    if len(found) > 1:
        return None
    if found:
        number = number_of(found[0].group(0))
        if number is None:
            return None
        if months and _YEARS.match(text[found[0].end() :]):
            number *= 12
    else:
        words = [w for w in re.findall(r"[a-z]+", text.lower()) if w in _NUMBER_WORDS]
        if len(words) == 1:
            number = Decimal(_NUMBER_WORDS[words[0]])
            if months and words[0] != "setahun" and _YEARS.match(text.lower().split(words[0])[1]):
                number *= 12
        elif not words and NONE.search(text):
            number = Decimal(0)
        else:
            return None
    if number != number.to_integral_value() or number > MOST:
        return None
    return int(number)


def sector_of(text: str) -> str | None:
    found = {name for name, words in _SECTOR_WORDS if words.search(text)}
    return found.pop() if len(found) == 1 else None


def hours_of(text: str) -> Decimal | None:
    """Hours in one week: one number, more than 0 and at most 168."""
    found = list(_NUMBER.finditer(text))
    hours = number_of(found[0].group(0)) if len(found) == 1 else None
    return hours if hours is not None and 0 < hours <= 168 else None


def yes_no_of(text: str) -> bool | None:
    """Yes or no in the worker's words ("iya", "blm pernah"); the first one said wins."""
    no, yes = NONE.search(text), YES.search(text)
    if no and yes:
        return yes.start() < no.start()
    return True if yes else False if no else None
