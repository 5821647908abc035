"""Duplicate suggestions (same e-mail, same profile URL, same handle on another platform, similar
names) and the fast "someone like this already exists" lookup used while a name is typed.

Names are compared folded (crm.profiles.stats.fold: lower case, no accents) with rapidfuzz's
token-set scorer, so "Lucia Gomez" finds "Lucía Gómez Marín" (a missing second surname is a subset
of the tokens). Both the lookup and the queue work on a process-wide index of folded names, built
once and rebuilt only when a cheap version check (profile count and highest id, highest audit event
id: every change of a name goes through a service that audits it) says something changed, or after
a minute. Candidates come from 3-letter token prefixes, so a keystroke scores a few hundred names,
not 100,000. Fuzzy names are only ever suggestions: nothing is merged automatically."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from rapidfuzz import fuzz, process
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from crm.audit.models import AuditEvent
from crm.audit.service import Actor
from crm.db import serialize_writes
from crm.errors import InvalidInput
from crm.i18n import N_, gettext
from crm.merges.models import DuplicateDismissal
from crm.profiles.models import Identity, Platform, Profile
from crm.profiles.service import get_profile
from crm.profiles.stats import fold


@dataclass(frozen=True)
class SimilarProfile:
    profile_id: int
    display_name: str
    score: float

NAME_CUTOFF = 85.0
_MAX_TOKENS = 4
_MAX_GROUP = 300  # a name-prefix block larger than this is too common to say anything
_MAX_HANDLE_GROUP = 10  # "admin" on twenty platforms is not one person
_TTL_SECONDS = 60.0

# Reasons, shown translated on the duplicates page.
REASON_EMAIL = N_("same e-mail")
REASON_URL = N_("same profile URL")
REASON_HANDLE = N_("same handle on another platform")
REASON_NAME = N_("similar name")
_REASON_SCORE = {REASON_EMAIL: 100.0, REASON_URL: 98.0, REASON_HANDLE: 90.0}


def name_tokens(folded: str) -> list[str]:
    return "".join(ch if ch.isalnum() else " " for ch in folded).split()[:_MAX_TOKENS]


def _prefixes(tokens: Iterable[str]) -> list[str]:
    return sorted({t[:3] for t in tokens if len(t) >= 2})


def name_score(a: str, b: str) -> float:
    """0-100 for two folded names: token-set when both have two words or more (a missing second
    surname scores 100), else the whole name in token order (one word must match nearly whole)."""
    if len(a.split()) >= 2 and len(b.split()) >= 2:
        return float(fuzz.token_set_ratio(a, b))
    return float(fuzz.token_sort_ratio(a, b))


# ---- the process-wide index of names ----------------------------------------------------------------


@dataclass
class NameIndex:
    version: tuple[Any, ...]
    built_at: float
    ids: list[int]
    names: list[str]  # as stored
    folded: list[str]  # normalised for scoring: tokens joined by one space
    by_prefix: dict[str, set[int]]  # 3-letter token prefix -> positions
    pairs: list[tuple[int, int, float]] | None = None  # similar-name pairs (ids), computed on first need
    identity_pairs: dict[tuple[int, int], set[str]] | None = None


_indexes: dict[str, NameIndex] = {}
_lock = threading.Lock()


def _version(session: Session) -> tuple[Any, ...]:
    count, top = session.exec(select(func.count(), func.max(Profile.id))).one()  # type: ignore[call-overload]
    audit_top = session.exec(select(func.max(AuditEvent.id))).one()
    # With the newest rows' times: a database emptied and refilled (a restore, a test) can reach the
    # same counts and ids with other names. Both are primary-key lookups.
    top_created = session.get(Profile, top).created_at if top else None  # type: ignore[union-attr]
    audit_created = session.get(AuditEvent, audit_top).created_at if audit_top else None  # type: ignore[union-attr]
    return (int(count), top, top_created, audit_top, audit_created)


def _key(session: Session) -> str:
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    return engine.url.render_as_string(hide_password=True)


def name_index(*, session: Session) -> NameIndex:
    key = _key(session)
    version = _version(session)
    found = _indexes.get(key)
    if found is not None and found.version == version and time.monotonic() - found.built_at < _TTL_SECONDS:
        return found
    with _lock:
        found = _indexes.get(key)
        if found is not None and found.version == version and time.monotonic() - found.built_at < _TTL_SECONDS:
            return found
        built = _build(session, version)
        _indexes[key] = built
        return built


def _build(session: Session, version: tuple[Any, ...]) -> NameIndex:
    rows: Any = session.exec(  # type: ignore[call-overload]
        select(Profile.id, Profile.display_name).order_by(col(Profile.id))).all()
    ids: list[int] = []
    names: list[str] = []
    folded: list[str] = []
    by_prefix: dict[str, set[int]] = defaultdict(set)
    seen: dict[str, tuple[str, list[str]]] = {}
    for pid, name in rows:
        cached = seen.get(name)
        if cached is None:
            tokens = name_tokens(fold(name))
            cached = seen[name] = (" ".join(tokens), _prefixes(tokens))
        position = len(ids)
        ids.append(int(pid))
        names.append(name)
        folded.append(cached[0])
        for prefix in cached[1]:
            by_prefix[prefix].add(position)
    return NameIndex(version, time.monotonic(), ids, names, folded, dict(by_prefix))


def _candidates(index: NameIndex, prefixes: list[str]) -> set[int]:
    """Positions sharing two token prefixes with the query (one, for a one-word query)."""
    sets = [index.by_prefix.get(p, set()) for p in prefixes]
    if len(sets) == 1:
        return sets[0]
    found: set[int] = set()
    for a, b in combinations(sets, 2):
        found |= a & b if len(a) < len(b) else b & a
    return found


def similar_profiles(name: str, *, session: Session, exclude_id: int | None = None, limit: int = 3,
                     cutoff: float = NAME_CUTOFF) -> list[SimilarProfile]:
    """People whose name looks like `name` (accents, word order and a missing second surname aside):
    a hint against adding the same person twice."""
    tokens = name_tokens(fold(name))
    wanted = " ".join(tokens)
    if len(wanted) < 3:
        return []
    index = name_index(session=session)
    prefixes = _prefixes(tokens)
    # A name of one-letter words or digits only has no word starts to look up: the same name, then.
    positions = _candidates(index, prefixes) if prefixes else [p for p, f in enumerate(index.folded) if f == wanted]
    choices = {p: index.folded[p] for p in positions if index.ids[p] != exclude_id}
    scorer = fuzz.token_set_ratio if len(tokens) >= 2 else fuzz.token_sort_ratio
    matches = process.extract(wanted, choices, scorer=scorer, score_cutoff=cutoff, limit=limit + 5)
    if not matches:
        return []
    # The index may be a few seconds old: confirm with the rows as they are now.
    wanted_ids = [index.ids[p] for _, _, p in matches]
    current = dict(session.exec(select(Profile.id, Profile.display_name).where(col(Profile.id).in_(wanted_ids))).all())  # type: ignore[call-overload]
    results = []
    for pid in wanted_ids:
        if pid not in current:
            continue
        score = name_score(wanted, " ".join(name_tokens(fold(current[pid])))) if len(tokens) >= 2 else float(
            fuzz.token_sort_ratio(wanted, " ".join(name_tokens(fold(current[pid])))))
        if score >= cutoff:
            results.append(SimilarProfile(pid, current[pid], score))
    results.sort(key=lambda r: (-r.score, r.display_name, r.profile_id))
    return results[:limit]


# ---- the suggestions queue --------------------------------------------------------------------------


def _name_pairs(index: NameIndex, cutoff: float) -> list[tuple[int, int, float]]:
    groups: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for position, name in enumerate(index.folded):
        prefixes = _prefixes(name.split())
        keys: Iterable[tuple[str, ...]] = combinations(prefixes, 2) if len(prefixes) >= 2 else [tuple(prefixes)]
        for key in keys:
            groups[key].append(position)
    found: dict[tuple[int, int], float] = {}
    for members in groups.values():
        if not 2 <= len(members) <= _MAX_GROUP:
            continue
        for i, j in combinations(members, 2):
            pair = (i, j)
            if pair in found:
                continue
            score = name_score(index.folded[i], index.folded[j])
            if score >= cutoff:
                found[pair] = score
    return [(index.ids[i], index.ids[j], s) for (i, j), s in found.items()]


def _email_of(identity: tuple[int, str, str, str, str]) -> str:
    _, platform, handle_key, _, url = identity
    if platform == Platform.email.value:
        return handle_key
    if url.lower().startswith("mailto:"):
        return url[7:].strip().casefold()
    if "@" in handle_key.strip("@") and "." in handle_key.rsplit("@", 1)[-1]:
        return handle_key
    return ""


def normalise_url(url: str) -> str:
    text = url.strip().casefold()
    if not text.startswith(("http://", "https://")):
        return ""
    text = text.split("://", 1)[1].split("#", 1)[0].split("?", 1)[0].rstrip("/")
    return text.removeprefix("www.")


def _identity_pairs(session: Session) -> dict[tuple[int, int], set[str]]:
    rows = session.exec(select(Identity.profile_id, Identity.platform, Identity.handle_key, Identity.handle,  # type: ignore[call-overload]
                               Identity.url)).all()
    by_email: dict[str, set[int]] = defaultdict(set)
    by_url: dict[str, set[int]] = defaultdict(set)
    by_handle: dict[str, set[tuple[int, str]]] = defaultdict(set)
    for row in rows:
        pid = int(row[0])
        if email := _email_of(row):
            by_email[email].add(pid)
        if url := normalise_url(row[4]):
            by_url[url].add(pid)
        if row[1] != Platform.email.value and len(row[2]) >= 3:
            by_handle[row[2]].add((pid, row[1]))
    pairs: dict[tuple[int, int], set[str]] = defaultdict(set)
    for reason, groups in ((REASON_EMAIL, by_email), (REASON_URL, by_url)):
        for people in groups.values():
            if 2 <= len(people) <= _MAX_HANDLE_GROUP:
                for a, b in combinations(sorted(people), 2):
                    pairs[(a, b)].add(reason)
    for owners in by_handle.values():
        people = {pid for pid, _ in owners}
        if 2 <= len(people) <= _MAX_HANDLE_GROUP:
            for (a, pa), (b, pb) in combinations(sorted(owners), 2):
                if a != b and pa != pb:
                    pairs[(min(a, b), max(a, b))].add(REASON_HANDLE)
    return dict(pairs)


@dataclass(frozen=True)
class PersonCard:
    id: int
    display_name: str
    location: str
    handles: list[tuple[str, str]]  # (platform, handle)


@dataclass(frozen=True)
class Suggestion:
    a: PersonCard
    b: PersonCard
    reasons: list[str]
    score: float


@dataclass
class SuggestionPage:
    items: list[Suggestion]
    total: int
    page: int
    per_page: int
    dismissed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def suggestion_pairs(*, session: Session) -> list[tuple[int, int, float, list[str]]]:
    """Every suggested pair (lower id first), best first, dismissed pairs left out."""
    index = name_index(session=session)
    with _lock:
        if index.pairs is None:
            index.pairs = _name_pairs(index, NAME_CUTOFF)
        if index.identity_pairs is None:
            index.identity_pairs = _identity_pairs(session)
    merged: dict[tuple[int, int], tuple[float, set[str]]] = {}
    for (a, b), reasons in index.identity_pairs.items():
        merged[(a, b)] = (max(_REASON_SCORE[r] for r in reasons), set(reasons))
    for a, b, score in index.pairs:
        key = (min(a, b), max(a, b))
        best, reasons = merged.get(key, (0.0, set()))
        merged[key] = (max(best, score), reasons | {REASON_NAME})
    dismissed = set(session.exec(select(DuplicateDismissal.low_id, DuplicateDismissal.high_id)).all())  # type: ignore[call-overload]
    order = [REASON_EMAIL, REASON_URL, REASON_HANDLE, REASON_NAME]
    result = [(a, b, score, sorted(reasons, key=order.index)) for (a, b), (score, reasons) in merged.items()
              if (a, b) not in dismissed]
    result.sort(key=lambda r: (-r[2], r[0], r[1]))
    return result


def _cards(ids: set[int], *, session: Session) -> dict[int, PersonCard]:
    if not ids:
        return {}
    handles: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for pid, platform, handle in session.exec(
        select(Identity.profile_id, Identity.platform, Identity.handle)  # type: ignore[call-overload]
        .where(col(Identity.profile_id).in_(ids)).order_by(col(Identity.followers).desc(), col(Identity.id))
    ):
        handles[pid].append((platform, handle))
    rows: Any = session.exec(  # type: ignore[call-overload]
        select(Profile.id, Profile.display_name, Profile.location).where(col(Profile.id).in_(ids))).all()
    return {pid: PersonCard(pid, name, location, handles.get(pid, [])) for pid, name, location in rows}


def suggestions(*, session: Session, page: int = 1, per_page: int = 25) -> SuggestionPage:
    pairs = suggestion_pairs(session=session)
    page = max(1, min(page, max(1, -(-len(pairs) // per_page))))
    chosen = pairs[(page - 1) * per_page: page * per_page]
    cards = _cards({pid for a, b, _, _ in chosen for pid in (a, b)}, session=session)
    items = [Suggestion(cards[a], cards[b], reasons, score) for a, b, score, reasons in chosen if a in cards and b in cards]
    return SuggestionPage(items, len(pairs), page, per_page)


def dismiss(first_id: int, second_id: int, *, session: Session, actor: Actor) -> None:
    """Remember that these two are not the same person (idempotent)."""
    if first_id == second_id:
        raise InvalidInput(gettext("Choose two different people."))
    low, high = sorted((first_id, second_id))
    get_profile(low, session=session)
    get_profile(high, session=session)
    serialize_writes(session, "duplicate_dismissal")  # two clicks at once: one row, not a 500
    exists = session.exec(select(DuplicateDismissal.id).where(DuplicateDismissal.low_id == low,
                                                              DuplicateDismissal.high_id == high)).first()
    if exists is None:
        session.add(DuplicateDismissal(low_id=low, high_id=high, created_by_id=actor.user_id))
        session.flush()


