"""The pure core of listening: term matching (English and Spanish), the sentiment word list, the
Poisson spike test on constructed series, and the crisis priority; then mentions written as
interactions arrive through the interaction log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from crm.audit.service import SYSTEM
from crm.db import session_scope
from crm.interactions import log
from crm.interactions.models import Interaction, InteractionIn, InteractionPatch
from crm.listening import priority, spikes
from crm.listening.models import Mention, Topic
from crm.listening.sentiment import BUILTIN, estimate
from crm.listening.terms import BadTerm, Matcher, parse_term, topic_terms
from tests.factories import make_profile, make_user

# ---- terms ----------------------------------------------------------------------------------------


def _matcher() -> Matcher:
    return Matcher([topic_terms(1, ["Altavoz", "slow dashboard"], ["altavoz fm"]),
                    topic_terms(2, ["reembolso", "crash*"], []),
                    topic_terms(3, ["Orbit"], [])])


@pytest.mark.parametrize(("text", "expected"), [
    ("I love ALTAVOZ", {1: "Altavoz"}),
    ("altavoz is great", {1: "Altavoz"}),
    ("The dashboards are slow", {}),  # a phrase is consecutive words
    ("such a Slow Dashboard today", {1: "slow dashboard"}),
    ("slow dashboards everywhere", {1: "slow dashboard"}),  # stems: dashboards -> dashboard
    ("Listen to Altavoz FM tonight", {}),  # the exclusion
    ("Quiero mis REEMBOLSOS ya", {2: "reembolso"}),  # Spanish stem, case folded
    ("It crashed twice", {2: "crash*"}),
    ("a car crash", {2: "crash*"}),
    ("cra", {}),
    ("Orbiting the sun", {}),  # not a prefix term: "orbit" does not stem from "orbiting"... unless it does
    ("Orbit vs Altavoz", {1: "Altavoz", 3: "Orbit"}),
])
def test_matching(text: str, expected: dict[int, str]) -> None:
    found = _matcher().match(text)
    if text.startswith("Orbiting"):  # the English stemmer makes "orbit" of "orbiting": a stem match
        assert found == {3: "Orbit"}
        return
    assert found == expected


def test_accents_fold_both_ways() -> None:
    assert Matcher([topic_terms(1, ["caída"], [])]).match("Otra CAIDA del servicio") == {1: "caída"}
    assert Matcher([topic_terms(1, ["caida"], [])]).match("otra caída") == {1: "caida"}


@pytest.mark.parametrize("bad", ["", "   ", "!!!", "cr*", "foo* bar", "a b c d e f g"])
def test_bad_terms_are_refused_with_a_reason(bad: str) -> None:
    with pytest.raises(BadTerm):
        parse_term(bad)


# ---- sentiment --------------------------------------------------------------------------------------


def test_estimate_is_explained_and_negation_flips() -> None:
    guess = estimate("The dashboard is terribly slow. Not good.", BUILTIN)
    assert guess is not None
    assert guess.language == "en"
    assert dict(guess.found) == {"terribly": -3, "slow": -1, "not good": -1}
    assert guess.score == -1.0  # -5 / 4, capped


def test_estimate_spanish_and_unknown() -> None:
    guess = estimate("Me encanta la app, es muy buena", BUILTIN)
    assert guess is not None and guess.language == "es" and guess.score == 1.0
    assert estimate("Nothing to see here", BUILTIN) is None  # unknown, not neutral
    mild = estimate("the app is slow", BUILTIN)
    assert mild is not None and mild.score == -0.25


# ---- spikes -----------------------------------------------------------------------------------------

START = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())


def _series(per_day: dict[int, int], *, hour: int = 10) -> list[float]:
    """`count` mentions on each day offset, spread over the hour after `hour`."""
    out: list[float] = []
    for day, count in per_day.items():
        for i in range(count):
            out.append(START + day * spikes.DAY + hour * spikes.HOUR + i * 60)
    return sorted(out)


def test_poisson_tail_values() -> None:
    assert spikes.poisson_tail(0, 3.0) == 1.0
    assert spikes.poisson_tail(1, 0.0) == 0.0
    assert spikes.poisson_tail(1, 2.0) == pytest.approx(1 - 0.1353352832, rel=1e-9)
    assert spikes.poisson_tail(3, 1.0) == pytest.approx(1 - 0.3678794412 * (1 + 1 + 0.5), rel=1e-9)


def test_a_low_volume_spike_is_found_and_only_it() -> None:
    # One mention every other day for 60 days, then 4 on day 45: a spike at a few mentions a day.
    days = {d: 1 for d in range(0, 60, 2)}
    days[45] = 4
    rule = spikes.SpikeRule(window_hours=24, baseline_days=14, max_p=0.01, min_count=3, cooldown_hours=24)
    fired = spikes.firings(_series(days), START + 15 * spikes.DAY, START + 60 * spikes.DAY, rule)
    assert [datetime.fromtimestamp(t.at, UTC).date() for t in fired] == [datetime(2026, 2, 15).date()]
    assert fired[0].observed == 4 and fired[0].expected == pytest.approx(7 / 14)


def test_min_count_holds_back_a_single_mention_after_silence() -> None:
    rule = spikes.SpikeRule(min_count=3)
    assert spikes.firings(_series({30: 1}), START, START + 40 * spikes.DAY, rule) == []
    assert spikes.test_at(_series({30: 1}), START + 31 * spikes.DAY, rule).p_value < 0.1


def test_two_known_spikes_at_high_volume_and_cooldown() -> None:
    days = {d: 20 for d in range(0, 90)}
    days[40] = 45
    days[70] = 60
    rule = spikes.SpikeRule(window_hours=24, baseline_days=14, max_p=0.001, min_count=5, cooldown_hours=48)
    fired = spikes.firings(_series(days), START + 15 * spikes.DAY, START + 90 * spikes.DAY, rule)
    assert [datetime.fromtimestamp(t.at, UTC).day for t in fired] == [10, 12]  # Feb 10 and Mar 12
    # every hour of the 24 hours holding the burst would fire; the cooldown keeps one
    assert len(spikes.firings(_series(days), START + 15 * spikes.DAY, START + 90 * spikes.DAY,
                              spikes.SpikeRule(max_p=0.001, cooldown_hours=0))) == 48


def test_firings_resume_where_live_evaluation_stopped() -> None:
    """Evaluating in pieces (as the worker does, hour by hour) finds what one pass over the range finds."""
    days = {d: 2 for d in range(0, 60)} | {20: 12, 21: 3, 50: 9}
    times = _series(days)
    rule = spikes.SpikeRule(min_count=5, max_p=0.01, cooldown_hours=12)
    whole = spikes.firings(times, START, START + 60 * spikes.DAY, rule)
    pieces: list[spikes.Test] = []
    cursor = START
    while cursor < START + 60 * spikes.DAY:
        nxt = cursor + 7 * spikes.HOUR
        pieces += spikes.firings(times, cursor, nxt, rule, last_fired=pieces[-1].at if pieces else None)
        cursor = nxt
    assert [t.at for t in pieces] == [t.at for t in whole]
    assert len(whole) >= 2


# ---- crisis priority ----------------------------------------------------------------------------------


def test_champion_complaint_outranks_a_larger_stranger() -> None:
    champion = priority.crisis_priority(sentiment=-0.5, kind="post", audience=2_000, standing=priority.Standing.champion)
    stranger = priority.crisis_priority(sentiment=-0.5, kind="post", audience=200_000, standing=priority.Standing.stranger)
    assert champion.value > stranger.value
    assert champion.value == pytest.approx(0.5 * (1 + 3.30103) * 3.0, abs=1e-3)
    assert stranger.reach_factor > champion.reach_factor


def test_negativity_and_standing() -> None:
    assert priority.negativity(0.4, "post") == 0.0
    assert priority.negativity(None, "complaint") == 0.5
    assert priority.negativity(-0.8, "complaint") == 0.8
    standing = priority.standing_of
    assert standing(level=1, is_team_member=True, roles=[], earlier_mean_sentiment=None, earlier_count=0) == "employee"
    assert standing(level=1, is_team_member=False, roles=["journalist"], earlier_mean_sentiment=None,
                    earlier_count=0) == "journalist"
    assert standing(level=1, is_team_member=False, roles=[], earlier_mean_sentiment=-0.9, earlier_count=9) == "champion"
    assert standing(level=3, is_team_member=False, roles=[], earlier_mean_sentiment=-0.3, earlier_count=3) == "detractor"
    assert standing(level=3, is_team_member=False, roles=[], earlier_mean_sentiment=-0.3, earlier_count=2) == "contributor"
    assert standing(level=4, is_team_member=False, roles=[], earlier_mean_sentiment=None, earlier_count=0) == "stranger"


# ---- mentions as interactions arrive ---------------------------------------------------------------


def test_logged_interactions_become_mentions_with_an_estimated_sentiment(engine) -> None:  # type: ignore[no-untyped-def]
    person = make_profile(engine, "Marta Ruiz")
    manager = make_user(engine, "m@example.com", role="manager")
    with session_scope(engine, write=True) as session:
        session.add(Topic(name="Dashboard", kind="product", terms=["dashboard"], exclusions=["dashboard camera"]))
    when = datetime.now(UTC) - timedelta(hours=2)
    with session_scope(engine, write=True) as session:
        hit = log.log_interaction(person.id or 0, InteractionIn(kind="post", title="The dashboard is terribly slow",
                                                               occurred_at=when), session=session, actor=SYSTEM)
        given = log.log_interaction(person.id or 0, InteractionIn(kind="post", body="dashboard day", sentiment=0.5,
                                                                 occurred_at=when), session=session, actor=SYSTEM)
        miss = log.log_interaction(person.id or 0, InteractionIn(kind="post", body="my dashboard camera is terrible",
                                                                occurred_at=when), session=session, actor=SYSTEM)
        ids = (hit.id, given.id, miss.id)
    with session_scope(engine) as session:
        mentions = session.execute(select(Mention.interaction_id, Mention.term, Mention.profile_id)).all()
        assert sorted(m.interaction_id for m in mentions) == sorted([ids[0], ids[1]])
        rows = {r.id: r for r in session.execute(select(Interaction)).scalars()}
    assert (rows[ids[0]].sentiment, rows[ids[0]].sentiment_source) == (-1.0, "estimated")
    assert (rows[ids[1]].sentiment, rows[ids[1]].sentiment_source) == (0.5, "")  # from the source: untouched
    assert (rows[ids[2]].sentiment, rows[ids[2]].sentiment_source) == (None, "")  # no mention: no estimate
    # an edit that removes the term removes the mention
    with session_scope(engine, write=True) as session:
        log.update_interaction(ids[0] or 0, InteractionPatch(title="All fine"), session=session, actor=SYSTEM, user=manager)
    with session_scope(engine) as session:
        assert session.execute(select(Mention.interaction_id)).scalars().all() == [ids[1]]


# ---- edges (mutation testing found these unguarded) ---------------------------------------------


def test_term_edges() -> None:
    assert parse_term("cra*").parts == ((True, "cra"),)  # three letters are enough for a prefix
    assert len(parse_term("one two three four five six").parts) == 6  # six words: the most a phrase may have
    with pytest.raises(BadTerm, match="at the end of the last word"):
        parse_term("foo* bar")
    with pytest.raises(BadTerm, match="three letters"):
        parse_term("cr*")
    with pytest.raises(BadTerm, match="no letters or digits"):
        parse_term("!!")
    with pytest.raises(BadTerm, match="at most 6 words"):
        parse_term("a b c d e f g")
    words_only = Matcher([topic_terms(1, ["dash"], [])])
    assert words_only.match("the dashboard") == {}  # a plain word is not a prefix
    assert words_only.match("a quick dash") == {1: "dash"}
    phrase = Matcher([topic_terms(1, ["slow dashboard"], [])])
    assert phrase.match("it is slow") == {}  # the phrase's first word at the very end of the text
    assert phrase.match("slow") == {}
    ending_in_prefix = Matcher([topic_terms(1, ["slow dash*"], [])])
    assert ending_in_prefix.match("so slow dashboards") == {1: "slow dash*"}
    assert ending_in_prefix.match("so slow cars") == {}
    # a term that cannot match is left out, and the next ones still count
    assert [t.text for t in topic_terms(1, ["!!!", "good", "x*", "fine"], []).terms] == ["good", "fine"]


def test_estimate_edges() -> None:
    assert dict(estimate("Not good at all", BUILTIN).found) == {"not good": -1}  # type: ignore[union-attr]
    assert dict(estimate("not really very good", BUILTIN).found) == {"good": 1}  # type: ignore[union-attr]
    assert estimate("love love", BUILTIN).score == 1.0  # type: ignore[union-attr]  # capped at +1
    assert estimate("hate hate", BUILTIN).score == -1.0  # type: ignore[union-attr]
    # the longest prefix wins
    lists = {"en": {"good*": 1, "goodbye*": -2}, "es": {}}
    assert dict(estimate("goodbye", lists).found) == {"goodbye": -2}  # type: ignore[union-attr]
    assert dict(estimate("goodness", lists).found) == {"goodness": 1}  # type: ignore[union-attr]
    # a language given wins over the guess; an unknown one falls back to the guess
    spanish = {"en": {"malo": 3}, "es": {"malo": -2}}
    assert estimate("the app is malo", spanish, language="es").score == -0.5  # type: ignore[union-attr]
    assert estimate("the app is malo", spanish, language="fr").score == 0.75  # type: ignore[union-attr]
    assert estimate("the app is malo", spanish).language == "en"  # type: ignore[union-attr]
    assert estimate("el y de", {"en": {}, "es": {}}) is None
    from crm.listening.sentiment import guess_language
    assert guess_language(["the", "el"]) == "en"  # a tie is English
    assert guess_language(["the", "el", "la"]) == "es"


def test_clean_words() -> None:
    from crm.listening.sentiment import clean_words

    clean, errors = clean_words({"Great": 2, "crash*": -2, "Genial": 3, "bad word": 1, "x": 5, "ok": 0, "t-rex": 1,
                                 "yes": True, "fine": "2", "": 1, "zap": -3, "wow": 3})
    assert clean == {"great": 2, "crash*": -2, "genial": 3, "zap": -3, "wow": 3}
    assert set(errors) == {"bad word", "x", "ok", "t-rex", "yes", "fine", "?"}
    assert "one word" in errors["bad word"] and "-3 to 3" in errors["x"]


def test_window_edges_are_exact() -> None:
    """The window is (at - window, at], the baseline (window start - baseline, window start]."""
    rule = spikes.SpikeRule(window_hours=24, baseline_days=1, min_count=1, max_p=1.0)
    at = START + 10 * spikes.DAY
    w0, b0 = at - spikes.DAY, at - 2 * spikes.DAY
    assert spikes.test_at([at], at, rule).observed == 1
    assert spikes.test_at([w0], at, rule).observed == 0
    edges = spikes.test_at([b0, b0, b0, w0, w0], at, rule)
    assert (edges.observed, edges.expected) == (0, 2.0)  # w0 closes the baseline; b0 is before it
    near = spikes.test_at([b0 + 0.5, w0 + 0.5, at - 0.5, at + 0.5], at, rule)
    assert (near.observed, near.expected) == (2, 1.0)
    assert spikes.test_at([b0 + 0.5, b0 + 1, w0 - 0.5], at, rule).expected == 3.0
    assert spikes.hour_floor(-1) == -spikes.HOUR


def test_firing_thresholds_are_inclusive() -> None:
    at = START + 10 * spikes.DAY
    times = [at - 100.0 * i for i in range(5)]
    p = spikes.test_at(times, at, spikes.SpikeRule(min_count=1, max_p=1.0)).p_value
    assert spikes.test_at(times, at, spikes.SpikeRule(min_count=5, max_p=p)).fired  # exactly min count, exactly p
    assert not spikes.test_at(times, at, spikes.SpikeRule(min_count=6, max_p=1.0)).fired
    assert not spikes.test_at(times, at, spikes.SpikeRule(min_count=1, max_p=p * 0.999)).fired


def test_firings_start_after_start_and_resume_right_after_the_rest() -> None:
    rule = spikes.SpikeRule(window_hours=1, baseline_days=1, min_count=1, max_p=0.5, cooldown_hours=2)
    at = START + 10 * spikes.DAY
    times = [at - 10.0, at + spikes.HOUR - 10, at + 2 * spikes.HOUR - 10, at + 3 * spikes.HOUR - 10]
    assert [t.at for t in spikes.firings(times, at, at + 3 * spikes.HOUR, rule)] == [at + spikes.HOUR, at + 3 * spikes.HOUR]
    assert [t.at for t in spikes.firings(times, at - 1, at + 3 * spikes.HOUR, rule)] == [at, at + 2 * spikes.HOUR]
    assert [t.at for t in spikes.firings(times, at, at + 3 * spikes.HOUR, rule, last_fired=at - spikes.HOUR)] == \
        [at + spikes.HOUR, at + 3 * spikes.HOUR]


def test_priority_fields_and_rounding() -> None:
    assert priority.reach_factor(0) == 1.0
    assert priority.reach_factor(-5) == 1.0
    assert priority.reach_factor(1000) == 4.0  # 1 + log10(1001), to three decimals
    assert priority.reach_factor(999) == 4.0
    assert priority.negativity(-0.12345, "post") == 0.123
    assert priority.negativity(0.0, "post") == 0.0
    assert priority.negativity(-1.0, "complaint") == 1.0
    got = priority.crisis_priority(sentiment=None, kind="complaint", audience=1000, standing=priority.Standing.detractor)
    assert got == priority.Priority(value=1.6, negativity=0.5, reach_factor=4.0, audience=1000,
                                    standing=priority.Standing.detractor, standing_weight=0.8)
    odd = priority.crisis_priority(sentiment=-0.333, kind="post", audience=7, standing=priority.Standing.advocate)
    assert odd.value == round(0.333 * 1.903 * 2.0, 3) == 1.267
