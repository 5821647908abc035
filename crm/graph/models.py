"""What the graph views answer: an ego network around one person and the community explorer.

Plain pydantic models (not tables): the HTML pages, the JSON routes the pages draw from and the API
all return these."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import JSON
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from crm.base import created_at_field
from crm.profiles.models import ProfileRole

_OUT = ConfigDict(json_schema_serialization_defaults_required=True)

EGO_DEFAULT_LIMIT = 60  # nodes drawn around a person, the person included
EGO_MAX_LIMIT = 300
EXPLORER_DEFAULT_LIMIT = 500  # nodes drawn by the community explorer
EXPLORER_MAX_LIMIT = 1000


class GraphNode(BaseModel):
    model_config = _OUT

    id: int
    name: str
    url: str
    roles: list[str]
    reach: int
    hop: int | None = Field(description="0 for the person at the centre, 1 or 2 for the others; null in the explorer")
    community: int | None = Field(description="Index of the person's Louvain community (0 is the largest); "
                                              "null for someone without connections")
    degree: int = Field(description="How many people this person is connected to, in the whole graph")


class GraphEdge(BaseModel):
    model_config = _OUT

    source: int
    target: int
    kind: str
    strength: float
    origin: str


class Neighbour(BaseModel):
    """One line of the text alternative: someone in the ego network and how they are connected."""

    model_config = _OUT

    id: int
    name: str
    url: str
    hop: int
    kinds: list[str]
    direction: Literal["out", "in", "both"] = Field(description="out: the centre (or `via`) -> them")
    strength: float = Field(description="The strongest edge to them")
    via: int | None = Field(description="For the second hop: the first-hop person they are reached through")
    via_name: str | None


class EgoGraph(BaseModel):
    model_config = _OUT

    center: int
    center_name: str
    hops: int
    limit: int
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    neighbours: list[Neighbour] = Field(description="The people drawn, strongest first (the centre left out)")
    total: int = Field(description="People within `hops`, the centre left out")
    omitted: int = Field(description="People within `hops` not drawn because of the limit (weakest edges first)")


class ExplorerEdge(BaseModel):
    """Two people connected in either direction, by any kinds: strengths summed."""

    model_config = _OUT

    source: int
    target: int
    weight: float


class CommunitySummary(BaseModel):
    model_config = _OUT

    index: int
    size: int = Field(description="Members in the whole graph")
    matching: int = Field(description="Members matching the filters")
    shown: int = Field(description="Members drawn")
    topics: list[str] = Field(description="The members' most common topics, commonest first")


class ExplorerGraph(BaseModel):
    model_config = _OUT

    role: ProfileRole | None
    topic: str
    find: str
    limit: int
    nodes: list[GraphNode]
    edges: list[ExplorerEdge]
    communities: list[CommunitySummary] = Field(description="Communities with members drawn, largest first")
    community_count: int = Field(description="Communities of two or more people in the whole graph")
    total_profiles: int
    connected: int = Field(description="People with at least one connection")
    matching: int = Field(description="Connected people matching the filters")
    shown: int
    omitted: int = Field(description="Matching people not drawn (smaller communities and weaker members first)")
    focus: int | None = Field(description="The person found by `find`, drawn and highlighted")
    focus_name: str | None
    focus_connected: bool = Field(description="Whether the person found has any connection")
    communities_stale: bool = Field(default=False, description="The graph changed since the communities were computed "
                                                               "(large graphs: a job recomputes them)")


class GraphPartition(SQLModel, table=True):
    """Louvain communities of the whole graph as a job computed them (large graphs never compute them
    on a request): the graph version they belong to and the members of each, largest first."""

    __tablename__ = "graph_partition"

    id: int | None = SQLField(default=None, primary_key=True)
    version: str = SQLField(max_length=300)
    communities: list[list[int]] = SQLField(default_factory=list, sa_type=JSON)
    seconds: float = SQLField(default=0.0)
    computed_at: datetime = created_at_field()
