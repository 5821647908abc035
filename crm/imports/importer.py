"""The importer: a file becomes validated rows, and rows are written in batches as one Job.

Stages: read (encoding, delimiter, records) -> map (columns to fields) -> validate (the API's
schemas; duplicates inside the file) -> write. Writing uses Core statements in batches (house rule
7); each batch commits together with the Job's progress and counts, so a killed worker leaves each
batch whole or absent and the next run resumes after the last committed batch. Rows are also
idempotent on (source, external_id) and (platform, handle), so importing a file again changes
nothing. With "all or nothing", everything is written in one transaction, or nothing.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, Table, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from crm.accounts.models import User
from crm.audit import service as audit
from crm.audit.actions import AuditAction
from crm.audit.service import Actor
from crm.campaigns.models import Campaign
from crm.db import utcnow, write_bind
from crm.i18n import gettext, ngettext
from crm.imports.formats import CONVERTERS, GENERIC, Format
from crm.imports.models import ImportKey, ImportRejection, ImportUpload
from crm.imports.reader import FileProblem, parse_json_document, read_table
from crm.imports.rows import (
    REQUIRED,
    TARGETS,
    Entity,
    InteractionRow,
    Mode,
    PersonRef,
    PersonRow,
    RelationshipRow,
    RowError,
    interaction_rows,
    person_row,
    relationship_row,
    shift_values,
)
from crm.interactions.models import Interaction, Relationship, RelationshipOrigin
from crm.jobs.models import Job, JobStatus
from crm.listening import hooks as listening
from crm.profiles import stats
from crm.profiles.models import Identity, Profile
from crm.recognition import hooks, ledger
from crm.relationships import service as relationships

BATCH = {Entity.people: 500, Entity.interactions: 20_000, Entity.relationships: 5_000}
PREVIEW_ROWS = 5_000
MAX_REJECTIONS_KEPT = 100_000

Progress = Callable[[int, int], None]


def _t(model: Any) -> Table:
    return cast(Table, model.__table__)


P, I, X, R, K, J = _t(Profile), _t(Identity), _t(Interaction), _t(Relationship), _t(ImportKey), _t(Job)  # noqa: E741
C = _t(Campaign)


@dataclass
class ImportSpec:
    """What to import and how: kept in the Job's params."""

    entity: Entity = Entity.people
    format: str = "auto"  # auto, csv, jsonl, or one of formats.Format
    source: str = "import"
    mapping: dict[str, str] = field(default_factory=dict)  # field -> column; empty: columns named as fields
    mode: Mode = Mode.skip_existing
    all_or_nothing: bool = False
    time_zone: str = "UTC"  # for times written without a zone
    shift_seconds: float = 0.0  # move every time by this much (the demo seed uses it to look current)
    base_url: str = ""  # a Discourse site's address, to build links
    batch_size: int = 0  # rows per committed batch; 0: the entity's default

    def params(self) -> dict[str, Any]:
        return {
            "entity": self.entity.value, "format": self.format, "source": self.source, "mapping": dict(self.mapping),
            "mode": self.mode.value, "all_or_nothing": self.all_or_nothing, "time_zone": self.time_zone,
            "shift_seconds": self.shift_seconds, "base_url": self.base_url, "batch_size": self.batch_size,
        }  # fmt: skip

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> ImportSpec:
        return cls(
            entity=Entity(params.get("entity", "people")), format=params.get("format", "auto"),
            source=params.get("source", "import"), mapping=dict(params.get("mapping") or {}),
            mode=Mode(params.get("mode", Mode.skip_existing.value)), all_or_nothing=bool(params.get("all_or_nothing")),
            time_zone=params.get("time_zone", "UTC"), shift_seconds=float(params.get("shift_seconds") or 0),
            base_url=params.get("base_url", ""), batch_size=int(params.get("batch_size") or 0),
        )  # fmt: skip


@dataclass
class Rejection:
    line: int
    reason: str
    raw: str = ""


@dataclass
class Parsed:
    headers: list[str]
    records: list[tuple[int, dict[str, Any]]]
    rejections: list[Rejection]
    encoding: str = ""
    delimiter: str = ""


AnyRow = PersonRow | InteractionRow | RelationshipRow


# ---- reading and validating ---------------------------------------------------------------------------


def read_file(content: bytes, spec: ImportSpec) -> Parsed:
    """The file's records, in field names (mapping applied). Raises FileProblem for the whole file."""
    if spec.format not in ("auto", *GENERIC):
        fmt = Format(spec.format)
        entity, convert = CONVERTERS[fmt]
        if entity != spec.entity:
            raise FileProblem(gettext("This format holds %(entity)s.") % {"entity": entity.value})
        from crm.imports.reader import decode

        text, encoding = decode(content)
        doc = parse_json_document(text)
        return Parsed([], list(convert(doc, spec.base_url)), [], encoding)
    table = read_table(content, spec.format)
    problems = [Rejection(line, reason, raw) for line, reason, raw in table.problems]
    mapping = spec.mapping or {h: h for h in table.headers if h in TARGETS[spec.entity]}
    _check_columns(spec.entity, mapping, table.headers)
    pairs = [(f, c) for f, c in mapping.items() if f in TARGETS[spec.entity]]
    named = {h for h in table.headers if h in TARGETS[spec.entity]}
    if all(f == c for f, c in pairs) and named <= set(mapping):
        # Columns already named as fields and all of them mapped: the records are the rows (no copy).
        records = table.records
    else:
        records = [(line, {f: rec.get(c) for f, c in pairs}) for line, rec in table.records]
    return Parsed(table.headers, records, problems, table.encoding, table.delimiter)


def _check_columns(entity: Entity, mapping: dict[str, str], headers: list[str]) -> None:
    gone = sorted({c for c in mapping.values() if c not in headers})
    if gone and headers:
        raise FileProblem(gettext("The mapping names columns the file does not have: %(names)s.") % {"names": ", ".join(gone)})
    missing = [f for f in REQUIRED[entity] if f not in mapping]
    if entity == Entity.people and not {"key", "display_name", "handle"} & set(mapping):
        missing.append("key / display_name / handle")
    if entity == Entity.interactions and not {"person_key", "person_handle"} & set(mapping):
        missing.append("person_key / person_handle")
    if entity == Entity.relationships and not ({"source_key", "source_handle"} & set(mapping)
                                               and {"target_key", "target_handle"} & set(mapping)):
        missing.append("source_key / target_key")
    if missing:
        raise FileProblem(gettext("Required columns are missing: %(names)s.") % {"names": ", ".join(missing)})


def validate(parsed: Parsed, spec: ImportSpec) -> tuple[list[AnyRow], list[Rejection]]:
    """Rows that passed the schemas, and every rejected row with its line and reason."""
    tz = ZoneInfo(spec.time_zone)
    delta = timedelta(seconds=spec.shift_seconds)
    rows: list[AnyRow] = []
    rejections = list(parsed.rejections)
    seen: dict[Any, int] = {}
    by_line: dict[int, dict[str, Any]] | None = None
    for line, data, row in _rows(spec, parsed.records, tz):
        if isinstance(row, str):
            rejections.append(Rejection(line, row, _raw(data)))
            continue
        key = _dedupe_key(row)
        if key is not None:
            if key in seen:
                if not data:  # rows validated in batches do not carry their record: find it
                    by_line = by_line if by_line is not None else dict(parsed.records)
                    data = by_line.get(line, {})
                raw = _raw(data)
                rejections.append(Rejection(line, gettext("Duplicate of line %(line)d.") % {"line": seen[key]}, raw))
                continue
            seen[key] = line
        if delta:
            if isinstance(row, InteractionRow):
                shift_values(row.values, ("occurred_at",), delta)
            elif isinstance(row, RelationshipRow):
                shift_values(row.values, ("first_seen", "last_seen"), delta)
        rows.append(row)
    rejections.sort(key=lambda r: r.line)
    return rows, rejections


VALIDATE_CHUNK = 20_000


def _rows(spec: ImportSpec, records: Sequence[tuple[int, dict[str, Any]]], tz: ZoneInfo
          ) -> Iterator[tuple[int, dict[str, Any], AnyRow | str]]:
    """(line, data, row or the reason it was rejected), in file order."""
    if spec.entity == Entity.interactions:
        for start in range(0, len(records), VALIDATE_CHUNK):
            chunk = records[start:start + VALIDATE_CHUNK]
            good, bad = interaction_rows(chunk, spec.source, tz)
            if not bad:
                yield from ((r.line, {}, r) for r in good)
                continue
            merged: list[tuple[int, dict[str, Any], AnyRow | str]] = [(r.line, {}, r) for r in good]
            merged += [(line, data, reason) for line, data, reason in bad]
            merged.sort(key=lambda item: item[0])
            yield from merged
        return
    make = person_row if spec.entity == Entity.people else relationship_row
    for line, data in records:
        try:
            yield line, data, make(line, data, tz)
        except RowError as exc:
            yield line, data, str(exc)


def _dedupe_key(row: AnyRow) -> Any:
    if isinstance(row, InteractionRow):
        return (row.values["source"], row.values["external_id"])
    if isinstance(row, RelationshipRow):
        return (row.source.label(), row.target.label(), row.values["kind"])
    if row.identity is not None:
        return ("identity", row.ref.platform, row.ref.handle_key)
    return ("key", row.ref.key) if row.ref.key else None


def _raw(data: dict[str, Any]) -> str:
    return "; ".join(f"{k}={v}" for k, v in data.items() if v not in (None, ""))[:2000]


# ---- writing ------------------------------------------------------------------------------------------


class _Abort(Exception):
    pass


class Writer:
    """Writes batches of rows on one connection; knows the people it has already found."""

    def __init__(self, conn: Connection, spec: ImportSpec, counts: dict[str, int]) -> None:
        self.conn = conn
        self.spec = spec
        self.counts = counts
        self.rejections: list[Rejection] = []
        self.by_key: dict[str, int] = {}
        self.by_handle: dict[tuple[str, str], int] = {}
        self.edge_people: set[int] = set()
        self.campaigns: dict[int, bool] = {}  # campaign id -> exists
        self.regrant: dict[int, bool] = {}  # interaction id -> an update changed what its points depend on
        self.now = utcnow()

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n

    def reject(self, line: int, reason: str) -> None:
        self.rejections.append(Rejection(line, reason))
        self.count("rejected")

    # -- people --

    def find(self, refs: Sequence[PersonRef]) -> None:
        """Learn who the refs name that we do not know yet: one query for keys, one for handles
        (per LOOKUP_CHUNK of them)."""
        keys = sorted({r.key for r in refs if r.key and r.key not in self.by_key})
        for start in range(0, len(keys), LOOKUP_CHUNK):
            chunk = keys[start : start + LOOKUP_CHUNK]
            found = self.conn.execute(
                select(K.c.external_id, K.c.profile_id).where(K.c.source == self.spec.source, K.c.external_id.in_(chunk)))
            self.by_key.update({k: pid for k, pid in found})
        handles = sorted({r.handle_key for r in refs if r.handle_key and (r.platform, r.handle_key) not in self.by_handle})
        for start in range(0, len(handles), LOOKUP_CHUNK):
            chunk = handles[start : start + LOOKUP_CHUNK]
            for platform, hk, pid in self.conn.execute(
                    select(I.c.platform, I.c.handle_key, I.c.profile_id).where(I.c.handle_key.in_(chunk))):
                self.by_handle[(platform, hk)] = pid

    def person_of(self, ref: PersonRef) -> int | None:
        by_key = self.by_key.get(ref.key) if ref.key else None
        return by_key or (self.by_handle.get((ref.platform, ref.handle_key)) if ref.handle_key else None)

    def create_person(self, ref: PersonRef, profile: dict[str, Any], identity: dict[str, Any] | None) -> int:
        values = {**PROFILE_DEFAULTS, "display_name": ref.name or ref.handle or ref.key, **profile,
                  "created_at": self.now, "updated_at": self.now}
        pid = int(self.conn.execute(insert(P).returning(P.c.id), values).scalar_one())
        if ref.key:
            self.remember_key(ref.key, pid)
        if identity is None and ref.handle_key:
            identity = {**IDENTITY_DEFAULTS, "platform": ref.platform, "handle": ref.handle, "handle_key": ref.handle_key}
        if identity is not None:
            self.add_identity(pid, identity)
        return pid

    def remember_key(self, key: str, pid: int) -> None:
        self.conn.execute(insert(K), {"source": self.spec.source, "external_id": key, "profile_id": pid})
        self.by_key[key] = pid

    def add_identity(self, pid: int, identity: dict[str, Any]) -> None:
        self.conn.execute(insert(I), {**IDENTITY_DEFAULTS, **identity, "profile_id": pid,
                                      "created_at": self.now, "updated_at": self.now})
        self.by_handle[(identity["platform"], identity["handle_key"])] = pid

    def people(self, rows: Sequence[PersonRow]) -> set[int]:
        self.find([r.ref for r in rows])
        touched: set[int] = set()
        mode = self.spec.mode
        for row in rows:
            ref = row.ref
            by_key = self.by_key.get(ref.key) if ref.key else None
            by_handle = self.by_handle.get((ref.platform, ref.handle_key)) if ref.handle_key else None
            if by_key and by_handle and by_key != by_handle:
                self.reject(row.line, gettext("The %(platform)s handle %(handle)s belongs to another person.")
                            % {"platform": ref.platform, "handle": ref.handle})
                continue
            pid = by_key or by_handle
            if pid is None:
                touched.add(self.create_person(ref, row.profile, row.identity))
                self.count("created")
                continue
            exists = by_handle is not None if row.identity is not None else True
            if exists and mode == Mode.create_only:
                self.reject(row.line, gettext("Already exists (the import creates only new records)."))
                continue
            changed = False
            if ref.key and not by_key:
                self.remember_key(ref.key, pid)
            if row.identity is not None and by_handle is None:
                self.add_identity(pid, row.identity)
                changed = True
            elif mode == Mode.create_update:
                changed = self._update_person(pid, row)
            if changed:
                touched.add(pid)
                self.count("created" if not exists else "updated")
            else:
                self.count("skipped")
        return touched

    def _update_person(self, pid: int, row: PersonRow) -> bool:
        changed = False
        if row.profile:
            names = list(row.profile)
            current = self.conn.execute(select(*(P.c[n] for n in names)).where(P.c.id == pid)).mappings().one()
            diff = {n: v for n, v in row.profile.items() if current[n] != v}
            if diff:
                self.conn.execute(update(P).where(P.c.id == pid).values(**diff, updated_at=self.now))
                changed = True
        if row.identity is not None:
            given = {k: v for k, v in row.identity.items() if k not in ("platform", "handle_key")}
            current = self.conn.execute(select(*(I.c[n] for n in given)).where(
                I.c.platform == row.identity["platform"], I.c.handle_key == row.identity["handle_key"])).mappings().one()
            diff = {n: v for n, v in given.items() if current[n] != v}
            if diff:
                same = (I.c.platform == row.identity["platform"]) & (I.c.handle_key == row.identity["handle_key"])
                self.conn.execute(update(I).where(same).values(**diff, updated_at=self.now))
                changed = True
        return changed

    def ensure_people(self, refs: Sequence[PersonRef]) -> set[int]:
        """Find the people refs name; create, in bulk, those named by a handle (or a key with a name)
        and not yet known. Returns the people created."""
        unique = list({(r.key, r.platform, r.handle_key, r.name): r for r in refs}.values())
        self.find(unique)
        wanted: list[PersonRef] = []
        by_key: dict[str, PersonRef] = {}
        by_handle: dict[tuple[str, str], PersonRef] = {}
        for ref in unique:
            if self.person_of(ref) is not None or not (ref.handle_key or ref.name):
                continue
            if (ref.key and ref.key in by_key) or (ref.handle_key and (ref.platform, ref.handle_key) in by_handle):
                continue  # an earlier ref names the same new person
            wanted.append(ref)
            if ref.key:
                by_key[ref.key] = ref
            if ref.handle_key:
                by_handle[(ref.platform, ref.handle_key)] = ref
        created = self.create_people(wanted)
        self.count("people_created", len(created))
        return set(created)

    def create_people(self, refs: Sequence[PersonRef]) -> list[int]:
        """One profile per ref (named by the ref), with its source key and its identity: three bulk
        statements, whatever the number of people."""
        if not refs:
            return []
        now = self.now
        values = [{**PROFILE_DEFAULTS, "display_name": ref.name or ref.handle or ref.key, "created_at": now,
                   "updated_at": now} for ref in refs]
        pids = [int(pid) for pid in self.conn.execute(
            insert(P).returning(P.c.id, sort_by_parameter_order=True), values).scalars()]
        keys = [{"source": self.spec.source, "external_id": ref.key, "profile_id": pid}
                for ref, pid in zip(refs, pids, strict=True) if ref.key]
        identities = [{**IDENTITY_DEFAULTS, "platform": ref.platform, "handle": ref.handle, "handle_key": ref.handle_key,
                       "profile_id": pid, "created_at": now, "updated_at": now}
                      for ref, pid in zip(refs, pids, strict=True) if ref.handle_key]
        if keys:
            self.conn.execute(insert(K), keys)
        if identities:
            self.conn.execute(insert(I), identities)
        for ref, pid in zip(refs, pids, strict=True):
            if ref.key:
                self.by_key[ref.key] = pid
            if ref.handle_key:
                self.by_handle[(ref.platform, ref.handle_key)] = pid
        return pids

    # -- interactions --

    def known_campaigns(self, rows: Sequence[InteractionRow]) -> list[InteractionRow]:
        """The rows whose campaign_id (if any) names a campaign; the others are rejected (before
        anyone they name is created)."""
        wanted = sorted({r.values["campaign_id"] for r in rows if r.values.get("campaign_id") is not None}
                        - self.campaigns.keys())
        for start in range(0, len(wanted), LOOKUP_CHUNK):
            chunk = wanted[start:start + LOOKUP_CHUNK]
            found = set(self.conn.execute(select(C.c.id).where(C.c.id.in_(chunk))).scalars())
            self.campaigns.update({cid: cid in found for cid in chunk})
        kept = []
        for r in rows:
            campaign = r.values.get("campaign_id")
            if campaign is not None and not self.campaigns[campaign]:
                self.reject(r.line, gettext("No campaign with id %(id)s.") % {"id": campaign})
            else:
                kept.append(r)
        return kept

    def interactions(self, rows: Sequence[InteractionRow]) -> set[int]:
        rows = self.known_campaigns(rows)
        refs = [r.person for r in rows] + [r.counterpart for r in rows if r.counterpart]
        touched = self.ensure_people(refs)
        mode = self.spec.mode
        existing = {} if mode == Mode.skip_existing else self._existing_interactions(rows)
        person_of = self.person_of
        new: list[tuple[InteractionRow, int, int | None]] = []
        changes: list[dict[str, Any]] = []
        for r in rows:
            pid = person_of(r.person)
            if pid is None:
                self.reject(r.line, gettext("No person with key %(key)s in source %(source)s.")
                            % {"key": r.person.label(), "source": self.spec.source})
                continue
            cid = person_of(r.counterpart) if r.counterpart else None
            if r.counterpart and cid is None:
                self.reject(r.line, gettext("No person with key %(key)s in source %(source)s.")
                            % {"key": r.counterpart.label(), "source": self.spec.source})
                continue
            found: Any = existing.get((r.values["source"], r.values["external_id"])) if existing else None
            if found is not None and r.values.get("campaign_id") is None:
                r.values["campaign_id"] = found["campaign_id"]  # no campaign in the row: keep the link it has
            if found is not None and found["sentiment_source"] and (
                    r.values["sentiment"] is None or found["sentiment_source"] == "corrected"):
                r.values["sentiment"] = found["sentiment"]  # the row says nothing, or a person corrected it: keep ours
            if found is None:
                new.append((r, pid, cid))
            elif mode == Mode.create_only:
                self.reject(r.line, gettext("Already exists (the import creates only new records)."))
            elif mode == Mode.create_update and any(
                    found[n] != (pid if n == "profile_id" else cid if n == "counterpart_id" else r.values[n])
                    for n in _X_COMPARED):
                values = {**{n: r.values[n] for n in _X_COMPARED if n not in _X_PEOPLE}, "profile_id": pid,
                          "counterpart_id": cid}
                source = found["sentiment_source"] if values["sentiment"] == found["sentiment"] else ""
                changes.append({"b_id": found["id"], **values, "sentiment_source": source, "updated_at": self.now})
                self.regrant[found["id"]] = any(found[n] != values[n] for n in ("profile_id", "kind", "channel", "occurred_at"))
                touched.update({pid, found["profile_id"]} | ({cid} if cid else set()))
                self.edge_people.update({pid, found["profile_id"]})
                self.count("updated")
            else:
                self.count("skipped")
        inserted = self._insert_interactions(new)
        self.count("created", inserted)
        self.count("skipped", len(new) - inserted)
        if inserted:  # (when some rows were already there, all of the batch's people are refreshed)
            for _r, pid, cid in new:
                touched.add(pid)
                if cid:
                    touched.add(cid)
                    self.edge_people.add(pid)
        if changes:
            stmt = update(X).where(X.c.id == bindparam("b_id")).values(
                {n: bindparam(n) for n in (*_X_COMPARED, "sentiment_source", "updated_at")})
            self.conn.execute(stmt, changes)
        self._recognise(new, inserted, changes)
        return touched

    def _recognise(self, new: Sequence[tuple[InteractionRow, int, int | None]], inserted: int,
                   changes: Sequence[dict[str, Any]]) -> None:
        """Points for what the batch added, in the batch's transaction (whole batches, as the rows); rows
        whose kind, channel or date changed lose their old points and earn under the rules again. A
        re-import adds nothing: a grant happens once per interaction and rule version."""
        ids: list[int] = []
        if inserted:
            by_source: dict[str, list[str]] = {}
            for r, _pid, _cid in new:
                by_source.setdefault(r.values["source"], []).append(r.values["external_id"])
            for source, keys in by_source.items():
                for start in range(0, len(keys), LOOKUP_CHUNK):
                    ids += self.conn.execute(select(X.c.id).where(
                        X.c.source == source, X.c.external_id.in_(keys[start:start + LOOKUP_CHUNK]))).scalars().all()
        edited = [c["b_id"] for c in changes if self.regrant.get(c["b_id"])]
        for interaction_id in edited:
            ledger.revoke_for_interaction(self.conn, interaction_id, gettext("Changed by an import."))
        if ids or changes:
            listening.after_interactions(self.conn, ids + [c["b_id"] for c in changes])
        if ids or edited:
            hooks.after_interactions(self.conn, ids + edited)

    def _existing_interactions(self, rows: Sequence[InteractionRow]) -> dict[tuple[str, str], Any]:
        existing: dict[tuple[str, str], Any] = {}
        by_source: dict[str, list[str]] = {}
        for r in rows:
            by_source.setdefault(r.values["source"], []).append(r.values["external_id"])
        columns = [X.c.id, X.c.source, X.c.external_id, X.c.sentiment_source, *(X.c[n] for n in _X_COMPARED)]
        for source, ids in by_source.items():
            for start in range(0, len(ids), LOOKUP_CHUNK):
                chunk = ids[start:start + LOOKUP_CHUNK]
                for row in self.conn.execute(select(*columns).where(X.c.source == source, X.c.external_id.in_(chunk))).mappings():
                    existing[(row["source"], row["external_id"])] = row
        return existing

    def _insert_interactions(self, new: Sequence[tuple[InteractionRow, int, int | None]]) -> int:
        """INSERT ... ON CONFLICT (source, external_id) DO NOTHING for the batch; returns how many
        rows were new. On SQLite the values go to the driver as it stores them (no per-value
        processing), on PostgreSQL through Core."""
        if not new:
            return 0
        if self.conn.dialect.name == "sqlite":
            stamp = _sqlite_datetime
            params = []
            for r, pid, cid in new:
                v = r.values
                when = stamp(v["occurred_at"])
                params.append((pid, v["kind"], v["channel"], v["url"], v["title"], v["body"], when, v["reach"],
                               v["engagements"], v["sentiment"], "", cid, v["campaign_id"], v["source"],
                               v["external_id"], when))  # _X_INSERTED
            result = self.conn.exec_driver_sql(_sqlite_insert(self.conn), params)
        else:
            # psycopg's executemany does not say how many rows were inserted: RETURNING does (one row
            # per inserted interaction; SQLAlchemy sends it as multi-row INSERTs).
            stmt = pg_insert(X).on_conflict_do_nothing(index_elements=[X.c.source, X.c.external_id]).returning(X.c.id)
            returned = self.conn.execute(stmt, [{**r.values, "profile_id": pid, "counterpart_id": cid,
                                                 "created_at": r.values["occurred_at"]} for r, pid, cid in new])
            return len(returned.all())
        return max(int(result.rowcount), 0)

    # -- relationships --

    def relationships(self, rows: Sequence[RelationshipRow]) -> set[int]:
        touched = self.ensure_people([r.source for r in rows] + [r.target for r in rows])
        resolved = []
        for r in rows:
            src, tgt = self.person_of(r.source), self.person_of(r.target)
            if src is None or tgt is None:
                missing = r.source if src is None else r.target
                self.reject(r.line, gettext("No person with key %(key)s in source %(source)s.")
                            % {"key": missing.label(), "source": self.spec.source})
            elif src == tgt:
                self.reject(r.line, gettext("A relationship from a person to themselves."))
            else:
                resolved.append((r, src, tgt))
        sources = sorted({src for _, src, _ in resolved})
        existing: dict[tuple[int, int, str], Any] = {}
        for start in range(0, len(sources), 900):
            query = select(R.c.id, R.c.source_id, R.c.target_id, R.c.kind, R.c.strength, R.c.first_seen, R.c.last_seen)
            for edge in self.conn.execute(query.where(R.c.source_id.in_(sources[start:start + 900]))).mappings():
                existing[(edge["source_id"], edge["target_id"], edge["kind"])] = edge
        new: list[dict[str, Any]] = []
        for r, src, tgt in resolved:
            found: Any = existing.get((src, tgt, r.values["kind"]))
            if found is None:
                new.append({**r.values, "source_id": src, "target_id": tgt, "origin": RelationshipOrigin.imported.value,
                            "created_at": r.values["first_seen"] or self.now, "updated_at": None})
                existing[(src, tgt, r.values["kind"])] = {}
                touched.update({src, tgt})
            elif self.spec.mode == Mode.create_only:
                self.reject(r.line, gettext("Already exists (the import creates only new records)."))
            elif self.spec.mode == Mode.create_update and found and any(found[k] != v for k, v in r.values.items()):
                self.conn.execute(update(R).where(R.c.id == found["id"]).values(**r.values, updated_at=self.now))
                touched.update({src, tgt})
                self.count("updated")
            else:
                self.count("skipped")
        if new:
            self.conn.execute(insert(R), new)
            self.count("created", len(new))
        return touched

    def write(self, rows: Sequence[AnyRow], *, derived: bool = True) -> set[int]:
        if self.spec.entity == Entity.people:
            touched = self.people(cast(Sequence[PersonRow], rows))
        elif self.spec.entity == Entity.interactions:
            touched = self.interactions(cast(Sequence[InteractionRow], rows))
        else:
            touched = self.relationships(cast(Sequence[RelationshipRow], rows))
        if derived and touched:
            stats.refresh_on_connection(self.conn, touched)
            # Derived edges change only for people whose interactions with a counterpart changed.
            edges = self.edge_people if self.spec.entity == Entity.interactions else touched
            if edges:
                relationships.refresh_derived_edges(self.conn, edges)
        self.edge_people = set()
        return touched


_X_COMPARED = ("profile_id", "kind", "channel", "occurred_at", "title", "body", "url", "reach", "engagements",
               "sentiment", "counterpart_id", "campaign_id")
_X_PEOPLE = ("profile_id", "counterpart_id")
_X_INSERTED = ("profile_id", "kind", "channel", "url", "title", "body", "occurred_at", "reach", "engagements",
               "sentiment", "sentiment_source", "counterpart_id", "campaign_id", "source", "external_id",
               "created_at")  # the model's order
LOOKUP_CHUNK = 10_000  # values in one IN (...): under SQLite's 32,766 and PostgreSQL's 65,535 parameters
_SQLITE_INSERT: dict[str, str] = {}


def _sqlite_insert(conn: Connection) -> str:
    """The interaction INSERT as SQLAlchemy compiles it for SQLite (its parameters in _X_INSERTED order)."""
    if "sql" not in _SQLITE_INSERT:
        stmt = sqlite_insert(X).on_conflict_do_nothing(index_elements=[X.c.source, X.c.external_id])
        compiled = stmt.compile(dialect=conn.dialect, column_keys=list(_X_INSERTED))
        if tuple(compiled.positiontup or ()) != _X_INSERTED:
            raise RuntimeError(f"unexpected parameter order {compiled.positiontup}")
        _SQLITE_INSERT["sql"] = str(compiled)
    return _SQLITE_INSERT["sql"]


def _sqlite_datetime(value: datetime) -> str:
    """An aware datetime as SQLAlchemy stores it in SQLite (crm.db.UTCDateTime, then DateTime):
    naive UTC, "YYYY-MM-DD HH:MM:SS.ffffff"."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
PROFILE_DEFAULTS: dict[str, Any] = {}
IDENTITY_DEFAULTS: dict[str, Any] = {}


def _defaults() -> None:
    from crm.imports.rows import IDENTITY_FIELDS, PROFILE_FIELDS
    from crm.profiles.models import IdentityIn, ProfileIn, stored_values

    PROFILE_DEFAULTS.update(stored_values(ProfileIn(display_name="x"), PROFILE_FIELDS))
    PROFILE_DEFAULTS.update(reach=0, contribution_count=0, last_activity_at=None, search_text="", owner_id=None)
    IDENTITY_DEFAULTS.update(stored_values(IdentityIn(platform="other", handle="x"), IDENTITY_FIELDS))  # type: ignore[arg-type]
    IDENTITY_DEFAULTS.update(last_synced_at=None)


_defaults()


# ---- the job ------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    status: str
    counts: dict[str, int]
    error: str = ""


def _batches(rows: Sequence[AnyRow], size: int, start: int = 0) -> list[tuple[int, Sequence[AnyRow]]]:
    return [(i + len(rows[i : i + size]), rows[i : i + size]) for i in range(start, len(rows), size)]


def _save_rejections(conn: Connection, job_id: int, rejections: Sequence[Rejection]) -> None:
    kept = list(rejections[:MAX_REJECTIONS_KEPT])
    for start in range(0, len(kept), 5_000):
        conn.execute(insert(_t(ImportRejection)), [
            {"job_id": job_id, "line": r.line, "reason": r.reason[:2000], "raw": r.raw} for r in kept[start:start + 5_000]])


def _set_job(conn: Connection, job_id: int, **values: Any) -> None:
    conn.execute(update(J).where(J.c.id == job_id).values(**values, heartbeat_at=utcnow()))


_gc_lock = threading.Lock()
_gc_pauses = [0, False]  # [pauses in progress, was the collector on before the first]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused during bulk work: the parsed rows are hundreds of
    thousands of live objects, and every collection would walk them all again (it cost a fifth of
    an import's time). Nothing bulk work builds is cyclic; the collector resumes afterwards."""
    with _gc_lock:
        if _gc_pauses[0] == 0:
            _gc_pauses[1] = gc.isenabled()
            gc.disable()
        _gc_pauses[0] += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses[0] -= 1
            if _gc_pauses[0] == 0 and _gc_pauses[1]:
                gc.enable()


@dataclass
class Prepared:
    """A file already read and validated with the job's spec (the seed loader validates every file
    before it writes anything): the job uses these instead of reading the upload again."""

    records: int  # records read, rejected ones included
    rows: list[AnyRow]
    rejections: list[Rejection]


def prepare(content: bytes, spec: ImportSpec) -> Prepared:
    """Read and validate a file (FileProblem if the file as a whole cannot be read)."""
    parsed = read_file(content, spec)
    rows, rejections = validate(parsed, spec)
    return Prepared(len(parsed.records) + len(parsed.rejections), rows, rejections)


def run_import_job(engine: Engine, job_id: int, *, progress: Progress | None = None,
                   prepared: Prepared | None = None) -> Outcome:
    """Run (or resume) the import that Job `job_id` describes."""
    with collector_paused():
        return _run_import_job(engine, job_id, progress=progress, prepared=prepared)


def _run_import_job(engine: Engine, job_id: int, *, progress: Progress | None, prepared: Prepared | None) -> Outcome:
    with engine.connect() as conn:
        job = conn.execute(select(J).where(J.c.id == job_id)).mappings().one()
        upload_id = (job["params"] or {}).get("upload_id")
        content = None if prepared else conn.execute(
            select(_t(ImportUpload).c.content).where(_t(ImportUpload).c.id == upload_id)).scalar_one()
    spec = ImportSpec.from_params(job["params"])
    counts: dict[str, int] = dict(job["counts"] or {})
    bind = write_bind(engine)
    if prepared is None:
        try:
            prepared = prepare(bytes(content or b""), spec)
        except FileProblem as exc:
            with bind.begin() as conn:
                _finish(conn, job, JobStatus.failed, counts, str(exc))
            return Outcome(JobStatus.failed.value, counts, str(exc))
    rows, rejections = prepared.rows, prepared.rejections
    if not counts.get("validated"):
        counts = {"rows": prepared.records, "created": 0, "updated": 0, "skipped": 0,
                  "rejected": len(rejections), "people_created": 0, "validated": 1}
        with bind.begin() as conn:
            _save_rejections(conn, job_id, rejections)
            _set_job(conn, job_id, counts=counts, total=len(rows), progress=0, status=JobStatus.running.value)
    notify = progress or (lambda done, total: None)
    size = spec.batch_size or BATCH[spec.entity]
    if spec.all_or_nothing:
        return _all_or_nothing(bind, job, spec, rows, counts, rejections, size, notify)
    start = int(job["progress"] or 0) if job["counts"] and job["counts"].get("validated") else 0
    writer: Writer | None = None
    for done, batch in _batches(rows, size, start):
        with bind.begin() as conn:
            writer = Writer(conn, spec, counts) if writer is None else writer
            writer.conn, writer.rejections = conn, []
            writer.write(batch)
            _save_rejections(conn, job_id, writer.rejections)
            _set_job(conn, job_id, progress=done, counts=dict(counts))
        notify(done, len(rows))
    with bind.begin() as conn:
        _finish(conn, job, JobStatus.done, counts, progress=len(rows))
    return Outcome(JobStatus.done.value, counts)


def _finish(conn: Connection, job: Any, status: JobStatus, counts: dict[str, int], error: str = "",
            **values: Any) -> None:
    """The job's last state, and the audit event that says how the import ended (same transaction)."""
    _set_job(conn, job["id"], status=status.value, error=error, finished_at=utcnow(), counts=dict(counts), **values)
    user_id = job["created_by_id"]
    email = conn.execute(select(_t(User).c.email).where(_t(User).c.id == user_id)).scalar() if user_id else None
    shown = {k: v for k, v in counts.items() if k != "validated"}
    with Session(bind=conn) as session:
        audit.record(session=session, actor=Actor(user_id=user_id if email else None, label=email or "system"),
                     action=AuditAction.import_finish, object_type="job", object_id=job["id"],
                     after={"status": status.value, "title": job["title"], "counts": shown, "error": error[:500]})
        session.flush()


def _all_or_nothing(bind: Engine, job: Any, spec: ImportSpec, rows: Sequence[AnyRow], counts: dict[str, int],
                    rejections: list[Rejection], size: int, notify: Progress) -> Outcome:
    job_id = job["id"]
    if rejections:
        error = _nothing_written(len(rejections))
        with bind.begin() as conn:
            _finish(conn, job, JobStatus.failed, counts, error)
        return Outcome(JobStatus.failed.value, counts, error)
    written = dict(counts)
    try:
        with bind.begin() as conn:
            writer = Writer(conn, spec, written)
            for done, batch in _batches(rows, size):
                writer.write(batch)
                if writer.rejections:
                    raise _Abort
                notify(done, len(rows))
            _finish(conn, job, JobStatus.done, written, progress=len(rows))
        return Outcome(JobStatus.done.value, written)
    except _Abort:
        error = _nothing_written(len(writer.rejections))
        counts["rejected"] = len(writer.rejections)
        with bind.begin() as conn:
            _save_rejections(conn, job_id, writer.rejections)
            _finish(conn, job, JobStatus.failed, counts, error)
        return Outcome(JobStatus.failed.value, counts, error)


def _nothing_written(n: int) -> str:
    return ngettext("%(n)d row was rejected, so nothing was imported (all or nothing).",
                    "%(n)d rows were rejected, so nothing was imported (all or nothing).", n) % {"n": n}


# ---- preview ------------------------------------------------------------------------------------------


@dataclass
class Preview:
    rows: int
    counts: dict[str, int]
    rejections: list[Rejection]
    headers: list[str]
    encoding: str
    delimiter: str
    checked: int  # rows written on trial (the first PREVIEW_ROWS valid rows)
    error: str = ""


def preview(conn: Connection, content: bytes, spec: ImportSpec, *, limit: int = PREVIEW_ROWS) -> Preview:
    """What the import would do: every row validated, the first `limit` valid ones written inside a
    savepoint of the caller's (write) transaction that is then rolled back."""
    try:
        parsed = read_file(content, spec)
    except FileProblem as exc:
        return Preview(0, {}, [], [], "", "", 0, str(exc))
    rows, rejections = validate(parsed, spec)
    counts: dict[str, int] = {"created": 0, "updated": 0, "skipped": 0, "rejected": 0, "people_created": 0}
    trial = rows[:limit]
    savepoint = conn.begin_nested()
    try:
        writer = Writer(conn, spec, counts)
        for _done, batch in _batches(trial, BATCH[spec.entity]):
            writer.write(batch, derived=False)
        rejections = sorted(rejections + writer.rejections, key=lambda r: r.line)
    finally:
        savepoint.rollback()
    counts["rejected"] = len(rejections)
    total = len(parsed.records) + len(parsed.rejections)
    return Preview(total, counts, rejections, parsed.headers, parsed.encoding, parsed.delimiter, len(trial))
