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
        ("Jepang", "japan"),
        ("japan", "japan"),
        ("JPN", "japan"),
        ("Nippon", "japan"),
        ("Osaka", "japan"),
        ("Kanagawa", "japan"),
        ("Korsel", "south_korea"),
        ("Korea Selatan", "south_korea"),
        ("south_korea", "south_korea"),
        ("S. Korea", "south_korea"),
        ("korea", "south_korea"),
        ("Korean", "south_korea"),  # an entity value Rasa tagged, not a free-text hit
        ("Ansan", "south_korea"),
        ("Gyeonggi", "south_korea"),
        ("north korea", None),
        ("Korea Utara", None),
        ("jp", None),
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
        ("kerja di hong-kong", "hong_kong"),
        ("sy kerja di jepang gaji blm dibayar", "japan"),
        ("tolong sy di osaka dipukul bos", "japan"),
        ("magang di pabrik Aichi, jam kerja gk manusiawi", "japan"),
        ("gaji di JEPANG dipotong asrama", "japan"),
        ("kapal sy sandar di Kobe", "japan"),
        ("majikan di korsel ambil paspor sy", "south_korea"),
        ("di ansan pabrik sy lembur tp ga dibayar", "south_korea"),
        ("minimum wage in korea 2026?", "south_korea"),
        ("sy kerja di korea selatan lewat EPS", "south_korea"),
        ("ABK di Busan gk digaji", "south_korea"),
        ("pabrik di Hwaseong", "south_korea"),
        ("i work in S. Korea", "south_korea"),
        ("sy di korea, bukan korea utara", "south_korea"),
        ("ada berita korea utara, sy kerja di korea", "south_korea"),
        ("north korea fired a missile again", None),
        ("berita korea utara nembak rudal", None),
        ("N. Korea news", None),
        ("korea-utara", None),
        ("my employer is korean, she is kind", None),  # a nationality, not a place
        ("i like japanese food", None),
        ("majikan sy orang korea, tinggal di hongkong", "hong_kong"),
        ("tiap malem nonton drama korea", None),
        ("berita artis korea meninggal mendadak", None),
        ("pulsanya abis gk bisa telpon", None),  # "ulsan" inside a word
        ("beli busana muslim buat lebaran", None),  # "busan" inside a word
        ("sy operator kobelco di proyek", None),  # "kobe" inside a word
        ("chibanya", None),
        ("ke jp kapan", None),  # "jp" is too ambiguous to scan
    ],
)
def test_find_in_text(text: str, country: str | None) -> None:
    assert countries.find_in_text(text) == country
