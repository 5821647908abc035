"""The demo seed, loaded through the importer with a preset mapping.

The seed is in the same plain formats as real imports: profiles.csv and identities.csv (people,
keyed by "key" / "profile_key" in source "demo"), relationships.csv and interactions.jsonl. Each
file becomes an import Job (all or nothing), run here, in order. Every row of the four files is
validated first, so a bad row stops the load with its file and line before anything is written;
each job then writes the rows validated here (each file is read and validated once).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Engine, Table, func, select, update
from sqlalchemy.sql.functions import coalesce

from crm.db import session_scope, write_bind
from crm.errors import DomainError
from crm.imports.importer import ImportSpec, Prepared, collector_paused, prepare
from crm.imports.models import ImportUpload
from crm.imports.reader import FileProblem
from crm.imports.rows import PROFILE_COLUMN, PROFILE_FIELDS, Entity, InteractionRow, Mode, RelationshipRow, shift_values
from crm.interactions.models import Interaction, Relationship
from crm.jobs import service as jobs
from crm.jobs.models import JobStatus
from crm.profiles.models import Identity, IdentityFields, Profile
from crm.resources import share_dir

SOURCE = "demo"
PROFILES = "profiles.csv"
IDENTITIES = "identities.csv"
RELATIONSHIPS = "relationships.csv"
INTERACTIONS = "interactions.jsonl"
PROFILE_COLUMNS = ("key", *(PROFILE_COLUMN.get(f, f) for f in PROFILE_FIELDS if f != "tags"))
IDENTITY_COLUMNS = ("profile_key", *IdentityFields.model_fields)

# The preset mappings (field -> the seed file's column), one per file, in loading order.
PRESETS: tuple[tuple[str, str, Entity, dict[str, str]], ...] = (
    ("profiles", PROFILES, Entity.people, {c: c for c in PROFILE_COLUMNS}),
    ("identities", IDENTITIES, Entity.people, {"key": "profile_key", **{c: c for c in IDENTITY_COLUMNS[1:]}}),
    ("relationships", RELATIONSHIPS, Entity.relationships,
     {c: c for c in ("source_key", "target_key", "kind", "strength", "first_seen", "last_seen")}),
    ("interactions", INTERACTIONS, Entity.interactions,
     {"source": "source", "external_id": "external_id", "person_key": "profile_key", "kind": "kind",
      "channel": "channel", "url": "url", "title": "title", "body": "body", "occurred_at": "occurred_at",
      "reach": "reach", "engagements": "engagements", "sentiment": "sentiment", "counterpart_key": "counterpart_key"}),
)  # fmt: skip

Progress = Callable[[str, int, int], None]


class SeedError(DomainError):
    """The seed cannot be loaded; the message names the file and line when a row is at fault."""


@dataclass(frozen=True)
class SeedReport:
    profiles: int
    identities: int
    relationships: int
    interactions: int
    shifted_by: timedelta = timedelta(0)
    job_ids: tuple[int, ...] = ()


def default_seed_dir() -> Path:
    """The demo data shipped with Altavoz: crm/_share/seed in a wheel, seed/ in a checkout."""
    return share_dir("seed")


def _spec(entity: Entity, mapping: dict[str, str], file: str, shift: float) -> ImportSpec:
    return ImportSpec(entity=entity, format="jsonl" if file.endswith(".jsonl") else "csv", source=SOURCE,
                      mapping=mapping, mode=Mode.skip_existing, all_or_nothing=True, shift_seconds=shift)


def load_seed(engine: Engine, seed_dir: Path, *, shift_to: datetime | None = None,
              progress: Progress | None = None) -> SeedReport:
    """Load the four seed files into an empty database through the importer.

    With `shift_to`, every interaction and relationship time moves by the same amount so that the
    newest interaction lands on `shift_to`: the demo always looks current."""
    if shift_to is not None and shift_to.tzinfo is None:
        raise SeedError("shift_to must be a timezone-aware datetime")
    seed_dir = Path(seed_dir)
    if not seed_dir.is_dir():
        raise SeedError(f"{seed_dir}: seed folder not found")
    contents: dict[str, bytes] = {}
    prepared: dict[str, Prepared] = {}
    sizes: dict[str, int] = {}
    newest: datetime | None = None
    with collector_paused():
        for stage, file, entity, mapping in PRESETS:
            path = seed_dir / file
            if not path.is_file():
                raise SeedError(f"{file}: file not found in {seed_dir}")
            contents[file] = path.read_bytes()
            try:
                prepared[file] = prepare(contents[file], _spec(entity, mapping, file, 0))
            except FileProblem as exc:
                raise SeedError(f"{file}: {exc}") from None
            rejected = prepared[file].rejections
            if rejected:
                raise SeedError(f"{file}:{rejected[0].line}: {rejected[0].reason}")
            sizes[stage] = len(prepared[file].rows)
            if entity == Entity.interactions:
                newest = max((cast(InteractionRow, r).values["occurred_at"] for r in prepared[file].rows), default=None)
    shift = (shift_to.astimezone(UTC) - newest) if shift_to is not None and newest is not None else timedelta(0)
    if shift:  # what validate() does with the job's shift_seconds, done once to the rows validated here
        for ready in prepared.values():
            for row in ready.rows:
                if isinstance(row, InteractionRow):
                    shift_values(row.values, ("occurred_at",), shift)
                elif isinstance(row, RelationshipRow):
                    shift_values(row.values, ("first_seen", "last_seen"), shift)
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(_t(Profile))).scalar_one()
    if count:
        raise SeedError(f"the database already has {count} profiles; seed loads only into an empty database")
    notify = progress or (lambda stage, done, total: None)
    job_ids = []
    for stage, file, entity, mapping in PRESETS:
        with session_scope(engine, write=True) as session:
            upload = ImportUpload(filename=file, content=contents[file], size=len(contents[file]))
            session.add(upload)
            session.flush()
            params = {**_spec(entity, mapping, file, shift.total_seconds()).params(), "upload_id": upload.id,
                      "filename": file}
            job = jobs.enqueue("import", params, session=session, title=f"{file} (demo seed)")
            job_id = cast(int, job.id)
        notify(stage, 0, sizes[stage])
        def report(done: int, total: int, stage: str = stage) -> None:
            notify(stage, done, total)

        status = jobs.run_job(engine, job_id, progress=report, prepared=prepared[file])
        if status != JobStatus.done.value:
            with engine.connect() as conn:
                from crm.jobs.models import Job

                error = conn.execute(select(_t(Job).c.error).where(_t(Job).c.id == job_id)).scalar_one()
            raise SeedError(f"{file}: {error}")
        notify(stage, sizes[stage], sizes[stage])
        job_ids.append(job_id)
    _date_people(engine)
    return SeedReport(sizes["profiles"], sizes["identities"], sizes["relationships"], sizes["interactions"],
                      shift, tuple(job_ids))


def _t(model: Any) -> Table:
    return cast(Table, model.__table__)


def _date_people(engine: Engine) -> None:
    """A person enters the CRM with their first interaction, else when first seen connected, else at
    the start of the data: never "today", which would make every quiet person look new."""
    p, x, r, i = _t(Profile), _t(Interaction), _t(Relationship), _t(Identity)
    with write_bind(engine).begin() as conn:
        start = conn.execute(select(func.min(x.c.occurred_at))).scalar()
        if start is None:
            return
        first_interaction = select(func.min(x.c.occurred_at)).where(x.c.profile_id == p.c.id).scalar_subquery()
        touches = (r.c.source_id == p.c.id) | (r.c.target_id == p.c.id)
        first_edge = select(func.min(r.c.first_seen)).where(touches).scalar_subquery()
        when = coalesce(first_interaction, first_edge, start)
        conn.execute(update(p).values(created_at=when, updated_at=when))
        owner_created = select(p.c.created_at).where(p.c.id == i.c.profile_id).scalar_subquery()
        conn.execute(update(i).values(created_at=owner_created, updated_at=owner_created))
