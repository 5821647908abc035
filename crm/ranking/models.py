"""Scores: weight sets (versioned, one active), score runs (one per computation) and the snapshot of
every person's scores in each run, from which history, trends and explanations are read.

A person's current score, rank, level, advocacy and influence are also stored on the profile
(crm.ranking.service writes them, nothing else), so the people list sorts and filters by them
through an index."""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any

from pydantic import BaseModel, model_validator
from pydantic import Field as PydField
from sqlalchemy import JSON, Index, SmallInteger, text
from sqlmodel import Field, SQLModel

from crm.base import created_at_field, optional_datetime_field
from crm.db import UTCDateTime
from crm.i18n import N_, gettext
from crm.interactions.models import CONTRIBUTION_KINDS, RelationshipKind
from crm.profiles.models import Platform
from crm.schemas import OUT_CONFIG, InputModel


class Level(IntEnum):
    champion = 1
    advocate = 2
    contributor = 3
    observer = 4

    @property
    def label(self) -> str:
        return gettext(LEVEL_LABELS[self])


LEVEL_LABELS = {
    Level.champion: N_("Champion"),
    Level.advocate: N_("Advocate"),
    Level.contributor: N_("Contributor"),
    Level.observer: N_("Observer"),
}


def level_label(level: int) -> str:
    """1 -> "Champion", in the page's language (a number this version does not know, as it is)."""
    try:
        return Level(level).label
    except ValueError:
        return str(level)


def level_name(level: int) -> str:
    """1 -> "champion": the word exports and the API use."""
    try:
        return Level(level).name
    except ValueError:
        return str(level)


class WeightSet(SQLModel, table=True):
    __tablename__ = "weight_set"
    # At most one active set, enforced by the database too, so two activations at once cannot both win.
    __table_args__ = (
        Index("uq_weight_set_active", "active", unique=True,
              sqlite_where=text("active"), postgresql_where=text("active")),
    )

    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(unique=True)
    name: str = Field(default="", max_length=100)
    note: str = Field(default="", max_length=1000)
    weights: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    active: bool = Field(default=False)
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()
    activated_at: datetime | None = optional_datetime_field()
    activated_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")


class RunStatus(StrEnum):
    running = "running"
    done = "done"
    failed = "failed"


class ScoreRun(SQLModel, table=True):
    """One computation of everyone's scores."""

    __tablename__ = "score_run"

    id: int | None = Field(default=None, primary_key=True)
    weight_set_id: int | None = Field(default=None, foreign_key="weight_set.id", ondelete="SET NULL")
    weight_version: int = Field(default=0)
    as_of: datetime = Field(sa_type=UTCDateTime, index=True)
    status: str = Field(default=RunStatus.running.value, max_length=20, index=True)
    trigger: str = Field(default="", max_length=20)  # cli, job, schedule, backfill
    profiles: int = Field(default=0)
    edges: int = Field(default=0)
    interactions: int = Field(default=0)
    iterations: int = Field(default=0)
    seconds: float = Field(default=0.0)
    signature: str = Field(default="", max_length=300)  # what the inputs looked like (see service.inputs_signature)
    started_at: datetime = created_at_field()
    heartbeat_at: datetime | None = optional_datetime_field()  # a running run that stops beating has died
    finished_at: datetime | None = optional_datetime_field()


class ScoreSnapshot(SQLModel, table=True):
    """One person's scores in one run."""

    __tablename__ = "score_snapshot"
    __table_args__ = (
        Index("ix_score_snapshot_profile_run", "profile_id", "run_id"),
        Index("ix_score_snapshot_run_score", "run_id", "score"),  # a run's leaderboard in order
    )

    run_id: int = Field(foreign_key="score_run.id", ondelete="CASCADE", primary_key=True)
    profile_id: int = Field(foreign_key="profile.id", ondelete="CASCADE", primary_key=True)
    reach: float = 0.0  # weighted reach
    reach_pct: float = 0.0
    advocacy: float = 0.0
    advocacy_pct: float = 0.0
    influence: float = 0.0  # PageRank × number of people: 1.0 is the average
    influence_pct: float = 0.0
    score: float = 0.0
    rank: int | None = None  # among people who are not team members
    level: int = Field(default=Level.observer.value, sa_type=SmallInteger)
    level_below_runs: int = 0  # hysteresis: computations in a row below the level's threshold
    advocacy_30: float = 0.0
    advocacy_90: float = 0.0
    advocacy_365: float = 0.0


# ---- weights: the request schema and its defaults ---------------------------------------------

WEIGHT = PydField(ge=0, le=1000)
PRESENCE_DEFAULT = {Platform.email.value: 0.0, Platform.discourse.value: 100.0, Platform.discord.value: 50.0,
                    Platform.slack.value: 50.0}
KIND_DEFAULT = {
    "post": 1.0, "mention": 1.0, "reply": 1.0, "forum_answer": 3.0, "review": 4.0, "talk": 8.0, "article": 6.0,
    "video": 6.0, "referral": 5.0, "feedback": 2.0, "bug_report": 3.0,
}
EDGE_DEFAULT = {"knows": 1.0, "follows": 0.5, "mentions": 1.0, "replies_to": 1.0, "collaborates": 1.5,
                "referred": 2.0, "colleague": 0.5}


class ComponentWeights(InputModel):
    reach: float = PydField(default=0.3, ge=0, le=100)
    advocacy: float = PydField(default=0.5, ge=0, le=100)
    influence: float = PydField(default=0.2, ge=0, le=100)

    @model_validator(mode="after")
    def _something_counts(self) -> ComponentWeights:
        if self.reach + self.advocacy + self.influence <= 0:
            raise ValueError(gettext("At least one of reach, advocacy and influence needs a weight above zero."))
        return self


class LevelThresholds(InputModel):
    """Advocacy needed for each level (observer is everyone else)."""

    champion: float = PydField(default=50.0, gt=0, le=1_000_000)
    advocate: float = PydField(default=15.0, gt=0, le=1_000_000)
    contributor: float = PydField(default=3.0, gt=0, le=1_000_000)

    @model_validator(mode="after")
    def _ordered(self) -> LevelThresholds:
        if not self.champion > self.advocate > self.contributor:
            raise ValueError(gettext("Each level needs more advocacy than the one below it: "
                                     "champion > advocate > contributor."))
        return self


class Weights(InputModel):
    """Everything a score depends on. Platforms in `presence` count a flat amount each (an e-mail
    address or a forum account carries no audience); the others count followers × their weight.
    Anything left out keeps its default value; 0 makes it count nothing."""

    combined: ComponentWeights = PydField(default_factory=ComponentWeights)
    kinds: dict[str, float] = PydField(default_factory=lambda: dict(KIND_DEFAULT))
    sentiment: float = PydField(default=0.5, ge=0, le=1, description="Factor is 1 + this × sentiment (-1..1)")
    monthly_decay: float = PydField(default=0.9, gt=0, le=1, description="A contribution counts this much less each month")
    platforms: dict[str, float] = PydField(
        default_factory=lambda: {p.value: 1.0 for p in Platform if p.value not in PRESENCE_DEFAULT})
    presence: dict[str, float] = PydField(default_factory=lambda: dict(PRESENCE_DEFAULT))
    edges: dict[str, float] = PydField(default_factory=lambda: dict(EDGE_DEFAULT))
    levels: LevelThresholds = PydField(default_factory=LevelThresholds)

    @model_validator(mode="after")
    def _known_keys(self) -> Weights:
        # What is left out keeps its default (set a weight to 0 to make it count nothing): a request that
        # changes one kind must not silently zero every other one.
        self.kinds = {**KIND_DEFAULT, **self.kinds}
        self.edges = {**EDGE_DEFAULT, **self.edges}
        for platform, value in PRESENCE_DEFAULT.items():
            if platform not in self.platforms:
                self.presence.setdefault(platform, value)
        for platform in Platform:
            if platform.value not in self.presence:
                self.platforms.setdefault(platform.value, 1.0)
        checks = (
            ("kinds", self.kinds, {k.value for k in CONTRIBUTION_KINDS}, 1000),
            ("platforms", self.platforms, {p.value for p in Platform}, 1000),
            ("presence", self.presence, {p.value for p in Platform}, 1e9),
            ("edges", self.edges, {k.value for k in RelationshipKind}, 1000),
        )
        for name, values, known, top in checks:
            unknown = sorted(set(values) - known)
            if unknown:
                raise ValueError(gettext("Unknown %(group)s: %(names)s.") % {"group": name, "names": ", ".join(unknown)})
            for key, value in values.items():
                if not 0 <= value <= top:
                    raise ValueError(gettext("%(group)s.%(name)s must be between 0 and %(top)s.")
                                     % {"group": name, "name": key, "top": f"{top:g}"})
        both = sorted(set(self.platforms) & set(self.presence))
        if both:
            raise ValueError(gettext("A platform counts by followers or by presence, not both: %(names)s.")
                             % {"names": ", ".join(both)})
        return self


class WeightSetIn(InputModel):
    """A new version of the weights (it starts inactive; activate it after looking at the preview)."""

    name: str = PydField(default="", max_length=100)
    note: str = PydField(default="", max_length=1000)
    weights: Weights = PydField(default_factory=Weights)


class WeightSetOut(BaseModel):
    model_config = OUT_CONFIG

    id: int
    version: int
    name: str
    note: str
    weights: dict[str, Any]
    active: bool
    created_at: datetime
    activated_at: datetime | None


class ScoreRunOut(BaseModel):
    model_config = OUT_CONFIG

    id: int
    weight_version: int
    as_of: datetime
    status: str
    trigger: str
    profiles: int
    edges: int
    interactions: int
    iterations: int
    seconds: float
    started_at: datetime
    finished_at: datetime | None
