"""Discovery for a campaign: who should we work with? Candidates ranked by how well they fit the
campaign's topics and keywords and how much they matter (the stored combined score: reach, advocacy
and influence), with the reasons shown; filters, exclusions (each counted), "more like this person",
and the data the roster builder needs (crm.campaigns.roster does the choosing).

How candidates are ordered (`fit`):

    fit = 0.5 × relevance + 0.5 × score / 100

relevance (0..1) is crm.ranking.scoring.relevance: 0.6 × the share of the campaign's topics the person
has + 0.4 × the share of its keywords found in their bio, handles, topics and tags or in what they
contributed in the last DAYS days (either part alone when the campaign has only topics or only
keywords). Only people with some relevance are candidates. A campaign with neither topics nor keywords
falls back to the score alone.

Cost at 100,000 profiles: one pass over the (filtered) profiles computing the topic and keyword flags in
SQL, and one pass over the recent contributions for the keywords, kept in memory per (keywords,
day, interactions version), so changing a filter or a page does not read the interactions again. The
cards' details (names, posts, other campaigns) are read for the shown page only."""

from __future__ import annotations

import json
import math
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, cast, overload

from pydantic import AfterValidator, BeforeValidator, ValidationError, field_validator
from pydantic import Field as PydField
from sqlalchemy import Integer, Table, Text, case, exists, false, func, literal, or_, select
from sqlalchemy import cast as sql_cast
from sqlmodel import Session, col

from crm.audit.service import Actor
from crm.campaigns import roster as roster_lib
from crm.campaigns import service
from crm.campaigns.models import OPEN_STATUSES, Campaign, CampaignMember, MembersIn, Stage
from crm.db import utcnow
from crm.errors import InvalidInput, NotFound
from crm.graph import service as graph_service
from crm.graph.models import GraphPartition
from crm.i18n import N_, gettext
from crm.interactions.models import CONTRIBUTION_KINDS, Interaction, Relationship
from crm.profiles.models import MAX_COUNT, Identity, Platform, Profile, ProfileRole, ProfileStatus
from crm.profiles.stats import fold
from crm.ranking.models import ScoreRun
from crm.ranking.scoring import relevance_of  # the formula, in one place
from crm.schemas import DbId, InputModel

P = cast(Table, Profile.__table__)  # type: ignore[attr-defined]
X = cast(Table, Interaction.__table__)  # type: ignore[attr-defined]
R = cast(Table, Relationship.__table__)  # type: ignore[attr-defined]
IDENT = cast(Table, Identity.__table__)  # type: ignore[attr-defined]
RUN = cast(Table, ScoreRun.__table__)  # type: ignore[attr-defined]
M = cast(Table, CampaignMember.__table__)  # type: ignore[attr-defined]
C = cast(Table, Campaign.__table__)  # type: ignore[attr-defined]

DAYS = 365  # how far back contributions are read for the keywords
RELEVANCE_WEIGHT = 0.5
POSTS_SHOWN = 2
PER_PAGE = 20
POOL = 200  # the roster chooses among the discovery ranking's top POOL
TIES_PER_PERSON = 5  # the second hop is counted through each pool member's strongest ties
SECOND_HOP_EDGES = 40_000  # links read for the second hop at most
LIKE_NEIGHBOURS = 300  # "more like this": the person's strongest connections looked through
LIKE_GRAPH_EDGES = 100_000
CHUNK = 500
DEFAULT_BLOCKLIST = "blocklist"


class Exclusion(StrEnum):
    do_not_contact = "do_not_contact"
    no_consent = "no_consent"
    other_campaign = "other_campaign"
    blocklist = "blocklist"
    team = "team"


EXCLUSION_LABELS = {
    Exclusion.do_not_contact: N_("Do not contact"),
    Exclusion.no_consent: N_("No consent to contact"),
    Exclusion.other_campaign: N_("In another active campaign"),
    Exclusion.blocklist: N_("Blocklist tag"),
    Exclusion.team: N_("Team members"),
}


def _listed(value: Any) -> Any:
    values = [value] if isinstance(value, str) else list(value or [])
    return [v for v in values if v not in ("", None)]  # the form's "exclude=" marker: the list was sent


def _tag(value: str) -> str:
    return " ".join(value.split()).lower()


Exclusions = Annotated[list[Exclusion], BeforeValidator(_listed), AfterValidator(lambda v: list(dict.fromkeys(v)))]
Count = Annotated[int | None, PydField(default=None, ge=0, le=MAX_COUNT)]


class DiscoverQuery(InputModel):
    """Filters, exclusions and page of a campaign's candidates (the page and the API read the same)."""

    role: ProfileRole | None = None
    platform: Platform | None = PydField(default=None, description="Only people with an identity on this platform "
                                                                   "(the follower range applies to it)")
    followers_min: Count = PydField(default=None, description="At least this many followers on one identity")
    followers_max: Count = PydField(default=None, description="At most this many followers on that identity")
    language: str = PydField(default="", max_length=20, description="Language code, e.g. es (es also finds es-MX)")
    location: str = PydField(default="", max_length=100, description="Location contains this text")
    level: int | None = PydField(default=None, ge=1, le=4, description="1 champion, 2 advocate, 3 contributor, 4 observer")
    tag: Annotated[str, AfterValidator(_tag)] = PydField(default="", max_length=50, description="Only people with this tag")
    exclude: Exclusions = PydField(default_factory=lambda: list(Exclusion),
                                   description="Who is left out (default: all five reasons); send `exclude=` "
                                               "(empty) to leave nobody out")
    blocklist_tag: Annotated[str, AfterValidator(_tag)] = PydField(default=DEFAULT_BLOCKLIST, max_length=50,
                                                                   description="The tag that keeps people out")
    like: DbId | None = PydField(default=None, description="More like this person: similar topics and graph neighbourhood")
    page: int = PydField(default=1, ge=1, le=10_000)
    per_page: int = PydField(default=PER_PAGE, ge=1, le=100)

    @field_validator("followers_max")
    @classmethod
    def _range_in_order(cls, high: int | None, info: Any) -> int | None:
        low = info.data.get("followers_min")
        if low is not None and high is not None and low > high:
            raise ValueError(gettext("The maximum is below the minimum."))
        return high



def read_query(raw: Mapping[str, Any], lists: Mapping[str, list[str]]) -> DiscoverQuery:
    """A page's query, read forgivingly: a bad value falls back to its default. `lists` carries the
    repeated parameters (exclude)."""
    data: dict[str, Any] = {name: raw[name] for name in DiscoverQuery.model_fields if name in raw and name != "exclude"}
    if "exclude" in lists:
        data["exclude"] = lists["exclude"]
    try:
        return DiscoverQuery.model_validate(data)
    except ValidationError as exc:
        bad = {error["loc"][0] for error in exc.errors() if error["loc"]}
        return DiscoverQuery.model_validate({k: v for k, v in data.items() if k not in bad})


# ---- the formula (pure) --------------------------------------------------------------------------




def fit(relevance: float | None, score: float) -> float:
    """How candidates are ordered: 0.5 × relevance + 0.5 × score/100; without topics or keywords
    (relevance None) the score alone."""
    share = min(max(float(score or 0.0), 0.0), 100.0) / 100.0
    if relevance is None:
        return share
    return RELEVANCE_WEIGHT * relevance + (1 - RELEVANCE_WEIGHT) * share


def jaccard(a: Iterable[str], b: Iterable[str]) -> float:
    first, second = {fold(t) for t in a}, {fold(t) for t in b}
    union = first | second
    return len(first & second) / len(union) if union else 0.0


def likeness(topic_jaccard: float, shared_share: float, same_community: bool) -> float:
    """"More like this person": 0.5 × topic Jaccard + 0.3 × the share of their connections also connected
    to the candidate + 0.2 if both are in the same community."""
    return 0.5 * topic_jaccard + 0.3 * min(max(shared_share, 0.0), 1.0) + (0.2 if same_community else 0.0)


# ---- small database helpers ------------------------------------------------------------------------


def _chunks(ids: Sequence[int], size: int = CHUNK) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield list(ids[start:start + size])


def _escape(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _json_like(value: str) -> str:
    return "%" + _escape(json.dumps(value)) + "%"


def _contains(column: Any, term: str, *, dialect: str) -> Any:
    """Case-insensitive "contains": SQLite's LIKE already ignores ASCII case (and lower() over a million
    rows costs); PostgreSQL needs ILIKE."""
    pattern = "%" + _escape(term) + "%"
    return column.ilike(pattern, escape="\\") if dialect == "postgresql" else column.like(pattern, escape="\\")


def _database_key(session: Session) -> str:
    return session.get_bind().engine.url.render_as_string(hide_password=True)


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _contribution_kinds() -> list[str]:
    return sorted(k.value for k in CONTRIBUTION_KINDS)


_cache_lock = threading.Lock()
_hits_cache: dict[tuple[Any, ...], dict[int, int]] = {}
_HITS_CACHED = 16


HITS_SECONDS = 300  # a removed interaction (the only change the version misses) counts at most this long


def interactions_version(*, session: Session) -> tuple[str, ...]:
    """Changes when an interaction is added or edited (both indexed maxima: no count over a million rows)."""
    row = session.connection().execute(select(select(func.max(X.c.id)).scalar_subquery(),  # one aggregate each:
                                              select(func.max(X.c.updated_at)).scalar_subquery())).one()  # index lookups
    return (*(str(v) for v in row), str(int(time.monotonic() // HITS_SECONDS)))


def keyword_hits(keywords: Sequence[str], *, session: Session, days: int = DAYS) -> dict[int, int]:
    """Person -> the keywords found in their contributions (bit i: keyword i) of the last `days` days. One pass
    over the interactions (the kind and date indexes would turn it into a million random reads),
    remembered per keywords, day and interactions version."""
    if not keywords:
        return {}
    since = (utcnow() - timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)
    key = (_database_key(session), tuple(keywords), since.isoformat(),
           interactions_version(session=session))
    cached = _hits_cache.get(key)
    if cached is not None:
        return cached
    dialect = _dialect(session)
    found = [or_(_contains(X.c.title, k, dialect=dialect), _contains(X.c.body, k, dialect=dialect)) for k in keywords]
    kind = X.c.kind if dialect == "postgresql" else X.c.kind.concat("")  # no index: scanning is faster here
    when = X.c.occurred_at if dialect == "postgresql" else func.coalesce(X.c.occurred_at, X.c.occurred_at)
    query = (select(X.c.profile_id, *(func.max(sql_cast(f, Integer)).label(f"k{i}") for i, f in enumerate(found)))
             .where(or_(*found), kind.in_(_contribution_kinds()), when >= since).group_by(X.c.profile_id))
    hits: dict[int, int] = {}
    for row in session.connection().execute(query).all():
        which = sum(1 << i for i in range(len(keywords)) if row[i + 1])
        if which:
            hits[int(row[0])] = which
    with _cache_lock:
        if len(_hits_cache) >= _HITS_CACHED:
            _hits_cache.pop(next(iter(_hits_cache)))
        _hits_cache[key] = hits
    return hits


def clear_cache() -> None:
    with _cache_lock:
        _hits_cache.clear()
        _partition_cache.clear()
        _matches_cache.clear()
        _neighbours_cache.clear()


# ---- communities without reading the whole graph -----------------------------------------------

_partition_cache: dict[tuple[str, int], dict[int, int]] = {}


def communities(*, session: Session) -> tuple[dict[int, int], bool]:
    """Person -> community, and whether they may be out of date. A small graph is partitioned where it
    is first needed (crm.graph.service, cached per version); a large one uses the communities the job
    stored last (never the whole graph on a request)."""
    pairs = session.connection().execute(select(func.count()).select_from(R)).scalar_one()
    if pairs <= graph_service.INLINE_PAIRS:
        part = graph_service.partition(session=session)
        return part.community_of, part.stale
    stored_id = session.connection().execute(select(func.max(GraphPartition.id))).scalar_one()
    if stored_id is None:
        return {}, True
    key = (_database_key(session), int(stored_id))
    cached = _partition_cache.get(key)
    if cached is None:
        stored = session.get(GraphPartition, stored_id)
        cached = {pid: index for index, members in enumerate(stored.communities if stored else []) for pid in members}
        with _cache_lock:
            _partition_cache.clear()
            _partition_cache[key] = cached
    version = "|".join(graph_service.graph_version(session=session))[:300]
    stored_version = session.connection().execute(
        select(GraphPartition.version).where(col(GraphPartition.id) == stored_id)).scalar_one()  # type: ignore[call-overload]
    return cached, stored_version != version


def _edges(ids: Sequence[int], *, session: Session, budget: int | None = None) -> tuple[list[tuple[int, int, float]], bool]:
    """Links touching `ids` (both directions) as (one of ids, other, strength); stops after `budget` rows
    (and says so)."""
    rows: list[tuple[int, int, float]] = []
    wanted = set(ids)
    for chunk in _chunks(sorted(wanted)):
        rows.extend(session.connection().execute(
            select(R.c.source_id, R.c.target_id, R.c.strength).where(R.c.source_id.in_(chunk))).all())
        rows.extend(session.connection().execute(
            select(R.c.target_id, R.c.source_id, R.c.strength).where(R.c.target_id.in_(chunk))).all())
        if budget is not None and len(rows) >= budget:
            return rows, True
    return rows, False


def _pairs_touching(ids: list[int], *, session: Session) -> list[tuple[int, int]]:
    """(one of ids, the other end) for every link touching ids: two columns, no strength."""
    rows: list[tuple[int, int]] = []
    rows.extend(session.connection().execute(select(R.c.source_id, R.c.target_id).where(R.c.source_id.in_(ids))))
    rows.extend(session.connection().execute(select(R.c.target_id, R.c.source_id).where(R.c.target_id.in_(ids))))
    return rows


# ---- the candidates -------------------------------------------------------------------------------


@dataclass
class Post:
    id: int
    title: str
    url: str
    kind: str
    occurred_at: datetime


@dataclass
class Card:
    profile_id: int
    name: str
    roles: list[str]
    level: int
    score: float
    score_rank: int | None
    reach: int
    influence: float
    advocacy: float
    is_team_member: bool
    fit: float
    relevance: float | None
    topics: list[str] = field(default_factory=list)  # the campaign's topics they have
    keywords: list[str] = field(default_factory=list)  # the campaign's keywords found
    posts: list[Post] = field(default_factory=list)
    stage: str | None = None  # in this campaign already, at this stage
    other_campaigns: list[str] = field(default_factory=list)
    # "more like this person"
    likeness: float | None = None
    shared_topics: list[str] = field(default_factory=list)
    topic_jaccard: float = 0.0
    shared_connections: int = 0
    connected: bool = False  # directly connected to that person
    same_community: bool = False


@dataclass
class _Row:
    id: int
    score: float
    fit: float
    relevance: float | None
    reasons: set[Exclusion]
    topics: list[int] = field(default_factory=list)
    keywords: list[int] = field(default_factory=list)
    likeness: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Discovery:
    campaign: Campaign
    query: DiscoverQuery
    mode: str  # "relevance", "score" (no topics or keywords) or "like"
    cards: list[Card]
    total: int
    left_out: dict[Exclusion, int]
    seed: Profile | None = None
    communities_stale: bool = False

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.query.per_page))


def _bits(mask: int) -> list[int]:
    return [i for i in range(mask.bit_length()) if mask >> i & 1]


def _mask(conditions: list[Any]) -> Any:
    """Σ 2^i over the conditions that hold, as one integer column."""
    if not conditions:
        return literal(0)
    return sum((case((condition, 1 << i), else_=0) for i, condition in enumerate(conditions)), literal(0))


class _LazyRows(Sequence[_Row]):
    """The ranking as sorted tuples, made into rows only for the part that is used (a page, the pool)."""

    def __init__(self, ranked: list[Any]) -> None:
        self.ranked = ranked

    def __len__(self) -> int:
        return len(self.ranked)

    def _row(self, item: Any) -> _Row:
        neg_fit, neg_score, pid, relevance, topics, keywords = item[:6]
        return _Row(id=int(pid), score=-neg_score, fit=-neg_fit, relevance=relevance, reasons=set(),
                    topics=_bits(topics), keywords=_bits(keywords))

    @overload
    def __getitem__(self, index: int) -> _Row: ...

    @overload
    def __getitem__(self, index: slice) -> list[_Row]: ...

    def __getitem__(self, index: int | slice) -> _Row | list[_Row]:
        if isinstance(index, slice):
            return [self._row(item) for item in self.ranked[index]]
        return self._row(self.ranked[index])


def _busy(campaign_id: int, *, session: Session) -> set[int]:
    """Everyone in another open campaign (not declined)."""
    query = (select(M.c.profile_id).join(C, C.c.id == M.c.campaign_id)
             .where(C.c.status.in_([s.value for s in OPEN_STATUSES]), M.c.stage != Stage.declined.value,
                    C.c.id != campaign_id).distinct())
    return {int(pid) for pid, in session.connection().execute(query)}


def _stages(campaign_id: int, *, session: Session) -> dict[int, str]:
    return {int(pid): stage for pid, stage in session.connection().execute(
        select(M.c.profile_id, M.c.stage).where(M.c.campaign_id == campaign_id))}


def _members_fees(campaign_id: int, *, session: Session) -> dict[int, float | None]:
    return {int(pid): (float(fee) if fee is not None else None) for pid, fee in session.connection().execute(
        select(M.c.profile_id, M.c.fee).where(M.c.campaign_id == campaign_id))}


def _reasons(status: str, may_contact: bool, team: bool, blocked: bool, busy: bool,
             active: frozenset[Exclusion]) -> set[Exclusion]:
    reasons = set()
    if status == ProfileStatus.do_not_contact.value:
        reasons.add(Exclusion.do_not_contact)
    if not may_contact:
        reasons.add(Exclusion.no_consent)
    if team:
        reasons.add(Exclusion.team)
    if blocked:
        reasons.add(Exclusion.blocklist)
    if busy:
        reasons.add(Exclusion.other_campaign)
    return reasons & active


def _base_columns(query: DiscoverQuery) -> list[Any]:
    blocked = sql_cast(P.c.tags, Text).like(_json_like(query.blocklist_tag), escape="\\") if query.blocklist_tag else None
    columns: list[Any] = [P.c.id, P.c.score, P.c.status, P.c.may_contact, P.c.is_team_member]
    columns.append((blocked if blocked is not None else false()).label("blocked"))
    return columns


def _filtered(statement: Any, query: DiscoverQuery) -> Any:
    """The people list's filters (crm.profiles.search reads them the same way), as conditions on the
    profile scan itself: an `id IN (subquery)` made SQLite read the table twice."""
    conditions: list[Any] = []
    if query.role:
        conditions.append(sql_cast(P.c.roles, Text).like(_json_like(query.role.value), escape="\\"))
    if query.tag:
        conditions.append(sql_cast(P.c.tags, Text).like(_json_like(query.tag), escape="\\"))
    if query.platform or query.followers_min is not None or query.followers_max is not None:
        on_identity = [IDENT.c.profile_id == P.c.id]
        if query.platform:
            on_identity.append(IDENT.c.platform == query.platform.value)
        if query.followers_min is not None:
            on_identity.append(IDENT.c.followers >= query.followers_min)
        if query.followers_max is not None:
            on_identity.append(IDENT.c.followers <= query.followers_max)
        conditions.append(exists().where(*on_identity))
    if query.level is not None:
        conditions.append(P.c.level == query.level)
    if query.language:
        language = query.language.lower()
        conditions.append(or_(func.lower(P.c.language) == language,
                              func.lower(P.c.language).like(_escape(language) + "-%", escape="\\")))
    if query.location:
        conditions.append(or_(func.lower(P.c.location).like("%" + _escape(query.location.lower()) + "%", escape="\\"),
                              P.c.location.like("%" + _escape(query.location) + "%", escape="\\")))
    return statement.where(*conditions) if conditions else statement


# (−fit, −score, id, relevance, topic bits, keyword bits, do-not-contact, may contact, team, blocklisted)
_Match = tuple[float, float, int, float | None, int, int, bool, bool, bool, bool]
_matches_cache: dict[tuple[Any, ...], tuple[str, list[_Match]]] = {}
_MATCHES_CACHED = 8


def _scores_version(session: Session) -> tuple[str, ...]:
    """Score runs write scores without touching profile.updated_at: the latest run and its state."""
    row = session.connection().execute(
        select(RUN.c.id, RUN.c.status, RUN.c.heartbeat_at, RUN.c.finished_at).order_by(RUN.c.id.desc()).limit(1)).first()
    return tuple(str(v) for v in row) if row else ()


def _matches(campaign: Campaign, query: DiscoverQuery, *, session: Session) -> tuple[str, list[_Match]]:
    """Everyone relevant (or, without topics and keywords, everyone) after the filters, best first, with
    what the exclusions need. Kept in memory per topics, keywords, filters and versions of the people and
    the interactions: pages, unticked exclusions and the roster reuse one scan."""
    topics, keywords = list(campaign.topics or []), list(campaign.keywords or [])
    key = (_database_key(session), tuple(topics), tuple(keywords),
           query.model_dump_json(include={"role", "platform", "followers_min", "followers_max", "language", "location",
                                          "level", "tag", "blocklist_tag"}),
           graph_service.people_version(session=session), _scores_version(session),
           interactions_version(session=session) if keywords else None)
    cached = _matches_cache.get(key)
    if cached is not None:
        return cached
    topic_match = [sql_cast(P.c.topics, Text).like(_json_like(t), escape="\\") for t in topics]
    text_match = [P.c.search_text.like("%" + _escape(fold(k)) + "%", escape="\\") for k in keywords]
    columns = _base_columns(query)
    columns.append(_mask(topic_match).label("topic_mask"))  # bit i: topic i (one integer, not a column each)
    columns.append(_mask(text_match).label("text_mask"))
    mode = "relevance" if topics or keywords else "score"
    if mode == "score":
        found = list(session.connection().execute(_filtered(select(*columns), query)).all())
    else:  # the database narrows to people with a topic or a keyword in their text; post-only matches by id
        found = list(session.connection().execute(
            _filtered(select(*columns).where(or_(*topic_match, *text_match)), query)).all())
    hits = keyword_hits(keywords, session=session) if keywords else {}
    if hits:
        known = {row[0] for row in found}
        extra = sorted(pid for pid in hits if pid not in known)
        for chunk in _chunks(extra):
            found.extend(session.connection().execute(_filtered(select(*columns).where(P.c.id.in_(chunk)), query)).all())
    n_topics, n_keywords = len(topics), len(keywords)
    dnc = ProfileStatus.do_not_contact.value
    matches: list[_Match] = []
    for row in found:
        pid = row[0]
        if mode == "relevance":
            topic_hits = int(row[6] or 0)
            keyword_found = int(row[7] or 0) | hits.get(pid, 0)
            if not topic_hits and not keyword_found:
                continue
            relevance: float | None = relevance_of(topic_hits.bit_count(), n_topics, keyword_found.bit_count(), n_keywords)
        else:
            topic_hits, keyword_found, relevance = 0, 0, None
        score = float(row[1] or 0.0)
        matches.append((-fit(relevance, score), -score, pid, relevance, topic_hits, keyword_found,
                        row[2] == dnc, bool(row[3]), bool(row[4]), bool(row[5])))
    matches.sort(key=lambda r: r[:3])
    with _cache_lock:
        if len(_matches_cache) >= _MATCHES_CACHED:
            _matches_cache.pop(next(iter(_matches_cache)))
        _matches_cache[key] = (mode, matches)
    return mode, matches


def _ranked(campaign: Campaign, query: DiscoverQuery, *, session: Session) -> tuple[str, Sequence[_Row], dict[Exclusion, int]]:
    """Every candidate after filters and exclusions, best first, and how many each exclusion left out."""
    active = frozenset(query.exclude)
    busy = _busy(campaign.id or 0, session=session) if Exclusion.other_campaign in active else set()
    mode, matches = _matches(campaign, query, session=session)
    skip_dnc, skip_consent, skip_team, skip_block, skip_busy = (reason in active for reason in (
        Exclusion.do_not_contact, Exclusion.no_consent, Exclusion.team, Exclusion.blocklist, Exclusion.other_campaign))
    counts = dict.fromkeys(Exclusion, 0)
    kept: list[_Match] = []
    for match in matches:
        out = False
        if skip_dnc and match[6]:
            counts[Exclusion.do_not_contact] += 1
            out = True
        if skip_consent and not match[7]:
            counts[Exclusion.no_consent] += 1
            out = True
        if skip_team and match[8]:
            counts[Exclusion.team] += 1
            out = True
        if skip_block and match[9]:
            counts[Exclusion.blocklist] += 1
            out = True
        if skip_busy and match[2] in busy:
            counts[Exclusion.other_campaign] += 1
            out = True
        if not out:
            kept.append(match)
    return mode, _LazyRows(kept), {reason: counts[reason] for reason in Exclusion if reason in active}


def _like_rows(campaign: Campaign, seed: Profile, query: DiscoverQuery, *, session: Session
               ) -> tuple[list[_Row], dict[Exclusion, int], bool]:
    """People similar to `seed`: topics (Jaccard) and graph neighbourhood (shared connections, same
    community), best first."""
    active = frozenset(query.exclude)
    busy = _busy(campaign.id or 0, session=session) if Exclusion.other_campaign in active else set()
    seed_id = seed.id or 0
    seed_topics = list(seed.topics or [])
    links, _ = _edges([seed_id], session=session)
    strongest: dict[int, float] = {}
    for _, other, strength in links:
        if other != seed_id:
            strongest[other] = max(strongest.get(other, 0.0), strength)
    neighbours = sorted(strongest, key=lambda pid: (-strongest[pid], pid))[:LIKE_NEIGHBOURS]
    shared: Counter[int] = Counter()
    seen_pairs: set[tuple[int, int]] = set()
    second, _ = _edges(neighbours, session=session, budget=LIKE_GRAPH_EDGES)
    for middle, other, _ in second:
        if other != seed_id and (middle, other) not in seen_pairs:
            seen_pairs.add((middle, other))
            shared[other] += 1
    community_of, stale = communities(session=session)
    seed_community = community_of.get(seed_id)
    graph_ids = set(strongest) | {pid for pid, _ in shared.most_common(2_000)}
    columns = [*_base_columns(query), P.c.topics]
    statements = []
    if seed_topics:
        statements.append(_filtered(select(*columns).where(
            or_(*(sql_cast(P.c.topics, Text).like(_json_like(t), escape="\\") for t in seed_topics))), query))
    for chunk in _chunks(sorted(graph_ids)):
        statements.append(_filtered(select(*columns).where(P.c.id.in_(chunk)), query))
    rows: dict[int, _Row] = {}
    left_out: Counter[Exclusion] = Counter()
    for statement in statements:
        for row in session.connection().execute(statement):
            pid = int(row[0])
            if pid == seed_id or pid in rows:
                continue
            their_topics = list(row[6] or [])
            topic_jaccard = jaccard(seed_topics, their_topics)
            shared_count = shared.get(pid, 0)
            same = seed_community is not None and community_of.get(pid) == seed_community
            value = likeness(topic_jaccard, shared_count / max(len(neighbours), 1), same)
            if value <= 0 and pid not in strongest:
                continue
            reasons = _reasons(row[2], bool(row[3]), bool(row[4]), bool(row[5]), pid in busy, active)
            rows[pid] = _Row(id=pid, score=float(row[1] or 0.0), fit=value, relevance=None, reasons=reasons,
                             likeness=value, extra={
                                 "topic_jaccard": topic_jaccard, "shared_connections": shared_count,
                                 "connected": pid in strongest, "same_community": same,
                                 "shared_topics": [t for t in their_topics if fold(t) in {fold(s) for s in seed_topics}]})
    kept = []
    for row_ in rows.values():
        for reason in row_.reasons:
            left_out[reason] += 1
        if not row_.reasons:
            kept.append(row_)
    kept.sort(key=lambda r: (-r.fit, -r.score, r.id))
    return kept, {reason: left_out.get(reason, 0) for reason in Exclusion if reason in active}, stale


def _posts(ids: list[int], terms: list[str], *, session: Session) -> dict[int, list[Post]]:
    """The latest POSTS_SHOWN contributions of each person that mention one of the terms."""
    if not ids or not terms:
        return {}
    dialect = _dialect(session)
    since = utcnow() - timedelta(days=DAYS)
    found = [or_(_contains(X.c.title, t, dialect=dialect), _contains(X.c.body, t, dialect=dialect)) for t in terms]
    posts: dict[int, list[Post]] = defaultdict(list)
    for pid, iid, title, url, kind, when in session.connection().execute(
            select(X.c.profile_id, X.c.id, X.c.title, X.c.url, X.c.kind, X.c.occurred_at)
            .where(X.c.profile_id.in_(ids), X.c.occurred_at >= since, X.c.kind.in_(_contribution_kinds()), or_(*found))
            .order_by(X.c.occurred_at.desc(), X.c.id.desc())):
        if len(posts[pid]) < POSTS_SHOWN:
            posts[pid].append(Post(id=int(iid), title=title or "", url=url or "", kind=kind, occurred_at=when))
    return dict(posts)


def _cards(campaign: Campaign, rows: list[_Row], *, session: Session) -> list[Card]:
    ids = [r.id for r in rows]
    if not ids:
        return []
    profiles = {p.id: p for p in session.scalars(select(Profile).where(col(Profile.id).in_(ids)))}
    topics, keywords = list(campaign.topics or []), list(campaign.keywords or [])
    posts = _posts(ids, keywords + topics, session=session)
    stages = _stages(campaign.id or 0, session=session)
    others = service.other_active_campaigns(ids, session=session, except_campaign=campaign.id)
    cards = []
    for row in rows:
        p = profiles[row.id]
        cards.append(Card(
            profile_id=row.id, name=p.display_name, roles=list(p.roles or []), level=int(p.level or 4),
            score=float(p.score or 0.0), score_rank=p.score_rank, reach=int(p.reach or 0),
            influence=float(p.influence or 0.0), advocacy=float(p.advocacy or 0.0), is_team_member=p.is_team_member,
            fit=round(row.fit, 4), relevance=None if row.relevance is None else round(row.relevance, 4),
            topics=[topics[i] for i in row.topics], keywords=[keywords[i] for i in row.keywords],
            posts=posts.get(row.id, []), stage=stages.get(row.id), other_campaigns=others.get(row.id, []),
            likeness=None if row.likeness is None else round(row.likeness, 4),
            shared_topics=row.extra.get("shared_topics", []), topic_jaccard=round(row.extra.get("topic_jaccard", 0.0), 4),
            shared_connections=row.extra.get("shared_connections", 0), connected=row.extra.get("connected", False),
            same_community=row.extra.get("same_community", False)))
    return cards


def discover(campaign_id: int, query: DiscoverQuery, *, session: Session) -> Discovery:
    """One page of the campaign's candidates, with the reasons shown and the exclusions counted."""
    campaign = service.get_campaign(campaign_id, session=session)
    seed: Profile | None = None
    stale = False
    if query.like is not None:
        seed = session.get(Profile, query.like)
        if seed is None:
            raise NotFound(gettext("There is no person with id %(id)s.") % {"id": query.like})
        rows: Sequence[_Row]
        rows, left_out, stale = _like_rows(campaign, seed, query, session=session)
        mode = "like"
    else:
        mode, rows, left_out = _ranked(campaign, query, session=session)
    start = (query.page - 1) * query.per_page
    shown = list(rows[start:start + query.per_page])
    return Discovery(campaign=campaign, query=query, mode=mode, cards=_cards(campaign, shown, session=session),
                     total=len(rows), left_out=left_out, seed=seed, communities_stale=stale)


# ---- the roster's data ------------------------------------------------------------------------------


class RosterQuery(InputModel):
    k: int | None = PydField(default=None, ge=1, le=50, description="People to choose (default: 10, or fewer if "
                                                                    "fewer candidates are left)")
    budget: float | None = PydField(default=None, ge=0, le=1_000_000_000_000.0,
                                    description="Spend at most this much on fees (none: fees are ignored)")
    default_fee: float | None = PydField(default=None, ge=0, le=1_000_000_000_000.0,
                                         description="The fee assumed for people whose fee is not known")
    two_hop_weight: float = PydField(default=roster_lib.TWO_HOP_WEIGHT, ge=0, le=1,
                                     description="What someone two hops away counts, against 1 for a direct connection")


DEFAULT_K = 10


@dataclass
class RosterPerson:
    id: int
    name: str
    score: float
    reach: int
    community: int | None
    fee: float | None
    stage: str | None


@dataclass
class RosterResult:
    campaign: Campaign
    query: RosterQuery
    k: int
    roster: roster_lib.Roster
    people: dict[int, RosterPerson]
    mode: str
    second_hop_partial: bool
    communities_stale: bool
    left_out: dict[Exclusion, int]


_neighbours_cache: dict[tuple[Any, ...], tuple[dict[int, frozenset[int]], dict[int, frozenset[int]], bool]] = {}


def pool_neighbours(ids: list[int], two_hop: bool, *, session: Session
                    ) -> tuple[dict[int, frozenset[int]], dict[int, frozenset[int]], bool]:
    """Direct connections of each pool member, the people two hops away (through their TIES_PER_PERSON
    strongest ties, round-robin, within SECOND_HOP_EDGES links: indexed reads, never the whole graph),
    and whether the second hop was cut short. Kept per graph version and pool."""
    key = (_database_key(session), graph_service.graph_version(session=session), tuple(ids), two_hop)
    cached = _neighbours_cache.get(key)
    if cached is not None:
        return cached
    links, _ = _edges(ids, session=session)
    first: dict[int, dict[int, float]] = defaultdict(dict)
    for pid, other, strength in links:
        if other != pid:
            first[pid][other] = max(first[pid].get(other, 0.0), strength)
    ties = {pid: sorted(first[pid], key=lambda o: (-first[pid][o], o))[:TIES_PER_PERSON] for pid in ids}
    through: dict[int, list[int]] = defaultdict(list)  # a tie -> the pool people it is a tie of
    order: list[int] = []
    for rank in range(TIES_PER_PERSON):
        for pid in ids:
            if rank < len(ties[pid]):
                tie = ties[pid][rank]
                if tie not in through:
                    order.append(tie)
                through[tie].append(pid)
    partial = False
    second: dict[int, set[int]] = defaultdict(set)
    if two_hop and order:
        reached: dict[int, set[int]] = defaultdict(set)
        read = 0
        for chunk in _chunks(order):
            edges = _pairs_touching(chunk, session=session)
            for tie, other in edges:
                reached[tie].add(other)
            read += len(edges)
            if read >= SECOND_HOP_EDGES:
                partial = chunk[-1] != order[-1]
                break
        for tie, others in reached.items():
            for pid in through[tie]:
                second[pid] |= others
    result = ({pid: frozenset(first.get(pid, {})) for pid in ids}, {pid: frozenset(second.get(pid, ())) for pid in ids},
              partial)
    with _cache_lock:
        if len(_neighbours_cache) >= 4:
            _neighbours_cache.pop(next(iter(_neighbours_cache)))
        _neighbours_cache[key] = result
    return result


def _pool_people(campaign: Campaign, rows: list[_Row], two_hop_weight: float, *, session: Session
                 ) -> tuple[list[roster_lib.Person], dict[int, RosterPerson], bool, bool]:
    ids = [r.id for r in rows]
    first, second, partial = pool_neighbours(ids, two_hop_weight > 0, session=session)
    community_of, stale = communities(session=session)
    fees = _members_fees(campaign.id or 0, session=session)
    stages = _stages(campaign.id or 0, session=session)
    profiles = {int(pid): (name, int(reach or 0)) for pid, name, reach in session.connection().execute(
        select(P.c.id, P.c.display_name, P.c.reach).where(P.c.id.in_(ids)))}
    people, shown = [], {}
    for row in rows:
        name, reach = profiles[row.id]
        people.append(roster_lib.person(row.id, score=row.score, reach=reach, community=community_of.get(row.id),
                                        fee=fees.get(row.id), one_hop=first.get(row.id, frozenset()),
                                        two_hop=second.get(row.id, frozenset())))
        shown[row.id] = RosterPerson(id=row.id, name=name, score=row.score, reach=reach,
                                     community=community_of.get(row.id), fee=fees.get(row.id), stage=stages.get(row.id))
    return people, shown, partial, stale


def build_roster(campaign_id: int, query: RosterQuery, *, session: Session,
                 discover_query: DiscoverQuery | None = None) -> RosterResult:
    """The roster among the discovery ranking's top POOL (default filters and exclusions)."""
    campaign = service.get_campaign(campaign_id, session=session)
    mode, ranking, left_out = _ranked(campaign, discover_query or DiscoverQuery(), session=session)
    rows = list(ranking[:POOL])
    k = query.k if query.k is not None else min(DEFAULT_K, len(rows))
    if query.k is not None and not rows:
        raise InvalidInput(gettext("Check the highlighted fields."), field_errors={
            "k": gettext("No candidates are left after the filters and exclusions: add topics or keywords to the "
                         "campaign, or untick an exclusion.")})
    if query.k is not None and query.k > len(rows):
        raise InvalidInput(gettext("Check the highlighted fields."), field_errors={
            "k": gettext("Only %(n)s candidates are left after the filters and exclusions: ask for at most %(n)s.")
            % {"n": len(rows)}})
    people, shown, partial, stale = _pool_people(campaign, rows, query.two_hop_weight, session=session)
    result = roster_lib.build_roster(people, k, budget=query.budget, default_fee=query.default_fee,
                                     two_hop_weight=query.two_hop_weight) if people else roster_lib.Roster(budget=query.budget)
    return RosterResult(campaign=campaign, query=query, k=k, roster=result, people=shown, mode=mode,
                        second_hop_partial=partial, communities_stale=stale, left_out=left_out)


def add_to_pipeline(campaign_id: int, profile_ids: list[int], stage: Stage, *, session: Session,
                    actor: Actor) -> service.Added:
    """People from the discovery page or the roster into the pipeline (those already in are reported)."""
    return service.add_members(campaign_id, MembersIn(profile_ids=profile_ids, stage=stage), session=session, actor=actor)
