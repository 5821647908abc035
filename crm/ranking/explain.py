"""Why a person has their score: each component with its inputs, weight and percentile, the points
each component adds (they add up to the score), the contributions and connections that drive it,
what gets them to the next level, and their history."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, func, select
from sqlmodel import Session, col

from crm.errors import NotFound
from crm.interactions.models import Interaction, Relationship
from crm.profiles.models import Identity, Profile
from crm.ranking import scoring
from crm.ranking.bridges import Bridge, bridge_score
from crm.ranking.models import RunStatus, ScoreRun, ScoreSnapshot, WeightSet

SNAP = cast(Table, ScoreSnapshot.__table__)  # type: ignore[attr-defined]
RUN = cast(Table, ScoreRun.__table__)  # type: ignore[attr-defined]
TOP = 5


@dataclass
class Component:
    name: str  # reach, advocacy, influence
    value: float
    percentile: float  # 0..1
    weight: float  # as set in the weight set
    share: float  # weight / sum of weights
    points: float  # share × percentile × 100: what this component adds to the score


@dataclass
class ReachPart:
    platform: str
    handle: str
    followers: int
    counted: float
    presence: bool  # counted as a flat amount, not by followers
    factor: float


@dataclass
class Driver:
    interaction_id: int
    kind: str
    title: str
    occurred_at: datetime
    sentiment: float | None
    points: float


@dataclass
class Link:
    profile_id: int
    name: str
    kind: str
    strength: float
    influence: float  # theirs


@dataclass
class Explanation:
    profile_id: int
    run: ScoreRun
    weight_version: int
    weights: dict[str, Any]
    score: float
    rank: int | None
    ranked: int  # how many people are ranked in that run
    level: int
    computed_level: int  # what advocacy alone gives (hysteresis may keep a higher level)
    next_level: tuple[int, float] | None
    components: list[Component]
    reach_parts: list[ReachPart] = field(default_factory=list)
    drivers: list[Driver] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    contributions: int = 0
    bridge: Bridge | None = None  # on the person's two-hop neighbourhood (crm.ranking.bridges)

    @property
    def total_points(self) -> float:
        return sum(c.points for c in self.components)


def latest_run(*, session: Session) -> ScoreRun | None:
    query = select(ScoreRun).where(col(ScoreRun.status) == RunStatus.done.value).order_by(
        col(ScoreRun.as_of).desc(), col(ScoreRun.id).desc()).limit(1)
    return session.exec(query).scalars().first()  # type: ignore[call-overload, no-any-return]


def explain(profile_id: int, *, session: Session) -> Explanation | None:
    """The explanation of the person's latest score; None before their first computation."""
    profile = session.get(Profile, profile_id)
    if profile is None:
        raise NotFound("No such person.")
    found = session.exec(
        select(ScoreSnapshot, ScoreRun).join(ScoreRun, col(ScoreRun.id) == ScoreSnapshot.run_id)
        .where(col(ScoreSnapshot.profile_id) == profile_id, col(ScoreRun.status) == RunStatus.done.value)
        .order_by(col(ScoreRun.as_of).desc(), col(ScoreRun.id).desc()).limit(1)
    ).first()  # type: ignore[call-overload]
    if found is None:
        return None
    snap, run = found
    weight_set = session.get(WeightSet, run.weight_set_id) if run.weight_set_id else None
    weights = weight_set.weights if weight_set else {}
    if not weights:
        from crm.ranking.service import default_weights

        weights = default_weights()
    combined = weights["combined"]
    total = sum(float(combined[c]) for c in scoring.COMPONENTS)
    components = []
    for name in scoring.COMPONENTS:
        pct = float(getattr(snap, f"{name}_pct"))
        share = float(combined[name]) / total
        components.append(Component(name, float(getattr(snap, name)), pct, float(combined[name]), share,
                                    100.0 * share * pct))
    ranked = session.scalar(select(func.count()).select_from(ScoreSnapshot).where(
        col(ScoreSnapshot.run_id) == run.id, col(ScoreSnapshot.rank).is_not(None))) or 0
    computed = scoring.level_for(snap.advocacy, weights["levels"])
    return Explanation(
        profile_id=profile_id, run=run, weight_version=run.weight_version, weights=weights, score=snap.score,
        rank=snap.rank, ranked=int(ranked), level=snap.level,
        computed_level=int(computed), next_level=scoring.to_next_level(snap.advocacy, snap.level, weights["levels"]),
        components=components,
        reach_parts=_reach_parts(profile_id, weights, session=session),
        drivers=_drivers(profile_id, run, weights, session=session),
        links=_links(profile_id, run, session=session),
        contributions=_contribution_count(profile_id, run, weights, session=session),
        bridge=bridge_of(profile_id, session=session),
    )


BRIDGE_NEIGHBOURHOOD = 80  # people measured around a person, at most


def bridge_of(profile_id: int, *, session: Session) -> Bridge | None:
    """How much the person bridges their neighbourhood (None without connections)."""
    from crm.graph.service import ego_network

    ego = ego_network(profile_id, session=session, hops=2, limit=BRIDGE_NEIGHBOURHOOD)
    if not ego.edges:
        return None
    community_of = {node.id: node.community for node in ego.nodes}
    direct = [node.id for node in ego.nodes if node.hop == 1]
    return bridge_score(profile_id, ((e.source, e.target) for e in ego.edges), community_of, direct)


def _reach_parts(profile_id: int, weights: dict[str, Any], *, session: Session) -> list[ReachPart]:
    parts = []
    rows = session.exec(select(Identity).where(col(Identity.profile_id) == profile_id)).scalars()  # type: ignore[call-overload]
    for identity in rows:
        presence = identity.platform in weights["presence"]
        parts.append(ReachPart(
            platform=identity.platform, handle=identity.handle, followers=int(identity.followers or 0),
            counted=scoring.identity_reach(identity.platform, identity.followers or 0, weights), presence=presence,
            factor=float(weights["presence"][identity.platform] if presence
                         else weights["platforms"].get(identity.platform, 1.0))))
    return sorted(parts, key=lambda p: -p.counted)


def _contributions(profile_id: int, run: ScoreRun, weights: dict[str, Any]) -> Any:
    return select(Interaction).where(
        col(Interaction.profile_id) == profile_id, col(Interaction.occurred_at) <= run.as_of,
        col(Interaction.kind).in_(sorted(k for k, w in weights["kinds"].items() if w > 0)))


def _drivers(profile_id: int, run: ScoreRun, weights: dict[str, Any], *, session: Session) -> list[Driver]:
    """The contributions that add the most advocacy, scored exactly as the computation scored them."""
    scored = []
    for x in session.exec(_contributions(profile_id, run, weights)).scalars():  # type: ignore[call-overload]
        age = (run.as_of - x.occurred_at).total_seconds() / 86400.0
        points = float(scoring.contribution_points(float(weights["kinds"].get(x.kind, 0.0)), x.sentiment, age, weights))
        scored.append(Driver(x.id, x.kind, x.title, x.occurred_at, x.sentiment, points))
    scored.sort(key=lambda d: (-d.points, -d.interaction_id))
    return scored[:TOP]


def _contribution_count(profile_id: int, run: ScoreRun, weights: dict[str, Any], *, session: Session) -> int:
    query = _contributions(profile_id, run, weights).with_only_columns(func.count())
    return int(session.scalar(query) or 0)


def _links(profile_id: int, run: ScoreRun, *, session: Session) -> list[Link]:
    """The people pointing at this person whose own influence is highest: who lends them influence."""
    rows = session.exec(
        select(col(Profile.id), col(Profile.display_name), col(Relationship.kind), col(Relationship.strength),
               SNAP.c.influence)
        .join(Relationship, col(Relationship.source_id) == Profile.id)
        .join(SNAP, and_(SNAP.c.profile_id == Profile.id, SNAP.c.run_id == run.id), isouter=True)
        .where(col(Relationship.target_id) == profile_id, col(Relationship.source_id) != profile_id)
        .order_by(func.coalesce(SNAP.c.influence, 0).desc(), col(Relationship.strength).desc()).limit(TOP)
    ).all()  # type: ignore[call-overload]
    return [Link(int(pid), name, kind, float(strength or 0), float(influence or 0))
            for pid, name, kind, strength, influence in rows]


@dataclass
class HistoryPoint:
    as_of: datetime
    score: float
    rank: int | None
    level: int
    reach: float
    advocacy: float
    influence: float


def history(profile_id: int, *, session: Session, limit: int = 120) -> list[HistoryPoint]:
    """The person's scores in each stored computation, oldest first."""
    rows = session.exec(
        select(col(ScoreRun.as_of), col(ScoreSnapshot.score), col(ScoreSnapshot.rank), col(ScoreSnapshot.level),
               col(ScoreSnapshot.reach), col(ScoreSnapshot.advocacy), col(ScoreSnapshot.influence))
        .join(ScoreRun, col(ScoreRun.id) == ScoreSnapshot.run_id)
        .where(col(ScoreSnapshot.profile_id) == profile_id, col(ScoreRun.status) == RunStatus.done.value)
        .order_by(col(ScoreRun.as_of).desc(), col(ScoreRun.id).desc()).limit(limit)
    ).all()  # type: ignore[call-overload]
    return [HistoryPoint(*row) for row in reversed(rows)]
