"""Exports of a people list or saved view: every matching person, the chosen columns plus id, as CSV
or JSON, produced batch by batch so that 100,000 people never sit in memory at once.

CSV cells that a spreadsheet would run as a formula (starting with = + - @, or a tab or carriage
return) are prefixed with a quote."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from crm.accounts.models import User
from crm.audit import service as audit
from crm.audit.actions import AuditAction
from crm.audit.service import Actor
from crm.i18n import N_
from crm.profiles.models import Identity, Profile
from crm.profiles.search import DEFAULT_COLUMNS as LIST_DEFAULT_COLUMNS
from crm.profiles.search import ListQuery, matching_ids
from crm.ranking.models import Level

BATCH = 500
MAX_IDS = 10_000  # a hand-made selection; "all matching" has no limit


class ExportFormat(StrEnum):
    csv = "csv"
    json = "json"


MEDIA_TYPES = {ExportFormat.csv: "text/csv; charset=utf-8", ExportFormat.json: "application/json"}


@dataclass(frozen=True)
class Person:
    """What an export knows of one person: the profile, its identities and its owner's e-mail."""

    profile: Profile
    identities: list[Identity]
    owner: str


@dataclass(frozen=True)
class Column:
    label: str
    value: Callable[[Person], Any]


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# Column keys are the people list's column names (its `cols` parameter); a few aliases are accepted.
COLUMNS: dict[str, Column] = {
    "name": Column(N_("Name"), lambda p: p.profile.display_name),
    "roles": Column(N_("Roles"), lambda p: list(p.profile.roles)),
    "identities": Column(N_("Identities"), lambda p: [f"{i.platform}:{i.handle}" for i in p.identities]),
    "reach": Column(N_("Reach"), lambda p: p.profile.reach),
    "status": Column(N_("Status"), lambda p: p.profile.status),
    "language": Column(N_("Language"), lambda p: p.profile.language),
    "location": Column(N_("Location"), lambda p: p.profile.location),
    "topics": Column(N_("Topics"), lambda p: list(p.profile.topics)),
    "tags": Column(N_("Tags"), lambda p: list(p.profile.tags)),
    "owner": Column(N_("Owner"), lambda p: p.owner),
    "team": Column(N_("Team member"), lambda p: p.profile.is_team_member),
    "consent": Column(N_("Consent"), lambda p: {"may_contact": p.profile.may_contact,
                                                  "may_feature": p.profile.may_feature,
                                                  "basis": p.profile.consent_basis,
                                                  "date": _iso(p.profile.consent_date)}),
    # Scores as of the latest computation (empty before a person's first one); the level by its name.
    "score": Column(N_("Score"), lambda p: p.profile.score if p.profile.scored_at else None),
    "rank": Column(N_("Rank"), lambda p: p.profile.score_rank),
    "level": Column(N_("Level"), lambda p: Level(p.profile.level).name if p.profile.scored_at else None),
    "advocacy": Column(N_("Advocacy"), lambda p: p.profile.advocacy if p.profile.scored_at else None),
    "influence": Column(N_("Influence"), lambda p: p.profile.influence if p.profile.scored_at else None),
    "contributions": Column(N_("Contributions"), lambda p: p.profile.contribution_count),
    "last_activity": Column(N_("Last activity"), lambda p: _iso(p.profile.last_activity_at)),
    "updated": Column(N_("Updated"), lambda p: _iso(p.profile.updated_at)),
    "created": Column(N_("Created"), lambda p: _iso(p.profile.created_at)),
}
ALIASES = {"display_name": "name", "updated_at": "updated", "created_at": "created", "contribution_count": "contributions",
           "last_activity_at": "last_activity", "is_team_member": "team", "owner_id": "owner", "platforms": "identities",
           "score_rank": "rank"}
DEFAULT_COLUMNS = ["name", *LIST_DEFAULT_COLUMNS]


def export_columns(requested: Iterable[str]) -> list[str]:
    """The columns to write: the name (the list always shows it), then the known ones asked for, in
    order and once each (the list's defaults when none is known); `id` always comes first and is not
    one of them."""
    chosen: dict[str, None] = {"name": None}
    for name in requested:
        for part in str(name).split(","):
            key = ALIASES.get(part.strip(), part.strip())
            if key in COLUMNS:
                chosen.setdefault(key, None)
    return list(chosen) if len(chosen) > 1 else list(DEFAULT_COLUMNS)


def count_people(params: ListQuery, *, session: Session, ids: list[int] | None = None) -> int:
    ids_query = matching_ids(params).order_by(None)
    if ids is not None:
        ids_query = ids_query.where(col(Profile.id).in_(ids[:MAX_IDS]))
    return int(session.exec(select(func.count()).select_from(ids_query.subquery())).one())  # type: ignore[call-overload]


def people(params: ListQuery, *, session: Session, ids: list[int] | None = None, batch: int = BATCH) -> Iterator[Person]:
    """Everyone the list shows for `params` (every page), by id, `batch` at a time; with `ids`, only
    those of them (a selection)."""
    last = 0
    wanted = sorted(set(ids))[:MAX_IDS] if ids is not None else None
    while True:
        query = matching_ids(params).where(col(Profile.id) > last)
        if wanted is not None:
            query = query.where(col(Profile.id).in_(wanted))
        page = [int(pid) for pid in session.exec(query.limit(batch))]  # type: ignore[call-overload]
        if not page:
            return
        profiles = {p.id: p for p in session.exec(select(Profile).where(col(Profile.id).in_(page)))}
        identities: dict[int, list[Identity]] = {}
        for identity in session.exec(select(Identity).where(col(Identity.profile_id).in_(page))
                                     .order_by(col(Identity.followers).desc(), col(Identity.id))):
            identities.setdefault(identity.profile_id, []).append(identity)
        owner_ids = {p.owner_id for p in profiles.values() if p.owner_id is not None}
        owners: dict[int | None, str] = {}
        if owner_ids:
            owners = dict(session.exec(select(User.id, User.email).where(col(User.id).in_(owner_ids))).all())  # type: ignore[call-overload]
        for pid in page:
            profile = profiles.get(pid)
            if profile is not None:
                yield Person(profile, identities.get(pid, []), owners.get(profile.owner_id, ""))
        last = page[-1]
        session.expunge_all()  # what was written is not needed again


def begin(params: ListQuery, fmt: ExportFormat, columns: list[str], *, session: Session, actor: Actor,
          ids: list[int] | None = None, view_id: int | None = None) -> int:
    """Record the export in the audit log (what was asked for and how many people it holds) before
    it is sent; returns that count."""
    count = count_people(params, session=session, ids=ids)
    after: dict[str, Any] = {"format": fmt.value, "query": params.model_dump(mode="json", exclude_defaults=True),
                             "columns": columns, "count": count}
    if view_id is not None:
        after["view_id"] = view_id
    if ids is not None:
        after["selected"] = len(set(ids))
    audit.record(session=session, actor=actor, action=AuditAction.list_export, object_type="export", after=after)
    return count


# ---- formats ----------------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A cell as CSV holds it: lists joined with "; ", booleans as true/false, and text that a
    spreadsheet would run as a formula prefixed with a quote."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    if isinstance(value, list):
        value = "; ".join(str(v) for v in value)
    elif isinstance(value, dict):
        value = "; ".join(f"{k}={safe_cell(v)}" for k, v in value.items())
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def row_of(person: Person, columns: list[str]) -> dict[str, Any]:
    return {"id": person.profile.id, **{name: COLUMNS[name].value(person) for name in columns}}


def csv_chunks(rows: Iterable[Person], columns: list[str]) -> Iterator[str]:
    """The CSV text, a batch of rows per chunk; the header row has the column keys."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["id", *columns])
    for count, person in enumerate(rows, start=1):
        row = row_of(person, columns)
        writer.writerow([row["id"], *(safe_cell(row[name]) for name in columns)])
        if count % 200 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def json_chunks(rows: Iterable[Person], columns: list[str]) -> Iterator[str]:
    """A JSON array of objects (id plus the columns), a row per chunk."""
    yield "["
    separator = "\n"
    for person in rows:
        yield separator + json.dumps(row_of(person, columns), ensure_ascii=False)
        separator = ",\n"
    yield "\n]\n"


def chunks(fmt: ExportFormat, rows: Iterable[Person], columns: list[str]) -> Iterator[str]:
    return csv_chunks(rows, columns) if fmt == ExportFormat.csv else json_chunks(rows, columns)


def filename(fmt: ExportFormat, stem: str = "people") -> str:
    # ASCII only: the name goes into a header ("Ωmega" or "名前" would not encode); accents are folded first.
    folded = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in folded)[:60].strip("-") or "people"
    return f"{safe}.{fmt.value}"
