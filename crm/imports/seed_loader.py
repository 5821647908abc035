"""Loads the demo seed (profiles, identities, relationships, interactions) into an empty database.

The seed is in the same plain formats as real imports: three CSV files and one JSON-lines file.
Every row is validated before anything is written, so a bad row stops the load with its file
and line and leaves the database untouched. Rows are written with Core bulk inserts in batches
inside one transaction (house rule 7).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any, TypeVar, cast, get_origin

from pydantic import BaseModel, ValidationError
from sqlalchemy import Connection, Engine, Table, func, insert, select

from crm.db import write_bind
from crm.errors import DomainError
from crm.interactions.models import Interaction, InteractionKind, Relationship, RelationshipKind
from crm.profiles.models import (
    MAX_COUNT,
    Identity,
    IdentityFields,
    IdentityIn,
    Profile,
    ProfileFields,
    ProfileIn,
    normalise_handle,
    stored_values,
)
from crm.profiles.stats import refresh_all
from crm.resources import share_dir

BATCH_SIZE = 2_000
PROFILES = "profiles.csv"
IDENTITIES = "identities.csv"
RELATIONSHIPS = "relationships.csv"
INTERACTIONS = "interactions.jsonl"
# Profile and identity rows hold the schemas' fields, validated by the schemas, under these column
# names; the seed has no users, so no owners.
_COLUMN_NAMES = {"is_team_member": "team_member"}
_NOT_IN_SEED = {"owner_id", "tags"}
PROFILE_COLUMNS = ("key", *(_COLUMN_NAMES.get(f, f) for f in ProfileFields.model_fields if f not in _NOT_IN_SEED))
IDENTITY_COLUMNS = ("profile_key", *IdentityFields.model_fields)
RELATIONSHIP_COLUMNS = ("source_key", "target_key", "kind", "strength", "first_seen", "last_seen")
INTERACTION_REQUIRED = ("source", "external_id", "profile_key", "kind", "occurred_at")
INTERACTION_OPTIONAL = (
    "channel", "url", "title", "body", "reach", "engagements", "sentiment", "counterpart_key",
)  # fmt: skip

Progress = Callable[[str, int, int], None]
T = TypeVar("T")


class SeedError(DomainError):
    """The seed cannot be loaded; the message names the file and line when a row is at fault."""


class _Invalid(Exception):
    """A bad value in a row; the file reader adds the file name and line number."""


@dataclass(frozen=True)
class SeedReport:
    profiles: int
    identities: int
    relationships: int
    interactions: int
    shifted_by: timedelta = timedelta(0)


def default_seed_dir() -> Path:
    """The demo data shipped with Altavoz: crm/_share/seed in a wheel, seed/ in a checkout."""
    return share_dir("seed")


# ---- parsed rows ---------------------------------------------------------------------------------
# Rows keep the seed's keys until the profiles have ids; `values` is ready for insert() otherwise.


@dataclass
class _ProfileRow:
    key: str
    values: dict[str, Any]


@dataclass
class _IdentityRow:
    profile_key: str
    values: dict[str, Any]


@dataclass
class _RelationshipRow:
    source_key: str
    target_key: str
    values: dict[str, Any]


@dataclass
class _InteractionRow:
    profile_key: str
    counterpart_key: str | None
    values: dict[str, Any]


@dataclass
class _Seed:
    profiles: list[_ProfileRow] = field(default_factory=list)
    identities: list[_IdentityRow] = field(default_factory=list)
    relationships: list[_RelationshipRow] = field(default_factory=list)
    interactions: list[_InteractionRow] = field(default_factory=list)


# ---- the entry point -------------------------------------------------------------------------------


def load_seed(
    engine: Engine,
    seed_dir: Path,
    *,
    shift_to: datetime | None = None,
    progress: Progress | None = None,
) -> SeedReport:
    """Load the four seed files into an empty database, in one transaction.

    With `shift_to`, every interaction and relationship time moves by the same amount so that the
    newest interaction lands on `shift_to`: the demo always looks current.
    """
    if shift_to is not None and shift_to.tzinfo is None:
        raise SeedError("shift_to must be a timezone-aware datetime")
    seed = _read_seed(Path(seed_dir))
    delta = _shift_delta(seed, shift_to)
    _shift(seed, delta)
    notify = progress or _no_progress
    created = _profile_created(seed)
    with write_bind(engine).begin() as conn:
        _refuse_non_empty(conn)
        ids = _insert_profiles(conn, seed, created, notify)
        _insert_identities(conn, seed, ids, created, notify)
        _insert_relationships(conn, seed, ids, notify)
        _insert_interactions(conn, seed, ids, notify)
        refresh_all(conn)
    return SeedReport(
        profiles=len(seed.profiles),
        identities=len(seed.identities),
        relationships=len(seed.relationships),
        interactions=len(seed.interactions),
        shifted_by=delta,
    )


def _read_seed(seed_dir: Path) -> _Seed:
    """Parse and cross-check all four files; raise SeedError on the first bad row."""
    if not seed_dir.is_dir():
        raise SeedError(f"{seed_dir}: seed folder not found")
    seed = _Seed()
    seed.profiles = _read_csv(seed_dir / PROFILES, PROFILE_COLUMNS, _ProfileParser().parse)
    keys = {p.key for p in seed.profiles}
    seed.identities = _read_csv(seed_dir / IDENTITIES, IDENTITY_COLUMNS, _IdentityParser(keys).parse)
    seed.relationships = _read_csv(
        seed_dir / RELATIONSHIPS, RELATIONSHIP_COLUMNS, _RelationshipParser(keys).parse
    )
    seed.interactions = _read_jsonl(seed_dir / INTERACTIONS, _InteractionParser(keys).parse)
    return seed


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


# ---- reading files ---------------------------------------------------------------------------------


def _read_csv(path: Path, columns: Sequence[str], parse: Callable[[dict[str, str]], T]) -> list[T]:
    if not path.is_file():
        raise SeedError(f"{path.name}: file not found in {path.parent}")
    rows: list[T] = []
    line = 1
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f, strict=True)
            header = _check_header(next(reader, None), columns)
            for record in reader:
                line = reader.line_num  # the last physical line of the row
                if not record:
                    continue  # a blank line is not a row
                if len(record) != len(header):
                    raise _Invalid(f"expected {len(header)} fields, found {len(record)}")
                rows.append(parse(dict(zip(header, record, strict=True))))
    except _Invalid as exc:
        raise SeedError(f"{path.name}:{line}: {exc}") from None
    except csv.Error as exc:
        raise SeedError(f"{path.name}:{reader.line_num}: malformed CSV ({exc})") from None
    except UnicodeDecodeError:
        raise SeedError(f"{path.name}: not UTF-8 text") from None
    return rows


def _check_header(header: list[str] | None, columns: Sequence[str]) -> list[str]:
    if header is None:
        raise _Invalid("the file is empty; expected a header row")
    names = [h.strip() for h in header]
    missing = [c for c in columns if c not in names]
    unknown = [h for h in names if h not in columns]
    if missing or unknown or len(set(names)) != len(names):
        raise _Invalid(
            f"header must name the columns {', '.join(columns)} (missing: {missing}, unknown: {unknown})"
        )
    return names


def _read_jsonl(path: Path, parse: Callable[[dict[str, Any]], T]) -> list[T]:
    if not path.is_file():
        raise SeedError(f"{path.name}: file not found in {path.parent}")
    rows: list[T] = []
    line = 0
    try:
        with path.open(encoding="utf-8-sig") as f:
            for number, text in enumerate(f, start=1):
                line = number
                if not text.strip():
                    continue
                rows.append(parse(_json_object(text)))
    except _Invalid as exc:
        raise SeedError(f"{path.name}:{line}: {exc}") from None
    except UnicodeDecodeError:
        raise SeedError(f"{path.name}: not UTF-8 text") from None
    return rows


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _Invalid(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    except ValueError:  # Python refuses to read a number of 4,300+ digits
        raise _Invalid("a number in this line is far too long") from None
    if not isinstance(value, dict):
        raise _Invalid("each line must be a JSON object")
    return value


# ---- values ------------------------------------------------------------------------------------------


def _text(value: Any, name: str, *, max_length: int, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise _Invalid(f"{name} must be text")
    value = value.strip()
    if required and not value:
        raise _Invalid(f"{name} is required")
    if len(value) > max_length:
        raise _Invalid(f"{name} is longer than {max_length} characters")
    return value


@cache
def _allowed(choices: type[StrEnum]) -> frozenset[str]:
    return frozenset(c.value for c in choices)  # enum attribute access is slow; this runs per row


def _choice(value: str, name: str, choices: type[StrEnum]) -> str:
    if value not in _allowed(choices):
        allowed = [c.value for c in choices]
        raise _Invalid(f"{name} {value!r} is not one of {', '.join(a for a in allowed if a)}")
    return value


def _flag(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered not in ("true", "false"):
        raise _Invalid(f"{name} must be true or false, not {value!r}")
    return lowered == "true"


def _count(value: Any, name: str) -> int:
    """A whole number ≥ 0, from CSV text or a JSON number (booleans are not numbers here).

    Empty or null means not known, stored as 0 like the model's default."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return 0
        if not text.isascii() or not text.isdigit() or len(text) > 18:  # int() of 4,300+ digits raises
            raise _Invalid(f"{name} must be a whole number ≥ 0, not {value[:30]!r}")
        value = int(text)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise _Invalid(f"{name} must be a whole number from 0 to {MAX_COUNT:,}, not {str(value)[:30]}")
    return value


def _number(value: Any, name: str, low: float, high: float) -> float | None:
    """A number in [low, high]; empty text or null means unknown."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise _Invalid(f"{name} must be a number, not {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise _Invalid(f"{name} must be a number from {low:g} to {high:g}, not {value!r}")
    return float(value)


def _timestamp(value: Any, name: str, *, required: bool = False) -> datetime | None:
    """ISO 8601 with a zone ("2026-03-04T10:22:00Z"); returned in UTC."""
    if value is None or value == "":
        if required:
            raise _Invalid(f"{name} is required")
        return None
    if not isinstance(value, str):
        raise _Invalid(f"{name} must be an ISO 8601 timestamp")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise _Invalid(f"{name} {value!r} is not an ISO 8601 timestamp") from None
    if parsed.tzinfo is None:
        raise _Invalid(f"{name} {value!r} has no time zone (add Z for UTC)")
    return parsed.astimezone(UTC)


def _url(value: str) -> str:
    url = _text(value, "url", max_length=500)
    if url and not url.startswith(("http://", "https://", "mailto:")):
        raise _Invalid(f"url {url!r} must start with http://, https:// or mailto:")
    return url


def _schema_input(schema: type[BaseModel], row: dict[str, str]) -> dict[str, Any]:
    """A CSV row as input for a schema: flags are true or false, list items are separated by ";",
    and an empty cell means the field's default."""
    data: dict[str, Any] = {}
    for name, info in schema.model_fields.items():
        column = _COLUMN_NAMES.get(name, name)
        cell = row.get(column, "").strip()
        if info.annotation is bool:
            data[name] = _flag(cell, column)
        elif cell and get_origin(info.annotation) is list:
            data[name] = [item for item in cell.split(";") if item.strip()]
        elif cell:
            data[name] = cell
    return data


S = TypeVar("S", bound=BaseModel)


def _validated(schema: type[S], data: dict[str, Any]) -> S:
    """The row through the same schema as the API and the form; the first problem becomes the row's error."""
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = [str(part) for part in error["loc"]]
        name = ".".join([_COLUMN_NAMES.get(loc[0], loc[0]), *loc[1:]])
        if error["type"] == "missing":
            raise _Invalid(f"{name} is required") from None
        reason = str(error["msg"]).removeprefix("Value error, ")
        raise _Invalid(f"{name} {str(error['input'])[:60]!r}: {reason}") from None


def _known(key: str, name: str, keys: set[str]) -> str:
    if key not in keys:
        raise _Invalid(f"{name} {key!r} is not a profile key in {PROFILES}")
    return key


# ---- row parsers (they remember earlier rows to catch duplicates) -------------------------------------


class _ProfileParser:
    def __init__(self) -> None:
        self.seen: set[str] = set()

    def parse(self, row: dict[str, str]) -> _ProfileRow:
        key = _text(row["key"], "key", max_length=100, required=True)
        if key in self.seen:
            raise _Invalid(f"profile key {key!r} appears twice")
        self.seen.add(key)
        profile = _validated(ProfileIn, _schema_input(ProfileFields, row))
        return _ProfileRow(key, stored_values(profile, ProfileFields.model_fields))


class _IdentityParser:
    def __init__(self, keys: set[str]) -> None:
        self.keys = keys
        self.seen: dict[tuple[str, str], str] = {}

    def parse(self, row: dict[str, str]) -> _IdentityRow:
        profile_key = _known(row["profile_key"].strip(), "profile_key", self.keys)
        identity = _validated(IdentityIn, _schema_input(IdentityFields, row))
        platform, handle = identity.platform.value, identity.handle
        handle_key = normalise_handle(platform, handle)
        if (platform, handle_key) in self.seen:
            owner = self.seen[(platform, handle_key)]
            raise _Invalid(f"{platform} handle {handle!r} is already used by profile {owner}")
        self.seen[(platform, handle_key)] = profile_key
        values = stored_values(identity, IdentityFields.model_fields)
        return _IdentityRow(profile_key, {**values, "handle_key": handle_key, "last_synced_at": None})


class _RelationshipParser:
    def __init__(self, keys: set[str]) -> None:
        self.keys = keys
        self.seen: set[tuple[str, str, str]] = set()

    def parse(self, row: dict[str, str]) -> _RelationshipRow:
        source = _known(row["source_key"].strip(), "source_key", self.keys)
        target = _known(row["target_key"].strip(), "target_key", self.keys)
        if source == target:
            raise _Invalid(f"a relationship from {source!r} to itself")
        kind = _choice(row["kind"].strip(), "kind", RelationshipKind)
        if (source, target, kind) in self.seen:
            raise _Invalid(f"the {kind} edge {source} -> {target} appears twice")
        self.seen.add((source, target, kind))
        strength = _number(row["strength"], "strength", 0, 1)
        first_seen = _timestamp(row["first_seen"], "first_seen")
        last_seen = _timestamp(row["last_seen"], "last_seen")
        if first_seen and last_seen and first_seen > last_seen:
            raise _Invalid("first_seen is after last_seen")
        values = {
            "kind": kind,
            "strength": 1.0 if strength is None else strength,
            "first_seen": first_seen,
            "last_seen": last_seen,
        }
        return _RelationshipRow(source, target, values)


class _InteractionParser:
    def __init__(self, keys: set[str]) -> None:
        self.keys = keys
        self.seen: set[tuple[str, str]] = set()

    def parse(self, obj: dict[str, Any]) -> _InteractionRow:
        missing = [k for k in INTERACTION_REQUIRED if obj.get(k) in (None, "")]
        unknown = [k for k in obj if k not in INTERACTION_REQUIRED and k not in INTERACTION_OPTIONAL]
        if missing:
            raise _Invalid(f"missing {', '.join(missing)}")
        if unknown:
            raise _Invalid(f"unknown field(s) {', '.join(unknown)}")
        source = _text(obj["source"], "source", max_length=50, required=True)
        external_id = _text(obj["external_id"], "external_id", max_length=200, required=True)
        if (source, external_id) in self.seen:
            raise _Invalid(f"external_id {external_id!r} appears twice for source {source!r}")
        self.seen.add((source, external_id))
        profile_key = self._key(obj["profile_key"], "profile_key")
        counterpart = obj.get("counterpart_key")
        if counterpart is not None:
            counterpart = self._key(counterpart, "counterpart_key")
        values = {
            "kind": _choice(_text(obj["kind"], "kind", max_length=30), "kind", InteractionKind),
            "channel": _text(obj.get("channel"), "channel", max_length=30),
            "url": _url(_text(obj.get("url"), "url", max_length=500)),
            "title": _text(obj.get("title"), "title", max_length=300),
            "body": _text(obj.get("body"), "body", max_length=100_000),
            "occurred_at": _timestamp(obj["occurred_at"], "occurred_at", required=True),
            "reach": _count(obj.get("reach"), "reach"),
            "engagements": _count(obj.get("engagements"), "engagements"),
            "sentiment": _number(obj.get("sentiment"), "sentiment", -1, 1),
            "source": source,
            "external_id": external_id,
        }
        return _InteractionRow(profile_key, counterpart, values)

    def _key(self, value: Any, name: str) -> str:
        return _known(_text(value, name, max_length=100), name, self.keys)


# ---- time ------------------------------------------------------------------------------------------------


def _newest(seed: _Seed) -> datetime | None:
    times = [i.values["occurred_at"] for i in seed.interactions]
    if not times:  # no interactions: fall back on the relationships
        times = [r.values["last_seen"] for r in seed.relationships if r.values["last_seen"]]
    return max(times, default=None)


def _shift_delta(seed: _Seed, shift_to: datetime | None) -> timedelta:
    newest = _newest(seed)
    if shift_to is None or newest is None:
        return timedelta(0)
    return shift_to.astimezone(UTC) - newest


def _shift(seed: _Seed, delta: timedelta) -> None:
    if not delta:
        return
    for row in seed.interactions:
        row.values["occurred_at"] += delta
    for rel in seed.relationships:
        for name in ("first_seen", "last_seen"):
            if rel.values[name] is not None:
                rel.values[name] += delta


def _profile_created(seed: _Seed) -> dict[str, datetime]:
    """A person enters the CRM with their first interaction, else when we first saw them connected,
    else at the start of the data: never "today", which would make every quiet person look new."""
    first: dict[str, datetime] = {}

    def seen(key: str, at: datetime | None) -> None:
        if at is not None and (key not in first or at < first[key]):
            first[key] = at

    for row in seed.interactions:
        seen(row.profile_key, row.values["occurred_at"])
    from_interactions = dict(first)
    for rel in seed.relationships:
        for key in (rel.source_key, rel.target_key):
            if key not in from_interactions:
                seen(key, rel.values["first_seen"])
    start = min(first.values(), default=_newest(seed) or datetime.now(UTC))
    return {p.key: first.get(p.key, start) for p in seed.profiles}


# ---- writing ---------------------------------------------------------------------------------------------


def _table(model: Any) -> Table:
    return cast(Table, model.__table__)


def _batches(rows: Sequence[T]) -> Iterator[tuple[int, Sequence[T]]]:
    for start in range(0, len(rows), BATCH_SIZE):
        batch = rows[start : start + BATCH_SIZE]
        yield start + len(batch), batch


def _refuse_non_empty(conn: Connection) -> None:
    count = conn.execute(select(func.count()).select_from(_table(Profile))).scalar_one()
    if count:
        raise SeedError(f"the database already has {count} profiles; seed loads only into an empty database")


def _insert_profiles(
    conn: Connection, seed: _Seed, created: dict[str, datetime], progress: Progress
) -> dict[str, int]:
    """Insert the profiles and map each seed key to its new id."""
    table = _table(Profile)
    rows = [{**p.values, "created_at": created[p.key], "updated_at": created[p.key]} for p in seed.profiles]
    _insert_all(conn, table, rows, "profiles", progress)
    # The table was empty, so the ids ascend in insert order. (RETURNING with sort_by_parameter_order
    # would map them too, but on SQLite it degrades to one INSERT per row.) Comparing the names in id
    # order catches the one way this could go wrong: another writer adding profiles meanwhile, which
    # SQLite's write lock prevents and PostgreSQL does not.
    found = conn.execute(select(table.c.id, table.c.display_name).order_by(table.c.id)).all()
    if [row.display_name for row in found] != [row["display_name"] for row in rows]:
        raise SeedError("someone else added profiles while the seed was loading; nothing was loaded")
    return {p.key: row.id for p, row in zip(seed.profiles, found, strict=True)}


def _insert_identities(
    conn: Connection, seed: _Seed, ids: dict[str, int], created: dict[str, datetime], progress: Progress
) -> None:
    rows = [
        {**r.values, "profile_id": ids[r.profile_key], "created_at": created[r.profile_key],
         "updated_at": created[r.profile_key]}
        for r in seed.identities
    ]  # fmt: skip
    _insert_all(conn, _table(Identity), rows, "identities", progress)


def _insert_relationships(conn: Connection, seed: _Seed, ids: dict[str, int], progress: Progress) -> None:
    anchor = _newest(seed) or datetime.now(UTC)
    rows = [
        {**r.values, "source_id": ids[r.source_key], "target_id": ids[r.target_key],
         "created_at": r.values["first_seen"] or anchor}
        for r in seed.relationships
    ]  # fmt: skip
    _insert_all(conn, _table(Relationship), rows, "relationships", progress)


def _insert_interactions(conn: Connection, seed: _Seed, ids: dict[str, int], progress: Progress) -> None:
    rows = [
        {**r.values, "profile_id": ids[r.profile_key],
         "counterpart_id": ids[r.counterpart_key] if r.counterpart_key else None,
         "created_at": r.values["occurred_at"]}  # imported as it happened
        for r in seed.interactions
    ]  # fmt: skip
    _insert_all(conn, _table(Interaction), rows, "interactions", progress)


def _insert_all(
    conn: Connection, table: Table, rows: list[dict[str, Any]], stage: str, progress: Progress
) -> None:
    stmt = insert(table)
    if not rows:
        progress(stage, 0, 0)
    for done, batch in _batches(rows):
        conn.execute(stmt, list(batch))
        progress(stage, done, len(rows))
