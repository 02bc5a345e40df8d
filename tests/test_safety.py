"""The safety layer: crisis lexicon and the final emergency decision."""

from __future__ import annotations

import pytest

from bot.nlu.client import interpret
from bot.nlu.safety import (
    SHORT_ANSWER_POLICY,
    CrisisLexicon,
    SafetyPolicy,
    decide,
    normalise,
)
from bot.nlu.taxonomy import ALL_INTENTS, Category
from tests.nlu_data import load_examples

EXAMPLES = load_examples()


def test_normalise_squeezes_and_strips() -> None:
    assert normalise("TOLONGGG!!! Sy dipukulll...") == "tolong sy dipukul"
    assert normalise("Café—olé") == "cafe ole"
    assert normalise("   ") == ""
    # Indonesian reduplication written with a 2.
    assert normalise("dipukul2 sm majikan") == "dipukul dipukul sm majikan"
    assert normalise("jam 12 sm 2 org") == "jam 12 sm 2 org"


@pytest.mark.parametrize(
    "text",
    [
        "tolong kirim resep rendang dong",
        "tolong info jadwal kapal ke batam",
        "pukul berapa skrg di jakarta?",
        "besok kumpul pukul 10 ya",
        "sy tunggu kamu pukul 7 ya",
        "the ending of my life story film was sad",
        "mau mati ketawa liat video ini",
        "hp sy mati, batre habis",
        "fotonya kabur",
        "bunuh waktu nonton drakor",
        "help me choose a phone",
        "this heat is killing me lol",
        "my dog ran away yesterday",
        # Near misses of the phrase families.
        "i can't stand my employer's attitude",
        "i sold my gold to a shop, good price?",
        "ahma stroke sdh 2 thn, cara ganti popoknya gmn",
        "hukum wasiat dalam islam gimana",
        "sy harus layanin tamu2 majikan tiap sabtu",
        "blm makan dari pagi, laper bgt",
        "madam yelled at me because the soup too salty",
        "the kids bang the door all day",
        "employer said he will cut my salary if i break a plate again",
        "ahma has a bruise on her arm after she fell, am i responsible",
        "itchy private part, which clinic should i go to",
        "i have a stroke patient, can i ask for more rest",
        "he threw the ball at me haha",
        # Asking what an arrest would mean, or an errand at the police station, is not one.
        "klo overstay sy bisa ditangkap gk?",
        "will i be arrested if i overstay",
        "can i get arrested for working part time",
        "gmn nasib sy klo kena razia di Johor",
        "kalau majikan ditangkap polisi gaji sy gimana",
        "apakah sy akan dipenjara kalau gk bayar pinjol",
        "katanya ada artis ditangkep polisi gara2 narkoba",
        "sy lagi di kantor polisi mau bikin laporan kehilangan hp",
        "i'm at the police station to report my lost passport",
        "i was in prison before for 2 years, can i still apply to work in korea",
        "",
        "😂😂😂",
    ],
)
def test_lexicon_hard_negatives(lexicon: CrisisLexicon, text: str) -> None:
    assert lexicon.match(text) == []


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("majikan sy mukul sy tiap hari", "emergency_violence"),
        # Regression: the bare verb "pukul saya" was missed by model and lexicon alike.
        ("tolong majikan saya pukul saya setiap hari", "emergency_violence"),
        ("sy dipukulin nyonya", "emergency_violence"),
        ("tolongggg", "emergency_violence"),
        ("help me!!", "emergency_violence"),
        ("sy mau bunuh diri aja", "emergency_self_harm"),
        ("pengen mati ajaa", "emergency_self_harm"),
        ("I want to die", "emergency_self_harm"),
        ("sorry i feel like ending my life, the debt too much", "emergency_self_harm"),
        ("I think about taking my own life", "emergency_self_harm"),
        ("anak majikan perkosa sy", "emergency_sexual"),
        ("sir touched my breast", "emergency_sexual"),
        ("sy dikunci di kamar", "emergency_confinement"),
        ("they lock me inside the flat", "emergency_confinement"),
        ("sy pingsan td pagi", "emergency_medical"),
        ("blm dikasih makan 2 hari", "emergency_medical"),
        ("sy diusir malam2", "emergency_stranded"),
        ("I ran away from my employer", "emergency_stranded"),
        ("救命", "emergency_violence"),
        ("kemarin malem sy diinjek2 sm anak majikan", "emergency_violence"),
        ("punggung sy penuh bekas sabetan kabel", "emergency_violence"),
        ("she burn my hand with the iron", "emergency_violence"),
        ("grandma son said he will cut my tongue if i complain", "emergency_violence"),
        ("nyonya tau suaminya grepe2 sy", "emergency_sexual"),
        ("sy disuruh mijit tuan terus dia buka celananya", "emergency_sexual"),
        ("the boy show his private part to me and laugh", "emergency_sexual"),
        ("bruises on my whole body from her", "emergency_violence"),
        ("mulut sy mencong sebelah, kayaknya stroke", "emergency_medical"),
        ("my arms are covered in bruises", "emergency_violence"),
        ("agent hold me hostage until my family pay", "emergency_confinement"),
        ("i was sold to another employer", "emergency_confinement"),
        ("tuan pukul kepala sy pake remote", "emergency_violence"),
        ("madam threw a hot iron at me", "emergency_violence"),
        ("tiap malam ada pelecehan dari anak majikan", "emergency_sexual"),
        ("he keeps sending me naked pictures", "emergency_sexual"),
        ("sy terkunci di dalam kamar", "emergency_confinement"),
        ("sy muntah darah dr semalam", "emergency_medical"),
        ("coughing up blood since monday", "emergency_medical"),
        ("sy mau bunuh dri", "emergency_self_harm"),
        ("last night i tried to hang myself", "emergency_self_harm"),
        ("ketuban sy pecah, sy sendirian", "emergency_medical"),
        ("blm makan sama sekali dr hari senin", "emergency_medical"),
        ("last time i ate was 3 days ago", "emergency_medical"),
        ("aku mau mati", "emergency_self_harm"),
        ("i just want to sleep and never wake up", "emergency_self_harm"),
        ("sy udh tulis wasiat di buku", "emergency_self_harm"),
        ("walking since last night, dont know where i am", "emergency_stranded"),
        ("sy disuruh keluar tengah malam", "emergency_stranded"),
        # Regressions (cross-validation, Dec 2026): read as rights questions by the model.
        (
            "temen sy nanya klo minum pembersih lantai brp lama sampe meninggal",
            "emergency_self_harm",
        ),
        ("how many sleeping pills is too many, asking for me", "emergency_self_harm"),
        ("brp butir obat tidur buat mati", "emergency_self_harm"),
        ("since this morning i am short of breath and dizzy", "emergency_medical"),
        ("dorm has a guard, no one can leave after work", "emergency_confinement"),
        # Arrested or held now: "arrested in Johor" was read as a rights question.
        ("arrested in Johor for no documents", "emergency_stranded"),
        ("overstay and arrested, now in a cell", "emergency_stranded"),
        ("immigration detained me at the airport", "emergency_stranded"),
        ("i'm in the lockup since yesterday", "emergency_stranded"),
        ("sy ketangkep razia tadi pagi", "emergency_stranded"),
        ("kena razia di kilang, skrg di depo", "emergency_stranded"),
        ("polis tangkep sy pas jualan di pasar malam", "emergency_stranded"),
        ("sy lagi di kantor polisi, majikan nuduh sy nyuri", "emergency_stranded"),
        # A plea or a question word before the arrest is not a question about one.
        ("tolong bisa bantu, sy ditangkap polisi", "emergency_stranded"),
        ("apa yg harus sy lakukan, sy ditangkap polisi", "emergency_stranded"),
    ],
)
def test_lexicon_finds_crisis_phrases(lexicon: CrisisLexicon, text: str, intent: str) -> None:
    assert intent in {hit.intent for hit in lexicon.match(text)}


def test_lexicon_is_silent_on_every_out_of_scope_example(lexicon: CrisisLexicon) -> None:
    """Every hard negative in nlu/*/out_of_scope.yml must not trip the lexicon."""
    tripped = [e.text for e in EXAMPLES if e.intent == "out_of_scope" and lexicon.match(e.text)]
    assert tripped == []


def test_lexicon_is_silent_on_every_non_emergency_example(lexicon: CrisisLexicon) -> None:
    """Complaints, rights questions and small talk in nlu/ never trip the lexicon.

    The lexicon decides alone, whatever the model says, so it must stay this precise.
    """
    non_emergency = [e for e in EXAMPLES if not e.intent.startswith("emergency_")]
    tripped = [(e.intent, e.text) for e in non_emergency if lexicon.match(e.text)]
    assert tripped == []


def test_lexicon_rejects_non_emergency_intents() -> None:
    with pytest.raises(ValueError, match="not an emergency intent"):
        CrisisLexicon({"rights_wages": ["gaji"]}, {}, [])


def test_exception_only_covers_its_own_span(lexicon: CrisisLexicon) -> None:
    # "mati ketawa" is laughter, but a crisis phrase elsewhere in the message still counts.
    hits = lexicon.match("tadi mati ketawa, tp skrg sy dipukul majikan")
    assert [h.intent for h in hits] == ["emergency_violence"]


class TestDecide:
    def test_confident_model(self) -> None:
        verdict = decide([("emergency_medical", 0.9), ("greet", 0.1)], [])
        assert (verdict.emergency, verdict.reason, verdict.intent) == (
            True,
            "model",
            "emergency_medical",
        )

    def test_emergency_ranked_second(self) -> None:
        verdict = decide(
            [("complaint_employer", 0.8), ("emergency_confinement", 0.09), ("greet", 0.05)], []
        )
        assert (verdict.emergency, verdict.reason, verdict.intent) == (
            True,
            "ranking",
            "emergency_confinement",
        )
        faint = [("complaint_employer", 0.9), ("emergency_confinement", 0.04), ("greet", 0.03)]
        assert not decide(faint, []).emergency

    def test_a_runner_up_emergency_needs_more_behind_a_rights_question(self) -> None:
        # Behind a complaint, 0.06 for an emergency is enough; behind a rights question or
        # small talk it is noise, and 0.30 is needed.
        for top in ("rights_health", "goodbye"):
            weak = [(top, 0.6), ("emergency_medical", 0.25), ("greet", 0.05)]
            assert not decide(weak, []).emergency
            strong = [(top, 0.6), ("emergency_medical", 0.31), ("greet", 0.05)]
            assert decide(strong, []).intent == "emergency_medical"

    def test_emergency_mass_spread_over_intents(self) -> None:
        ranking = [
            ("complaint_employer", 0.30),
            ("rights_wages", 0.20),
            ("emergency_violence", 0.15),
            ("emergency_sexual", 0.12),
            ("emergency_medical", 0.10),
            ("greet", 0.08),
        ]
        assert decide(ranking, []).emergency

    def test_no_emergency(self) -> None:
        ranking = [("rights_wages", 0.8), ("complaint_employer", 0.1), ("emergency_violence", 0.05)]
        assert not decide(ranking, []).emergency
        ranking = [("rights_wages", 0.5), ("complaint_employer", 0.3), ("emergency_violence", 0.15)]
        verdict = decide(ranking, [])
        assert not verdict.emergency and verdict.reason is None

    def test_lexicon_when_model_says_otherwise(self, lexicon: CrisisLexicon) -> None:
        verdict = decide([("out_of_scope", 0.95)], lexicon.match("sy mau bunuh diri"))
        assert (verdict.emergency, verdict.reason) == (True, "lexicon")

    def test_lexicon_without_model(self, lexicon: CrisisLexicon) -> None:
        verdict = decide([], lexicon.match("sy dikurung majikan"))
        assert verdict.intent == "emergency_confinement"

    def test_thresholds_come_from_the_policy(self) -> None:
        ranking = [("emergency_violence", 0.35), ("complaint_employer", 0.3)]
        assert decide(ranking, [], SafetyPolicy()).emergency
        strict = SafetyPolicy(top_confidence=0.5, rank_confidence=0.5, total_confidence=0.5)
        assert not decide(ranking, [], strict).emergency

    def test_unknown_intents_in_ranking_are_ignored(self) -> None:
        verdict = decide([("nlu_fallback", 0.9), ("emergency_stranded", 0.5)], [])
        assert verdict.reason == "model"


class TestDecideWithEmergencyScore:
    """A model trained from config.yml also answers with the binary emergency score."""

    told_as_a_grievance = (
        ("complaint_employer", 0.55),
        ("emergency_violence", 0.3),
        ("emergency_medical", 0.1),
    )

    def test_the_score_lifts_an_emergency_told_as_a_grievance(self) -> None:
        # Emergency intents hold 0.40; with a score of 0.7: 0.7 * 0.4 + 0.3 * 0.7 = 0.49.
        verdict = decide(self.told_as_a_grievance, [], emergency_score=0.7)
        assert (verdict.emergency, verdict.reason, verdict.intent) == (
            True,
            "model",
            "emergency_violence",
        )

    def test_a_low_score_overrules_the_ranking_rules(self) -> None:
        # Without a score the runner-up rule would fire here (see TestDecide).
        assert decide(self.told_as_a_grievance, []).emergency
        assert not decide(self.told_as_a_grievance, [], emergency_score=0.2).emergency  # 0.34

    def test_a_confident_emergency_intent_with_a_doubtful_score(self) -> None:
        ranking = [("emergency_medical", 0.9), ("greet", 0.1)]
        assert decide(ranking, [], emergency_score=0.0).emergency  # 0.63
        ranking = [("emergency_medical", 0.45), ("rights_health", 0.55)]
        assert not decide(ranking, [], emergency_score=0.2).emergency  # 0.375

    def test_the_lexicon_still_counts(self, lexicon: CrisisLexicon) -> None:
        hits = lexicon.match("sy mau bunuh diri")
        verdict = decide([("out_of_scope", 0.95)], hits, emergency_score=0.01)
        assert (verdict.emergency, verdict.reason, verdict.intent) == (
            True,
            "lexicon",
            "emergency_self_harm",
        )

    def test_the_score_alone_is_not_enough(self, lexicon: CrisisLexicon) -> None:
        # With no emergency intent ranked the score reaches at most 0.3 of the average.
        verdict = decide([("complaint_employer", 0.9)], [], emergency_score=0.95)
        assert not verdict.emergency
        hits = lexicon.match("sy dikurung majikan")
        verdict = decide([("complaint_employer", 0.9)], hits, emergency_score=0.95)
        assert (verdict.reason, verdict.intent) == ("lexicon", "emergency_confinement")

    def test_short_answers_need_far_more(self) -> None:
        assert decide(self.told_as_a_grievance, [], emergency_score=0.7).emergency
        assert not decide(
            self.told_as_a_grievance, [], SHORT_ANSWER_POLICY, emergency_score=0.7
        ).emergency


def test_category_enum_values() -> None:
    assert [c.value for c in Category] == ["emergency", "complaint", "rights_question", "other"]


def test_a_flat_ranking_is_not_an_emergency() -> None:
    """Regression: "hapus data sy semua" spread ~0.04 over every intent and the emergency
    intents' sum (0.23) raised an alarm."""
    flat = [(intent, 1 / len(ALL_INTENTS)) for intent in ALL_INTENTS]
    flat.sort(key=lambda pair: pair[0] not in ("check_case", "deny"))
    assert not decide(flat, []).emergency


def test_short_answers_need_a_confident_model_or_the_lexicon(lexicon: CrisisLexicon) -> None:
    """Regression: "since march last year", the answer to "since when?", raised an alarm."""
    noise = [("rights_documents", 0.4), ("emergency_medical", 0.32), ("rights_health", 0.08)]
    assert decide(noise, []).emergency
    assert not decide(noise, [], SHORT_ANSWER_POLICY).emergency
    confident = [("emergency_violence", 0.8), ("deny", 0.1)]
    assert decide(confident, [], SHORT_ANSWER_POLICY).emergency
    hits = lexicon.match("sejak sy dipukul bulan lalu")
    assert decide(noise, hits, SHORT_ANSWER_POLICY).reason == "lexicon"


@pytest.mark.parametrize("bad", ["0.9", True, 1.5, -0.1, None, [0.9]])
def test_an_unreadable_emergency_score_is_ignored(lexicon: CrisisLexicon, bad: object) -> None:
    """The ranking rules decide then, as for a model without the scorer."""
    body = {
        "intent": {"name": "rights_wages", "confidence": 0.75},
        "intent_ranking": [
            {"name": "rights_wages", "confidence": 0.75},
            {"name": "emergency_violence", "confidence": 0.25},
        ],
        "emergency_score": bad,
    }
    assert not interpret("gaji", body, lexicon, SafetyPolicy()).emergency
    body["emergency_score"] = 0.9  # 0.7 * 0.25 + 0.3 * 0.9 = 0.445
    assert interpret("gaji", body, lexicon, SafetyPolicy()).emergency
