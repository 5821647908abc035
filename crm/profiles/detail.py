"""Everything the profile page shows about one person."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from functools import cached_property
from typing import Any

from sqlmodel import Session, col, select

from crm.accounts.models import User
from crm.audit import service as audit
from crm.audit.models import AuditEvent
from crm.campaigns.pages import campaign_choices
from crm.charts import TrendChart, trend
from crm.interactions.log import contact_refusal
from crm.interactions.models import (
    OUTREACH_KINDS,
    Interaction,
    InteractionIn,
    InteractionKind,
    RelationshipKind,
    TimelineFilter,
)
from crm.interactions.timeline import TimelinePage, timeline_page
from crm.profiles.models import Identity, Platform, Profile
from crm.profiles.service import get_profile, identities_of, reach_of
from crm.ranking import explain as explaining
from crm.ranking.explain import Explanation, HistoryPoint
from crm.ranking.models import Level, level_label
from crm.ranking.service import weights_in_use
from crm.relationships.models import Direction
from crm.relationships.service import PersonConnection, count_connected_people, person_connections

CONNECTIONS_SHOWN = 12


@dataclass
class ProfileDetail:
    profile: Profile
    identities: list[Identity]
    reach: int
    timeline: TimelinePage
    relationship_count: int  # people connected, either direction
    connections: list[PersonConnection]
    owner: User | None
    history: list[AuditEvent]
    channels: list[str] = field(default_factory=list)  # for the timeline's channel filter
    contact_warning: str | None = None  # why outreach needs confirmation
    session: Session | None = field(default=None, repr=False, compare=False)

    @cached_property
    def score(self) -> ScorePanel | None:
        """The "why this score" panel, worked out only when a page shows it (htmx blocks of the
        profile page that leave it out do not pay for it)."""
        if self.session is None:
            return None
        return score_panel(self.profile.id or 0, session=self.session)

    @property
    def choices(self) -> dict[str, list[str]]:
        return form_choices()

    def blank_log_form(self) -> dict[str, Any]:
        """The log form as an empty profile page shows it."""
        campaigns = campaign_choices(session=self.session) if self.session is not None else []
        return log_form(self.profile.id or 0, blank_log_values(), {}, [], campaigns)

    @property
    def interactions(self) -> list[Interaction]:
        return self.timeline.interactions

    @property
    def interaction_count(self) -> int:
        return self.timeline.total


def form_choices() -> dict[str, list[str]]:
    return {
        "kinds": [k.value for k in InteractionKind],
        "relationship_kinds": [k.value for k in RelationshipKind],
        "directions": [d.value for d in Direction],
    }


def blank_log_values() -> dict[str, Any]:
    """The log form's fields as an empty form shows them (text, as typed)."""
    values: dict[str, Any] = {name: "" for name in InteractionIn.model_fields}
    return {**values, "kind": InteractionKind.note.value, "contact_anyway": False}


def log_form(profile_id: int, values: dict[str, Any], errors: dict[str, str],
             chosen: list[tuple[int, str]], campaigns: list[tuple[int, str]] | None = None) -> dict[str, Any]:
    """What the log form needs: the values as typed, errors, choices, the person chosen as counterpart
    and the campaigns it can be linked to (crm.campaigns.pages.campaign_choices)."""
    return {
        "campaigns": campaigns or [],
        "values": values,
        "errors": errors,
        "kinds": list(InteractionKind),
        "outreach_kinds": [k.value for k in OUTREACH_KINDS],
        "platforms": [p.value for p in Platform],
        "chosen": chosen,
        "profile_id": profile_id,
    }


def channels_of(profile_id: int, *, session: Session) -> list[str]:
    query = (select(Interaction.channel).where(Interaction.profile_id == profile_id, Interaction.channel != "")
             .distinct().order_by(col(Interaction.channel)))
    return list(session.exec(query))


def profile_detail(profile_id: int, *, session: Session, filters: TimelineFilter | None = None,
                   zone: tzinfo = UTC) -> ProfileDetail:
    profile = get_profile(profile_id, session=session)
    identities = identities_of(profile_id, session=session)
    owner = session.get(User, profile.owner_id) if profile.owner_id else None
    return ProfileDetail(
        profile=profile,
        identities=identities,
        reach=reach_of(identities),
        timeline=timeline_page(profile_id, session=session, filters=filters, zone=zone),
        relationship_count=count_connected_people(profile_id, session=session),
        connections=person_connections(profile_id, session=session, per_page=CONNECTIONS_SHOWN).rows,
        owner=owner,
        # Interactions logged, edited and deleted are shown inline in the timeline instead.
        history=[e for e in audit.events_for(session=session, object_type="profile", object_id=profile_id, limit=40)
                 if not e.action.startswith("interaction.")][:20],
        channels=channels_of(profile_id, session=session),
        contact_warning=contact_refusal(profile),
        session=session,
    )


# ---- the "why this score" panel -----------------------------------------------------------------

# Contributions a next-level hint speaks of ("about 4 forum answers or 11 posts"), when they count.
HINT_KINDS = ("forum_answer", "post")
LEVEL_KEYS = {Level.champion.value: "champion", Level.advocate.value: "advocate", Level.contributor.value: "contributor"}


@dataclass
class LevelHint:
    kind: str
    count: int  # fresh contributions of this kind (neutral tone) that would earn the points needed


@dataclass
class NextLevel:
    level: int
    needed: float  # advocacy points still missing
    hints: list[LevelHint]


@dataclass
class Lender:
    """Someone who lends the person influence: one line per person, whatever the kinds of link."""

    profile_id: int
    name: str
    kinds: list[str]
    strength: float  # the strongest of their links
    influence: float  # theirs (1.0 is the average)


@dataclass
class ScorePanel:
    profile: Profile
    explanation: Explanation | None  # None before the person's first computation
    history: list[HistoryPoint]
    next_level: NextLevel | None  # None for a champion (and before any computation)
    shown_points: list[float]  # each component's points to one decimal, adding up to the shown score

    @property
    def profile_id(self) -> int:
        return self.profile.id or 0

    @property
    def computed(self) -> bool:
        return self.explanation is not None

    @property
    def level_held(self) -> bool:
        """Hysteresis keeps a better level than advocacy alone now gives."""
        ex = self.explanation
        return ex is not None and ex.computed_level > ex.level

    @property
    def lenders(self) -> list[Lender]:
        """The explanation's links, one per person (someone who follows and mentions counts once)."""
        found: dict[int, Lender] = {}
        for link in self.explanation.links if self.explanation else []:
            lender = found.setdefault(link.profile_id, Lender(link.profile_id, link.name, [], 0.0, link.influence))
            if link.kind not in lender.kinds:
                lender.kinds.append(link.kind)
            lender.strength = max(lender.strength, link.strength)
        return list(found.values())

    @property
    def level_threshold(self) -> float:
        """The advocacy the person's level asks for (0 for an observer)."""
        ex = self.explanation
        if ex is None or ex.level not in LEVEL_KEYS:
            return 0.0
        return float(ex.weights["levels"][LEVEL_KEYS[ex.level]])

    @cached_property
    def score_chart(self) -> TrendChart | None:
        return trend([(h.as_of, h.score) for h in self.history], top=100.0)

    @cached_property
    def advocacy_chart(self) -> TrendChart | None:
        return trend([(h.as_of, h.advocacy) for h in self.history])

    level_label = staticmethod(level_label)

    @property
    def reach_counted(self) -> float:
        """What the person's identities count today (it differs from the computed reach when their
        identities changed since that computation)."""
        return sum(part.counted for part in self.explanation.reach_parts) if self.explanation else 0.0


def level_hints(needed: float, kind_weights: dict[str, float]) -> list[LevelHint]:
    """How many fresh contributions would close the gap: a new contribution with a neutral tone earns
    exactly its kind's weight. Forum answers and posts when they count; else the kind worth most."""
    if needed <= 0:
        return []
    kinds = [k for k in HINT_KINDS if float(kind_weights.get(k, 0.0)) > 0]
    if not kinds:
        counting = sorted(((w, k) for k, w in kind_weights.items() if float(w) > 0), reverse=True)
        kinds = [counting[0][1]] if counting else []
    return [LevelHint(k, max(1, math.ceil(needed / float(kind_weights[k]) - 1e-9))) for k in kinds]


def rounded_points(points: list[float], total: float, digits: int = 1) -> list[float]:
    """Each part rounded so that the rounded parts add up to the rounded total (largest remainders
    get the spare tenths): a breakdown that visibly adds up."""
    unit = 10 ** -digits
    target = round(round(total, digits) / unit)
    scaled = [p / unit for p in points]
    floors = [math.floor(v + 1e-9) for v in scaled]
    by_remainder = sorted(range(len(points)), key=lambda i: floors[i] - scaled[i])  # largest remainder first
    spare = target - sum(floors)
    if spare >= 0:
        for i in by_remainder[:spare]:
            floors[i] += 1
    else:  # only when a part sat a hair below a tenth: take it back from the smallest remainders
        for i in by_remainder[spare:]:
            floors[i] = max(floors[i] - 1, 0)
    return [round(f * unit, digits) for f in floors]


def score_panel(profile_id: int, *, session: Session) -> ScorePanel:
    """Everything the "why this score" panel shows (raises NotFound for an unknown person)."""
    profile = get_profile(profile_id, session=session)
    explanation = explaining.explain(profile_id, session=session)
    if explanation is None:
        return ScorePanel(profile, None, [], None, [])
    history = explaining.history(profile_id, session=session)
    next_level = None
    if explanation.next_level is not None:
        level, needed = explanation.next_level
        _version, active = weights_in_use(session=session)  # what a new contribution would earn from now on
        next_level = NextLevel(level, needed, level_hints(needed, active["kinds"]))
    shown = rounded_points([c.points for c in explanation.components], explanation.score)
    return ScorePanel(profile, explanation, history, next_level, shown)


def score_history(profile_id: int, *, session: Session) -> list[HistoryPoint]:
    """The person's score in each stored computation, oldest first (NotFound for an unknown person)."""
    get_profile(profile_id, session=session)
    return explaining.history(profile_id, session=session)
