"""Destination countries and the many ways workers write them."""

from __future__ import annotations

import re
from typing import Final

# Canonical values are the ones Rasa's EntitySynonymMapper produces (nlu/entities.yml)
# and the knowledge base is keyed on.
COUNTRIES: Final = (
    "hong_kong",
    "taiwan",
    "malaysia",
    "singapore",
    "saudi_arabia",
    "japan",
    "south_korea",
)

_NAMES: Final[dict[str, tuple[str, ...]]] = {
    "hong_kong": (
        "hong kong",
        "hongkong",
        "hongkok",
        "hongkon",
        "hk",
        "hkg",
        "kowloon",
        "tsim sha tsui",
        "causeway bay",
        "mongkok",
        "mong kok",
        "tuen mun",
        "shatin",
        "sha tin",
        "kwun tong",
        "yuen long",
        "tai po",
        "tsuen wan",
        "new territories",
        "lantau",
    ),
    "taiwan": (
        "taiwan",
        "taiwn",
        "taiwa",
        "tw",
        "twn",
        "taipei",
        "taipe",
        "new taipei",
        "kaohsiung",
        "kaoshiung",
        "taichung",
        "tainan",
        "taoyuan",
        "hsinchu",
        "keelung",
        "pingtung",
        "changhua",
        "yilan",
        "hualien",
        "formosa",
    ),
    "malaysia": (
        "malaysia",
        "malaysi",
        "malaisia",
        "malesia",
        "m'sia",
        "msia",
        "my",
        "kuala lumpur",
        "kl",
        "johor",
        "johor bahru",
        "jb",
        "sabah",
        "sarawak",
        "penang",
        "pulau pinang",
        "selangor",
        "kota kinabalu",
        "tawau",
        "kuching",
        "ipoh",
        "melaka",
        "malacca",
        "perak",
        "pahang",
        "kedah",
        "negeri sembilan",
        "labuan",
        "semenanjung",
    ),
    "singapore": (
        "singapore",
        "singapura",
        "singapur",
        "singpore",
        "singapor",
        "spore",
        "s'pore",
        "sg",
        "sgp",
        "jurong",
        "woodlands",
        "tampines",
        "orchard",
        "yishun",
        "bedok",
    ),
    "saudi_arabia": (
        "saudi arabia",
        "arab saudi",
        "arab",
        "saudi",
        "saudy",
        "ksa",
        "riyadh",
        "riyad",
        "jeddah",
        "jedah",
        "jiddah",
        "dammam",
        "damam",
        "mekah",
        "makkah",
        "mecca",
        "madinah",
        "medina",
        "madina",
        "taif",
        "thaif",
        "abha",
        "tabuk",
        "khobar",
        "al khobar",
        "qassim",
        "buraidah",
        "hail",
    ),
    "japan": (
        "japan",
        "jepang",
        "jepan",
        "japang",
        "jpn",
        "nihon",
        "nippon",
        "tokyo",
        "tokio",
        "osaka",
        "nagoya",
        "yokohama",
        "kobe",
        "kyoto",
        "fukuoka",
        "hiroshima",
        "sapporo",
        "sendai",
        "aichi",
        "ibaraki",
        "saitama",
        "chiba",
        "gunma",
        "shizuoka",
        "gifu",
        "kanagawa",
        "hokkaido",
        "okinawa",
    ),
    "south_korea": (
        "south korea",
        "korea selatan",
        "korea slatan",
        "korsel",
        "s korea",
        "korea",
        "korean",
        "seoul",
        "busan",
        "pusan",
        "incheon",
        "ansan",
        "suwon",
        "daegu",
        "gwangju",
        "ulsan",
        "changwon",
        "gimhae",
        "hwaseong",
        "pyeongtaek",
        "cheonan",
        "gyeonggi",
        "gyeongnam",
    ),
}

# Short codes are ambiguous in running text ("my" is English, "tw" is "tahu", "kl" is
# "kalau", "hail" is a word); accept them only as a Rasa entity, never from a free-text scan.
# "korean" is a nationality: a helper in Hong Kong writes "my employer is korean".
_ENTITY_ONLY: Final = frozenset(
    {"my", "tw", "kl", "sg", "hail", "jb", "perak", "orchard", "korean"}
)

# Phrases that contain a name but do not name a destination: North Korea, and Korean or
# Japanese people and culture met anywhere ("majikan sy orang korea" in Hong Kong, "nonton
# drama korea"). The free-text scan matches them before the shorter name inside them, and
# skips them.
_NOT_DESTINATIONS: Final = frozenset(
    {
        "north korea",
        "north korean",
        "n korea",
        "korea utara",
        "korea utr",
        "orang korea",
        "orang jepang",
        "drama korea",
        "drama jepang",
        "film korea",
        "film jepang",
        "lagu korea",
        "artis korea",
        "artis jepang",
        "anime jepang",
        "makanan korea",
        "makanan jepang",
        "restoran korea",
        "restoran jepang",
    }
)

_BY_NAME: Final[dict[str, str]] = {
    name: country for country, names in _NAMES.items() for name in names
}


def _pattern(name: str) -> str:
    # A space in a name stands for any run of spaces, dots or hyphens: "korea-utara", "n. korea".
    return r"[\s\-.]+".join(re.escape(word) for word in name.split())


_SCAN: Final = re.compile(
    r"(?<![\w'])("
    + "|".join(
        _pattern(n)
        for n in sorted(
            {n for n in _BY_NAME if n not in _ENTITY_ONLY} | _NOT_DESTINATIONS,
            key=lambda n: (-len(n), n),
        )
    )
    + r")(?![\w'])",
    re.IGNORECASE,
)


def _key(value: str) -> str:
    return re.sub(r"[\s_\-.]+", " ", value.strip().lower())


def normalise(value: str) -> str | None:
    """The canonical country for an entity value or a name, or None."""
    key = _key(value)
    if key.replace(" ", "_") in COUNTRIES:
        return key.replace(" ", "_")
    return _BY_NAME.get(key)


def find_in_text(text: str) -> str | None:
    """The first destination country named in free text, or None."""
    for match in _SCAN.finditer(text):
        country = _BY_NAME.get(_key(match.group(1)))
        if country:
            return country
    return None
