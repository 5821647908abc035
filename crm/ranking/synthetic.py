"""Synthetic scale data: a realistic, heavy-tailed community written straight into the database.

`generate(engine, profiles=N, edges=M, interactions=K, seed=S)` (the CLI: `crm seed synthetic`) adds N
people with their identities, M relationships and K interactions, for benchmarks and for trying the app
at scale. What it looks like:

- people: English or Spanish names, languages and cities; mostly customers, then evangelists,
  influencers, moderators, partners...; a few team members; 1–3 topics from a small vocabulary, the
  first being their community's; statuses and consent as a real base has them.
- identities on 1–3 platforms. Followers are lognormal around a platform's typical audience and share a
  per-person "fame" factor (influencers and journalists get more of it), so a few accounts are huge and
  most are small; e-mail identities have no followers and forum (Discourse) accounts a handful.
- relationships, origin "imported": targets are drawn in proportion to a heavy-tailed attractiveness
  tied to fame (preferential attachment by fitness: in-degree is heavy-tailed), three quarters inside
  the source's community (communities have Pareto sizes), some followed back; kinds mostly follows,
  then mentions, replies_to, knows...; strength in (0, 1]; unique on (source, target, kind), no self-loops.
- interactions, source "synthetic": a heavy-tailed number per person (moderators, evangelists and
  influencers are more active), kinds weighted towards posts, replies, forum answers and mentions,
  over the last two years with more of them recently; sentiment mostly unknown, else in [-1, 1]
  (complaints negative); replies, mentions, answers and referrals often have a counterpart, usually
  someone the person is connected to. external_id is "syn-<run>-<n>", so a second run never collides.

Rows go in with Core bulk INSERTs (executemany of dicts) in batches, one transaction per batch. The
derived columns (reach, contributions, last activity, search text, sort name) are computed here as
crm.profiles.stats computes them and inserted with the rows; `stats.refresh_on_connection` then runs
over the new people, so they are right even if the two ever disagree (it writes only rows that differ).
Edges derived from interactions that have a counterpart are made by
`crm.relationships.service.refresh_derived_edges` when `derived_edges` is true.

Deterministic for a given seed (and `now`): the random streams are numpy Generators seeded per stage
and per batch, so memory stays bounded by a batch plus a few arrays of N or M numbers.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, func, insert, select, text

from crm.db import utcnow, write_bind
from crm.interactions.models import CONTRIBUTION_KINDS, OUR_KINDS, Interaction, Relationship, RelationshipOrigin
from crm.profiles import stats
from crm.profiles.models import Identity, Profile, normalise_handle
from crm.relationships.service import refresh_derived_edges

__all__ = ["MAX_EDGES", "MAX_INTERACTIONS", "MAX_PROFILES", "SOURCE", "SyntheticResult", "check_sizes", "generate"]

MAX_PROFILES = 5_000_000
MAX_EDGES = 20_000_000  # the edge arrays and their de-duplication are held in memory
MAX_INTERACTIONS = 50_000_000
SOURCE = "synthetic"
PROFILE_BATCH = 5_000  # people per transaction (with their ~1.8 identities each)
ROW_BATCH = 20_000  # relationships or interactions per transaction
REFRESH_BATCH = 5_000
WINDOW_DAYS = 730  # interactions and edges fall in the last two years

Progress = Callable[[str, int, int], None]

_P = Profile.__table__  # type: ignore[attr-defined]
_I = Identity.__table__  # type: ignore[attr-defined]
_R = Relationship.__table__  # type: ignore[attr-defined]
_X = Interaction.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class SyntheticResult:
    profiles: int
    identities: int
    relationships: int  # origin "imported", as asked
    interactions: int
    derived_relationships: int  # origin "interaction", from interactions with a counterpart
    first_profile_id: int | None
    last_profile_id: int | None
    seconds: dict[str, float] = field(default_factory=dict)  # per stage


# ---- vocabulary ----------------------------------------------------------------------------------

FIRST_EN = ["Emma", "Olivia", "Sarah", "Grace", "Chloe", "Amelia", "Rachel", "Megan", "Zoe", "Laura", "Priya",
            "Mei", "Maya", "Ruth", "Alice", "Niamh", "James", "Oliver", "Jack", "Harry", "Noah", "Liam", "Ethan",
            "Samuel", "Daniel", "Thomas", "Henry", "Lucas", "Ryan", "Ravi", "Arjun", "Kwame", "Marcus", "Owen"]
LAST_EN = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Taylor", "Moore",
           "Martin", "Thompson", "White", "Harris", "Clark", "Lewis", "Walker", "Young", "King", "Wright", "Scott",
           "Green", "Baker", "Adams", "Hill", "Campbell", "Evans", "Turner", "Parker", "Collins", "Murphy",
           "O'Brien", "Okafor", "Nguyen", "Patel", "Chen", "Kim", "Singh", "Kowalski", "Byrne", "Doyle"]
FIRST_ES = ["María José", "Lucía", "Sofía", "Martina", "Paula", "Valentina", "Camila", "Inés", "Nuria", "Ainhoa",
            "Mónica", "Raquel", "Ángela", "Pilar", "Rocío", "Alba", "Marta", "Elena", "Carmen", "Íñigo",
            "José Luis", "Álvaro", "Andrés", "Sebastián", "Joaquín", "Martín", "Nicolás", "Tomás", "Óscar",
            "Rubén", "Sergio", "Pablo", "Javier", "Héctor", "Iker", "Mateo", "Santiago", "Diego", "Jordi"]
LAST_ES = ["Fernández", "García", "Martínez", "López", "González", "Rodríguez", "Sánchez", "Pérez", "Gómez",
           "Díaz", "Hernández", "Muñoz", "Álvarez", "Jiménez", "Ruiz", "Moreno", "Romero", "Navarro", "Torres",
           "Domínguez", "Vázquez", "Ramos", "Gil", "Serrano", "Blanco", "Castro", "Ortiz", "Rubio", "Marín",
           "Núñez", "Iglesias", "Medina", "Garrido", "Cortés", "Castillo", "Santos", "Etxeberria", "Quispe"]
CITIES_EN = ["London, United Kingdom", "Manchester, United Kingdom", "Dublin, Ireland", "New York, United States",
             "San Francisco, United States", "Seattle, United States", "Austin, United States", "Toronto, Canada",
             "Sydney, Australia", "Berlin, Germany", "Amsterdam, Netherlands", "Bangalore, India", "Lagos, Nigeria"]
CITIES_ES = ["Madrid, España", "Barcelona, España", "Valencia, España", "Sevilla, España", "Bilbao, España",
             "Málaga, España", "Ciudad de México, México", "Guadalajara, México", "Bogotá, Colombia",
             "Medellín, Colombia", "Buenos Aires, Argentina", "Santiago, Chile", "Lima, Perú", "Montevideo, Uruguay"]
# tag, English words, Spanish words
TOPICS = [("kubernetes", "Kubernetes", "Kubernetes"), ("python", "Python", "Python"),
          ("observability", "observability", "observabilidad"), ("devrel", "DevRel", "devrel"),
          ("data engineering", "data engineering", "ingeniería de datos"), ("open source", "open source", "código abierto"),
          ("security", "security", "seguridad"), ("ux design", "UX design", "diseño UX"),
          ("machine learning", "machine learning", "machine learning"), ("devops", "DevOps", "DevOps"),
          ("frontend", "frontend", "frontend"), ("rust", "Rust", "Rust"), ("databases", "databases", "bases de datos"),
          ("api design", "API design", "diseño de APIs"), ("community building", "community building", "comunidades"),
          ("mobile", "mobile", "desarrollo móvil")]
TAGS = ["beta tester", "meetup speaker", "vip", "newsletter"]
# role, weight as the first role, English and Spanish title for the bio
ROLES = [
    ("customer", 38, "Developer", "Desarrollador/a"),
    ("evangelist", 16, "Developer advocate", "Developer advocate"),
    ("influencer", 10, "Content creator", "Creador/a de contenido"),
    ("moderator", 6, "Forum moderator", "Moderador/a del foro"),
    ("partner", 6, "Consultant", "Consultor/a"),
    ("journalist", 3, "Tech journalist", "Periodista tecnológico/a"),
    ("other", 21, "Engineer", "Ingeniero/a"),
]
TEAM_ROLE = "employee_advocate"
STATUSES = [("active", 50), ("prospect", 30), ("inactive", 17), ("do_not_contact", 3)]
BASES = [("consent", 40), ("legitimate_interest", 35), ("contract", 5), ("", 20)]
# platform, weight, lognormal mu and sigma of followers (None: a handful at most), URL pattern
PLATFORMS = [
    ("x", 20, 6.0, 2.0, "https://x.com/{h}"),
    ("linkedin", 15, 6.2, 1.2, "https://www.linkedin.com/in/{h}"),
    ("github", 12, 3.5, 1.6, "https://github.com/{h}"),
    ("discourse", 12, None, None, "https://community.example.org/u/{h}"),
    ("email", 12, None, None, ""),
    ("instagram", 8, 6.3, 2.1, "https://www.instagram.com/{h}"),
    ("youtube", 6, 5.5, 2.4, "https://www.youtube.com/@{h}"),
    ("reddit", 6, 3.0, 1.5, "https://www.reddit.com/user/{h}"),
    ("tiktok", 4, 6.0, 2.5, "https://www.tiktok.com/@{h}"),
    ("blog", 5, 4.5, 1.8, "https://{h}.example.net"),
]
EDGE_KINDS = [("follows", 45), ("mentions", 20), ("replies_to", 15), ("knows", 10), ("collaborates", 5),
              ("colleague", 3), ("referred", 2)]
# kind, weight, channels, English and Spanish title, counterpart probability, reach: typical share of fame
INTERACTION_KINDS = [
    ("post", 25, ("x", "linkedin", "instagram", "reddit"), "Post on {t}", "Publicación sobre {t}", 0.05, 1.0),
    ("reply", 20, ("x", "linkedin", "reddit"), "Reply about {t}", "Respuesta sobre {t}", 0.6, 0.2),
    ("forum_answer", 15, ("discourse",), "Answered a question on {t}", "Respondió una pregunta sobre {t}", 0.6, 0.05),
    ("mention", 15, ("x", "linkedin", "instagram"), "Mentioned us in a thread on {t}", "Nos mencionó en un hilo sobre {t}",
     0.5, 0.8),
    ("review", 3, ("web",), "Review: {t}", "Reseña: {t}", 0.0, 0.3),
    ("talk", 1, ("event",), "Talk on {t}", "Charla sobre {t}", 0.0, 0.5),
    ("article", 3, ("blog",), "Article on {t}", "Artículo sobre {t}", 0.0, 0.6),
    ("video", 2, ("youtube", "tiktok"), "Video on {t}", "Vídeo sobre {t}", 0.0, 1.2),
    ("referral", 1, ("email",), "Referred a team interested in {t}", "Recomendó a un equipo interesado en {t}", 0.7, 0.0),
    ("event_attendance", 2, ("event",), "Attended a meetup on {t}", "Asistió a un meetup sobre {t}", 0.0, 0.0),
    ("feedback", 3, ("email", "slack", "discourse"), "Feedback on {t}", "Comentarios sobre {t}", 0.0, 0.0),
    ("complaint", 1.5, ("x", "email"), "Complaint about {t}", "Queja sobre {t}", 0.0, 0.3),
    ("support_request", 2, ("email", "discourse"), "Support request: {t}", "Solicitud de soporte: {t}", 0.0, 0.0),
    ("bug_report", 2, ("github",), "Bug report: {t}", "Informe de error: {t}", 0.0, 0.0),
    ("outreach_email", 1.5, ("email",), "E-mail about {t}", "Correo sobre {t}", 0.0, 0.0),
    ("outreach_dm", 1, ("x", "linkedin"), "DM about {t}", "Mensaje directo sobre {t}", 0.0, 0.0),
    ("outreach_meeting", 0.5, ("event",), "Meeting about {t}", "Reunión sobre {t}", 0.0, 0.0),
    ("note", 2, ("",), "Note: interested in {t}", "Nota: le interesa {t}", 0.0, 0.0),
]  # fmt: skip
_KIND_NAMES = [k[0] for k in INTERACTION_KINDS]
_CONTRIBUTES = np.array([name in {k.value for k in CONTRIBUTION_KINDS} for name in _KIND_NAMES])
_THEIRS = np.array([name not in {k.value for k in OUR_KINDS} for name in _KIND_NAMES])


def _weights(pairs: list[Any], at: int = 1) -> np.ndarray:
    w = np.array([float(p[at]) for p in pairs])
    return w / w.sum()


# ---- sizes ---------------------------------------------------------------------------------------


def _count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be a whole number")
    return int(value)


def check_sizes(profiles: int, edges: int, interactions: int, seed: int = 7) -> None:
    """ValueError with a message fit for the command line when a size is not positive or absurd."""
    profiles, edges = _count("--profiles", profiles), _count("--edges", edges)
    interactions, seed = _count("--interactions", interactions), _count("--seed", seed)
    if profiles < 1:
        raise ValueError("--profiles must be at least 1")
    if profiles > MAX_PROFILES:
        raise ValueError(f"--profiles must be at most {MAX_PROFILES:,}")
    if edges < 0 or interactions < 0:
        raise ValueError("--edges and --interactions must not be negative")
    if edges > MAX_EDGES:
        raise ValueError(f"--edges must be at most {MAX_EDGES:,}")
    # Unique (source, target, kind) without self-loops: at most half of the possible edges, so drawing stays quick.
    possible = profiles * (profiles - 1) * len(EDGE_KINDS) // 2
    if edges > possible:
        raise ValueError(f"--edges must be at most {possible:,} for {profiles:,} profiles")
    if interactions > MAX_INTERACTIONS:
        raise ValueError(f"--interactions must be at most {MAX_INTERACTIONS:,}")
    if seed < 0 or seed >= 2**63:
        raise ValueError("--seed must be a non-negative whole number")


# ---- the plan: per-person numbers every stage needs ---------------------------------------------


def _rng(seed: int, *stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, *stream]))


@dataclass
class _Plan:
    n: int
    seed: int
    now: datetime
    run: int  # the profile id high-water mark when the run started: numbers handles and external ids
    spanish: np.ndarray  # bool
    role: np.ndarray  # index into ROLES
    team: np.ndarray  # bool
    community: np.ndarray  # community of each person
    community_topic: np.ndarray  # main topic of each community
    fame: np.ndarray  # standard-normal-ish; audience and attractiveness grow with it
    attract_cdf: np.ndarray  # cumulative attractiveness (targets of edges, counterparts)
    activity_cdf: np.ndarray  # cumulative activity (who interacts)


def _plan(n: int, seed: int, now: datetime, run: int) -> _Plan:
    rng = _rng(seed, 0)
    spanish = rng.random(n) < 0.4
    role = rng.choice(len(ROLES), n, p=_weights(ROLES))
    team = rng.random(n) < 0.004
    if n >= 50 and not team.any():
        team[rng.integers(n)] = True  # a few team members, always at least one
    sizes = rng.pareto(1.1, max(1, n // 250)) + 1  # communities: a few large, many small
    community = rng.choice(len(sizes), n, p=sizes / sizes.sum())
    community_topic = rng.integers(0, len(TOPICS), len(sizes))
    role_names = np.array([r[0] for r in ROLES])[role]
    fame = rng.normal(0.0, 1.0, n) + 1.3 * (role_names == "influencer") + 0.7 * (role_names == "journalist")
    attract = (rng.pareto(1.4, n) + 1.0) * np.exp(0.8 * fame)
    busy = np.isin(role_names, ["moderator", "evangelist", "influencer"]) | team
    activity = rng.lognormal(0.0, 1.2, n) * np.where(busy, 4.0, 1.0)
    return _Plan(n=n, seed=seed, now=now, run=run, spanish=spanish, role=role, team=team, community=community,
                 community_topic=community_topic, fame=fame, attract_cdf=_cdf(attract), activity_cdf=_cdf(activity))


def _cdf(weights: np.ndarray) -> np.ndarray:
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    return cdf


def _draw(cdf: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
    return np.minimum(np.searchsorted(cdf, rng.random(size), side="right"), len(cdf) - 1)


# ---- relationships: indices into the plan's people ------------------------------------------------


def _edges(plan: _Plan, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """m distinct (source, target, kind) without self-loops, in a random order."""
    n = plan.n
    if m == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    rng = _rng(plan.seed, 1)
    kinds = len(EDGE_KINDS)
    # People grouped by community: a draw inside a community is a draw in its slice of the cumulative weights.
    order = np.argsort(plan.community, kind="stable")
    weights = np.diff(np.concatenate([[0.0], plan.attract_cdf]))[order]
    grouped_cdf = np.cumsum(weights)
    members = np.bincount(plan.community, minlength=len(plan.community_topic))
    ends = np.cumsum(members)
    starts = ends - members
    keys = np.zeros(0, dtype=np.int64)
    for attempt in range(50):
        want = int((m - len(keys)) * 1.3) + 64
        if attempt < 6:
            sources = _draw(plan.activity_cdf, rng, want)  # active people link more
            inside = rng.random(want) < 0.75
            targets = _draw(plan.attract_cdf, rng, want)
            c = plan.community[sources[inside]]
            low = np.where(starts[c] > 0, grouped_cdf[np.maximum(starts[c] - 1, 0)], 0.0)
            high = grouped_cdf[ends[c] - 1]
            picked = np.searchsorted(grouped_cdf, low + rng.random(len(c)) * (high - low), side="right")
            targets[inside] = order[np.clip(picked, starts[c], ends[c] - 1)]
            kind = rng.choice(kinds, want, p=_weights(EDGE_KINDS))
            back = rng.random(want) < 0.2  # followed back / known both ways
            sources, targets = np.concatenate([sources, targets[back]]), np.concatenate([targets, sources[back]])
            kind = np.concatenate([kind, kind[back]])
        else:  # a small, dense request: uniform draws fill what weighted ones keep hitting twice
            sources, targets = rng.integers(0, n, want), rng.integers(0, n, want)
            kind = rng.integers(0, kinds, want)
        fresh = sources != targets
        new = (sources[fresh].astype(np.int64) * n + targets[fresh]) * kinds + kind[fresh]
        combined = np.concatenate([keys, new])
        _, first = np.unique(combined, return_index=True)
        keys = combined[np.sort(first)]  # first occurrences, in the order drawn
        if len(keys) >= m:
            break
    else:  # pragma: no cover  (check_sizes keeps requests at most half of what is possible)
        raise RuntimeError("could not draw enough distinct relationships")
    keys = keys[:m]
    kind = keys % kinds
    pair = keys // kinds
    return pair // n, pair % n, kind


# ---- interactions ----------------------------------------------------------------------------------


def _interaction_chunks(k: int) -> Iterator[tuple[int, int, int]]:
    for number, start in enumerate(range(0, k, ROW_BATCH)):
        yield number, start, min(ROW_BATCH, k - start)


def _skeleton(plan: _Plan, chunk: int, size: int) -> tuple[np.random.Generator, np.ndarray, np.ndarray, np.ndarray]:
    """Who, what and how long ago (seconds) for one chunk; the Generator goes on to draw the rest."""
    rng = _rng(plan.seed, 2, chunk)
    person = _draw(plan.activity_cdf, rng, size)
    kind = rng.choice(len(INTERACTION_KINDS), size, p=_weights(INTERACTION_KINDS))
    age = (WINDOW_DAYS * 86400 * rng.random(size) ** 1.6).astype(np.int64)  # more of them recently
    return rng, person, kind, age


def _activity(plan: _Plan, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per person: contributions, and the age in seconds of their latest own activity (-1: none)."""
    contributions = np.zeros(plan.n, dtype=np.int64)
    latest = np.full(plan.n, np.iinfo(np.int64).max)
    for chunk, _, size in _interaction_chunks(k):
        _, person, kind, age = _skeleton(plan, chunk, size)
        contributions += np.bincount(person[_CONTRIBUTES[kind]], minlength=plan.n)
        theirs = _THEIRS[kind]
        np.minimum.at(latest, person[theirs], age[theirs])
    latest[latest == np.iinfo(np.int64).max] = -1
    return contributions, latest


# ---- writing -------------------------------------------------------------------------------------


def _slug(text_: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", stats.fold(text_))


def _high_water(conn: Connection) -> int:
    """The highest profile id ever handed out (ids are never reused), 0 on an empty database."""
    top = int(conn.execute(select(func.coalesce(func.max(_P.c.id), 0))).scalar_one())
    if conn.dialect.name == "sqlite":
        seq = conn.execute(text("SELECT seq FROM sqlite_sequence WHERE name = 'profile'")).scalar()
    else:
        name = conn.execute(text("SELECT pg_get_serial_sequence('profile', 'id')")).scalar_one()
        seq = conn.execute(text(f"SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {name}")).scalar()
    return max(top, int(seq or 0))


@lru_cache(maxsize=200_000)
def _fold(text_: str) -> str:
    return stats.fold(text_)


def _search_text(profile: dict[str, Any], handles: list[str]) -> str:
    """stats.search_text_of, folding each part once (names, places and bios repeat): folding is per
    character and no part starts with a combining mark, so folding the parts is folding the whole."""
    parts = [profile["display_name"], " ".join(handles), " ".join(profile["topics"]), " ".join(profile["tags"]),
             profile["location"], profile["bio"]]
    return " | ".join(_fold(part) for part in parts if part)


def _people_rows(plan: _Plan, batch: int, lo: int, hi: int, contributions: np.ndarray,
                 latest: np.ndarray) -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]]]:
    """Profiles lo..hi-1 and, for each, its identities (profile_id is filled in when known). Every random
    number of the batch is drawn first, as arrays; the loop only assembles rows."""
    rng = _rng(plan.seed, 3, batch)
    size = hi - lo
    now = plan.now
    spanish = plan.spanish[lo:hi]
    first_i = np.where(spanish, rng.integers(0, len(FIRST_ES), size), rng.integers(0, len(FIRST_EN), size))
    last_i = np.where(spanish, rng.integers(0, len(LAST_ES), size), rng.integers(0, len(LAST_EN), size))
    second_i = np.where(spanish & (rng.random(size) < 0.3), rng.integers(0, len(LAST_ES), size), -1)
    city_i = np.where(spanish, rng.integers(0, len(CITIES_ES), size), rng.integers(0, len(CITIES_EN), size))
    extra_role = np.where(rng.random(size) < 0.1, rng.choice(len(ROLES), size, p=_weights(ROLES)), -1)
    topic_count = rng.integers(0, 3, size)
    extra_topics = rng.integers(0, len(TOPICS), (size, 2))
    status = rng.choice(len(STATUSES), size, p=_weights(STATUSES))
    basis = rng.choice(len(BASES), size, p=_weights(BASES))
    contact, feature, tagged = rng.random(size) < 0.85, rng.random(size) < 0.3, rng.random(size) < 0.05
    tag_i = rng.integers(0, len(TAGS), size)
    consent_days, created_days = rng.integers(0, 900, size), rng.integers(0, 1100, size)
    # Identities: 1-3 distinct platforms each, drawn by weight without replacement (Efraimidis-Spirakis keys).
    n_identities = rng.choice([1, 2, 3], size, p=[0.5, 0.33, 0.17])
    keys = rng.random((size, len(PLATFORMS))) ** (1.0 / np.array([float(p[1]) for p in PLATFORMS]))
    platforms = np.argsort(-keys, axis=1)[:, :3]
    noise = rng.normal(0.0, 1.0, (size, 3))
    forum = rng.poisson(1.5, (size, 3))
    following, posts = rng.lognormal(5.0, 1.2, (size, 3)), rng.lognormal(4.5, 1.5, (size, 3))
    rate, rated = np.minimum(30.0, rng.lognormal(0.7, 0.6, (size, 3))), rng.random((size, 3)) < 0.7
    verify = rng.random((size, 3)) < 0.6
    style = rng.integers(0, 3, (size, 3))
    profiles, identities = [], []
    for j in range(size):
        i = lo + j
        es = bool(spanish[j])
        first = (FIRST_ES if es else FIRST_EN)[first_i[j]]
        last = (LAST_ES if es else LAST_EN)[last_i[j]]
        name = f"{first} {last}" if second_i[j] < 0 else f"{first} {last} {LAST_ES[second_i[j]]}"
        number = plan.run + i + 1
        team = bool(plan.team[i])
        role = ROLES[plan.role[i]]
        roles = [TEAM_ROLE] if team else [role[0]]
        if not team and extra_role[j] >= 0 and ROLES[extra_role[j]][0] not in roles:
            roles.append(ROLES[extra_role[j]][0])
        chosen_topics = list(dict.fromkeys([int(plan.community_topic[plan.community[i]]),
                                            *extra_topics[j, : topic_count[j]].tolist()]))
        city = (CITIES_ES if es else CITIES_EN)[city_i[j]]
        town = city.split(",")[0]
        words = [TOPICS[t][2 if es else 1] for t in chosen_topics[:2]]
        if es:
            bio = f"{'Equipo de comunidad' if team else role[3]} en {town}; habla de {' y '.join(words)}."
        else:
            bio = f"{'Community team' if team else role[2]} in {town}, into {' and '.join(words)}."
        state, consent_basis = STATUSES[status[j]][0], BASES[basis[j]][0]
        # Handles: the person's name and their number, written in one of three usual ways.
        f, lname = _slug(first), _slug(last.split()[0])
        styles = (f"{f}_{lname}_{number}", f"{f}{lname}{number}", f"{f}.{lname[:1]}{number}")
        fame = float(plan.fame[i])
        rows = []
        for slot in range(int(n_identities[j])):
            platform, _, mu, sigma, url = PLATFORMS[platforms[j, slot]]
            handle = styles[style[j, slot]]
            social = mu is not None and sigma is not None
            if platform == "email":
                handle, followers = f"{f}.{lname}.{number}@example.com", 0
            elif not social:  # a forum account: a handful of followers at most
                handle, followers = f"{f}_{lname}_{number}", int(forum[j, slot])
            else:
                followers = int(min(5e8, np.exp(mu + sigma * (0.75 * fame + 0.66 * noise[j, slot]))))
            rows.append({
                "platform": platform, "handle": handle, "handle_key": normalise_handle(platform, handle),
                "url": url.format(h=handle) if url else "", "followers": followers,
                "following": int(following[j, slot]) if social else 0,
                "posts": int(posts[j, slot]) if platform != "email" else 0,
                "engagement_rate": round(float(rate[j, slot]), 2) if social and rated[j, slot] else None,
                "verified": bool(followers >= 100_000 and verify[j, slot]),
                "last_synced_at": None, "created_at": now, "updated_at": now,
            })  # fmt: skip
        profile = {
            "display_name": name, "roles": roles, "is_team_member": team, "bio": bio,
            "topics": [TOPICS[t][0] for t in chosen_topics], "language": "es" if es else "en", "location": city,
            "status": state, "may_contact": bool(state != "do_not_contact" and consent_basis and contact[j]),
            "may_feature": bool(feature[j]), "consent_basis": consent_basis,
            "consent_date": (now - timedelta(days=int(consent_days[j]))).date() if consent_basis else None,
            "owner_id": None, "tags": [TAGS[tag_i[j]]] if tagged[j] else [],
            "created_at": now - timedelta(days=int(created_days[j])), "updated_at": now,
        }
        ago = int(latest[i])
        profile.update(
            reach=sum(r["followers"] for r in rows),
            contribution_count=int(contributions[i]),
            last_activity_at=now - timedelta(seconds=ago) if ago >= 0 else None,
            search_text=_search_text(profile, [r["handle"] for r in rows]),
            sort_name=stats.sort_name_of(name),
        )
        profiles.append(profile)
        identities.append(rows)
    return profiles, identities


def _reserve_ids(conn: Connection, size: int) -> list[int]:
    """`size` new profile ids, inside the batch's write transaction: from the sequence on PostgreSQL;
    on SQLite (which holds the write lock from BEGIN IMMEDIATE) the next ones after the highest ever
    handed out, which AUTOINCREMENT then records. Explicit ids let a batch be one multi-row INSERT:
    asking SQLite for ids in order (RETURNING) sends the rows one by one."""
    if conn.dialect.name == "postgresql":
        sequence = conn.execute(text("SELECT pg_get_serial_sequence('profile', 'id')")).scalar_one()
        return [int(v) for v in conn.execute(text("SELECT nextval(:seq) FROM generate_series(1, :n)"),
                                             {"seq": sequence, "n": size}).scalars()]
    top = _high_water(conn)
    return list(range(top + 1, top + 1 + size))


def _insert_people(plan: _Plan, conn: Connection, contributions: np.ndarray, latest: np.ndarray,
                   report: Callable[[int], None]) -> tuple[np.ndarray, int]:
    ids = np.zeros(plan.n, dtype=np.int64)
    written = 0
    for batch, lo in enumerate(range(0, plan.n, PROFILE_BATCH)):
        hi = min(plan.n, lo + PROFILE_BATCH)
        profiles, identities = _people_rows(plan, batch, lo, hi, contributions, latest)
        with conn.begin():
            new_ids = _reserve_ids(conn, hi - lo)
            conn.execute(insert(_P), [{**row, "id": pid} for pid, row in zip(new_ids, profiles, strict=True)])
            rows = [{**row, "profile_id": pid} for pid, rows_ in zip(new_ids, identities, strict=True) for row in rows_]
            conn.execute(insert(_I), rows)
        ids[lo:hi] = new_ids
        written += len(rows)
        report(hi)
    return ids, written


def _insert_edges(plan: _Plan, conn: Connection, ids: np.ndarray, edges: tuple[np.ndarray, np.ndarray, np.ndarray],
                  report: Callable[[int], None]) -> None:
    sources, targets, kinds = edges
    m = len(sources)
    order = np.lexsort((kinds, targets, sources))  # written in key order: the unique index grows at its end
    rng = _rng(plan.seed, 4)
    strength = np.clip(np.round(rng.beta(2.0, 3.0, m), 3), 0.001, 1.0)
    first_ago = (rng.random(m) * WINDOW_DAYS * 86400).astype(np.int64)
    last_ago = (first_ago * rng.random(m) ** 2).astype(np.int64)  # between first seen and now, mostly recent
    now = plan.now
    origin = RelationshipOrigin.imported.value
    kind_names = [k[0] for k in EDGE_KINDS]
    for start in range(0, m, ROW_BATCH):
        part = order[start : start + ROW_BATCH]
        rows = []
        for s, t, k, strong, first, last in zip(
                ids[sources[part]].tolist(), ids[targets[part]].tolist(), kinds[part].tolist(),
                strength[part].tolist(), first_ago[part].tolist(), last_ago[part].tolist(), strict=True):
            seen = now - timedelta(seconds=first)
            rows.append({"source_id": s, "target_id": t, "kind": kind_names[k], "strength": strong,
                         "first_seen": seen, "last_seen": now - timedelta(seconds=last), "origin": origin,
                         "created_at": seen, "updated_at": None})
        with conn.begin():
            conn.execute(insert(_R), rows)
        report(min(m, start + ROW_BATCH))


def _insert_interactions(plan: _Plan, conn: Connection, ids: np.ndarray, k: int,
                         edges: tuple[np.ndarray, np.ndarray, np.ndarray], report: Callable[[int], None]) -> None:
    n = plan.n
    sources, targets, _ = edges
    # Out-neighbours of each person (CSR): a counterpart is usually someone the person is linked to.
    neighbours = targets[np.argsort(sources, kind="stable")]
    degree = np.bincount(sources, minlength=n)
    offsets = np.concatenate([[0], np.cumsum(degree)])
    counterpart_p = np.array([kd[5] for kd in INTERACTION_KINDS])
    reach_share = np.array([kd[6] for kd in INTERACTION_KINDS])
    complaint = np.array([kd[0] == "complaint" for kd in INTERACTION_KINDS])
    titles = [[kd[3].format(t=t[1]) for t in TOPICS] for kd in INTERACTION_KINDS], \
        [[kd[4].format(t=t[2]) for t in TOPICS] for kd in INTERACTION_KINDS]
    now = plan.now
    for chunk, start, size in _interaction_chunks(k):
        rng, person, kind, age = _skeleton(plan, chunk, size)
        topic = np.where(rng.random(size) < 0.7, plan.community_topic[plan.community[person]],
                         rng.integers(0, len(TOPICS), size))
        channel_pick = rng.random(size)
        has_counterpart = rng.random(size) < counterpart_p[kind]
        linked = (degree[person] > 0) & (rng.random(size) < 0.8)
        slot = np.minimum(offsets[person] + (rng.random(size) * degree[person]).astype(np.int64), max(len(neighbours) - 1, 0))
        other = np.where(linked, neighbours[slot] if len(neighbours) else 0, _draw(plan.attract_cdf, rng, size))
        has_counterpart &= other != person
        audience = np.exp(5.0 + 1.5 * plan.fame[person] + rng.normal(0, 1, size)) * reach_share[kind]
        reach = np.minimum(audience, 1e9).astype(np.int64)
        engagements = (reach * np.clip(rng.lognormal(-3.9, 0.8, size), 0, 1)).astype(np.int64)
        known = rng.random(size) < 0.45
        sentiment = np.round(rng.normal(0.35, 0.4, size), 2)
        sentiment[complaint[kind]] = -np.abs(sentiment[complaint[kind]]) - 0.2
        sentiment = np.clip(sentiment, -1.0, 1.0)
        # Written in person order, so each batch touches the (profile_id, occurred_at) index in order.
        order = np.argsort(person, kind="stable")
        rows = []
        for j, p, es, kd, ago, tp, ch, cp, oth, rch, eng, kn, snt in zip(
                (start + order).tolist(), ids[person[order]].tolist(), plan.spanish[person[order]].tolist(),
                kind[order].tolist(), age[order].tolist(), topic[order].tolist(), channel_pick[order].tolist(),
                has_counterpart[order].tolist(), ids[other[order]].tolist(), reach[order].tolist(),
                engagements[order].tolist(), known[order].tolist(), sentiment[order].tolist(), strict=True):
            channels = INTERACTION_KINDS[kd][2]
            when = now - timedelta(seconds=ago)
            rows.append({
                "profile_id": p, "kind": _KIND_NAMES[kd], "channel": channels[int(ch * len(channels))],
                "url": "", "title": titles[es][kd][tp], "body": "", "occurred_at": when, "reach": rch,
                "engagements": eng, "sentiment": snt if kn else None, "counterpart_id": oth if cp else None,
                "source": SOURCE, "external_id": f"syn-{plan.run}-{j:09d}", "created_by_id": None,
                "created_at": when, "updated_at": None,
            })  # fmt: skip
        with conn.begin():
            conn.execute(insert(_X), rows)
        report(start + size)


@contextmanager
def _writer(engine: Engine, cache_kib: int = 262_144) -> Iterator[Connection]:
    """One connection for the whole run, each batch its own transaction (BEGIN IMMEDIATE on SQLite).
    On SQLite its page cache is raised meanwhile (to 256 MiB from 2 MiB): inserting a million rows into
    six indexes otherwise re-reads and re-writes the same pages batch after batch. Put back after."""
    with write_bind(engine).connect() as conn:
        if conn.dialect.name != "sqlite":
            yield conn
            return
        raw: Any = conn.connection.driver_connection
        previous = int(raw.execute("PRAGMA cache_size").fetchone()[0])
        raw.execute(f"PRAGMA cache_size = -{int(cache_kib)}")
        try:
            yield conn
        finally:
            raw.execute(f"PRAGMA cache_size = {previous}")


def generate(engine: Engine, *, profiles: int, edges: int, interactions: int, seed: int = 7,
             progress: Progress | None = None, now: datetime | None = None,
             derived_edges: bool = True) -> SyntheticResult:
    """Add a synthetic community of `profiles` people, `edges` relationships and `interactions`
    interactions to the database (see the module's docstring). Raises ValueError for sizes that are
    not positive or absurd, before writing anything. `progress(stage, done, total)` is called as each
    stage advances; `now` (aware) fixes the clock, for reproducible runs."""
    check_sizes(profiles, edges, interactions, seed)
    if now is not None and now.tzinfo is None:
        raise ValueError("now must be a timezone-aware datetime")
    clock = (now or utcnow()).astimezone(UTC).replace(microsecond=0)
    seconds: dict[str, float] = {}

    def stage(name: str, total: int) -> Callable[[int], None]:
        def report(done: int) -> None:
            if progress is not None:
                progress(name, done, total)
        report(0)
        return report

    began = time.perf_counter()
    report = stage("planning", 3)
    with engine.connect() as conn:
        run = _high_water(conn)
    plan = _plan(profiles, seed, clock, run)
    report(1)
    drawn = _edges(plan, edges)
    report(2)
    contributions, latest = _activity(plan, interactions)
    report(3)
    seconds["planning"] = time.perf_counter() - began

    with _writer(engine) as conn:
        began = time.perf_counter()
        ids, identity_count = _insert_people(plan, conn, contributions, latest, stage("people", profiles))
        seconds["people"] = time.perf_counter() - began
        began = time.perf_counter()
        _insert_edges(plan, conn, ids, drawn, stage("relationships", edges))
        seconds["relationships"] = time.perf_counter() - began
        began = time.perf_counter()
        _insert_interactions(plan, conn, ids, interactions, drawn, stage("interactions", interactions))
        seconds["interactions"] = time.perf_counter() - began
        del drawn

        # The derived columns, as crm.profiles.stats computes them (nothing is written where they agree).
        began = time.perf_counter()
        everyone = ids.tolist()
        report = stage("derived columns", profiles)
        for start in range(0, profiles, REFRESH_BATCH):
            with conn.begin():
                stats.refresh_on_connection(conn, everyone[start : start + REFRESH_BATCH])
            report(min(profiles, start + REFRESH_BATCH))
        seconds["derived columns"] = time.perf_counter() - began

        derived = 0
        if derived_edges and interactions:
            began = time.perf_counter()
            report = stage("derived edges", profiles)
            for start in range(0, profiles, REFRESH_BATCH):
                with conn.begin():
                    refresh_derived_edges(conn, everyone[start : start + REFRESH_BATCH])
                report(min(profiles, start + REFRESH_BATCH))
            with conn.begin():
                derived = int(conn.execute(select(func.count()).select_from(_R).where(
                    _R.c.origin == RelationshipOrigin.interaction.value,
                    _R.c.source_id.between(int(ids.min()), int(ids.max())))).scalar_one())
            seconds["derived edges"] = time.perf_counter() - began
    return SyntheticResult(profiles=profiles, identities=identity_count, relationships=edges, interactions=interactions,
                           derived_relationships=derived, first_profile_id=int(ids.min()), last_profile_id=int(ids.max()),
                           seconds=seconds)
