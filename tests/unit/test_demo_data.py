"""The shipped demo data (seed/*.csv, seed/interactions.jsonl) is consistent with itself.

Read straight from the files, so a regenerated seed that breaks one of these stories fails here
before anyone loads it: no outreach to people who may not be contacted, titles that read like a
real history rather than one template, Spanish speakers' places written in Spanish, and a
dashboard with something on it.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from crm.interactions.models import CONTRIBUTION_KINDS, InteractionKind

SEED = Path(__file__).resolve().parents[2] / "seed"
OUTREACH = {k.value for k in InteractionKind if k.value.startswith("outreach_")}
MAX_TITLE_REPEAT = 10

# English names of places whose Spanish name differs: none may appear in a Spanish speaker's profile.
ENGLISH_EXONYMS = (
    "Seville", "Mexico City", "New York", "London", "Edinburgh", "Dublin", "Sydney", "Berlin", "Amsterdam",
    "Singapore", "Cape Town", "Corunna", "Spain", "Mexico", "Peru", "United Kingdom", "Ireland", "United States",
    "Canada", "New Zealand", "Germany", "Netherlands", "South Africa",
)  # fmt: skip
# And the other way round: English speakers' profiles use the English names.
SPANISH_ENDONYMS = (
    "Sevilla", "Ciudad de México", "Nueva York", "Londres", "Edimburgo", "Dublín", "Sídney", "Berlín", "Ámsterdam",
    "Singapur", "Ciudad del Cabo", "España", "México", "Perú", "Reino Unido", "Irlanda", "Estados Unidos", "Canadá",
    "Nueva Zelanda", "Alemania", "Países Bajos", "Sudáfrica",
)  # fmt: skip


@cache
def _profiles() -> dict[str, dict[str, str]]:
    with (SEED / "profiles.csv").open(encoding="utf-8") as f:
        return {row["key"]: row for row in csv.DictReader(f)}


@cache
def _reach() -> Counter[str]:
    reach: Counter[str] = Counter()
    with (SEED / "identities.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            reach[row["profile_key"]] += int(row["followers"])
    return reach


@cache
def _interactions() -> list[dict[str, Any]]:
    with (SEED / "interactions.jsonl").open(encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def _words(names: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")


def test_the_sizes_stay_those_of_a_believable_community():
    with (SEED / "identities.csv").open(encoding="utf-8") as f:
        identities = sum(1 for _ in csv.DictReader(f))
    with (SEED / "relationships.csv").open(encoding="utf-8") as f:
        relationships = sum(1 for _ in csv.DictReader(f))
    assert len(_profiles()) == 300
    assert 700 <= identities <= 850
    assert 3_300 <= relationships <= 4_000
    assert 6_000 <= len(_interactions()) <= 7_000


def test_no_outreach_to_people_who_may_not_be_contacted():
    people = _profiles()
    assert {"outreach_email", "outreach_dm", "outreach_meeting"} == OUTREACH
    outreach = [i for i in _interactions() if i["kind"] in OUTREACH]
    assert len(outreach) >= 100  # the team does reach out, to those who allow it
    offending = [
        (i["external_id"], i["kind"], people[i["profile_key"]]["status"], people[i["profile_key"]]["may_contact"])
        for i in outreach
        if people[i["profile_key"]]["may_contact"] != "true" or people[i["profile_key"]]["status"] == "do_not_contact"
    ]
    assert offending == [], f"{len(offending)} outreach interactions to non-contactable people, e.g. {offending[:5]}"


def test_interaction_titles_are_varied():
    titles = Counter(i["title"] for i in _interactions())
    worst = titles.most_common(5)
    assert worst[0][1] <= MAX_TITLE_REPEAT, f"titles repeated too often: {worst}"
    assert len(titles) >= len(_interactions()) // 2


def test_spanish_speakers_places_are_written_in_spanish():
    people = [p for p in _profiles().values() if p["language"] == "es"]
    english = _words(ENGLISH_EXONYMS)
    wrong = [(p["key"], p["location"]) for p in people if english.search(p["location"])]
    assert wrong == [], f"Spanish speakers with English place names: {wrong[:10]}"
    wrong_bios = [(p["key"], p["bio"]) for p in people if english.search(p["bio"])]
    assert wrong_bios == []
    countries = {p["location"].rsplit(", ", 1)[1] for p in people}
    assert {"España", "México", "Perú"} <= countries  # the names that differ are there, in Spanish


def test_spanish_speakers_interactions_name_places_in_spanish():
    spanish = {key for key, p in _profiles().items() if p["language"] == "es"}
    english = _words(ENGLISH_EXONYMS)
    wrong = [(i["external_id"], i["title"]) for i in _interactions()
             if i["profile_key"] in spanish and english.search(i["title"] + " " + i["body"])]
    assert wrong == [], wrong[:10]


def test_english_speakers_places_are_written_in_english():
    people = [p for p in _profiles().values() if p["language"] == "en"]
    spanish = _words(SPANISH_ENDONYMS)
    wrong = [(p["key"], p["location"]) for p in people if spanish.search(p["location"] + " " + p["bio"])]
    assert wrong == [], f"English speakers with Spanish place names: {wrong[:10]}"


def test_the_dashboard_has_negative_mentions_from_large_reach_in_the_last_sixty_days():
    """Enough negative posts from people with a large audience for the crisis radar, after the loader moves the
    newest interaction to today."""
    newest = max(datetime.fromisoformat(i["occurred_at"]) for i in _interactions())
    reach = _reach()
    negative = [
        i for i in _interactions()
        if i["sentiment"] is not None and i["sentiment"] < -0.2 and reach[i["profile_key"]] >= 10_000
        and datetime.fromisoformat(i["occurred_at"]) >= newest - timedelta(days=60)
    ]  # fmt: skip
    assert len(negative) >= 6  # the dashboard card lists six
    assert len({i["profile_key"] for i in negative}) >= 3


def test_there_are_contributions_every_month():
    contributions = {k.value for k in CONTRIBUTION_KINDS}
    per_month = Counter(i["occurred_at"][:7] for i in _interactions() if i["kind"] in contributions)
    first, last = min(per_month), max(per_month)
    months = [f"{y}-{m:02d}" for y in range(int(first[:4]), int(last[:4]) + 1) for m in range(1, 13)]
    months = [m for m in months if first <= m <= last]
    assert len(months) == 18
    thin = {m: per_month[m] for m in months if per_month[m] < 100}
    assert thin == {}
