"""Imports as the pages, the API and the CLI use them: upload, preview, start as a Job, history,
rejected rows."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from crm.errors import InvalidInput, NotFound
from crm.i18n import gettext
from crm.imports.importer import ImportSpec, Preview, preview
from crm.imports.models import ImportMapping, ImportRejection, ImportUpload
from crm.imports.reader import FileProblem, read_table
from crm.imports.rows import Entity, suggest_mapping
from crm.jobs import service as jobs
from crm.jobs.models import Job

KIND = "import"


def save_upload(filename: str, content: bytes, *, session: Session, created_by_id: int | None) -> ImportUpload:
    if not content:
        raise InvalidInput(gettext("The file is empty."), field_errors={"file": gettext("The file is empty.")})
    upload = ImportUpload(filename=(filename or "upload")[:255], content=content, size=len(content),
                          created_by_id=created_by_id)
    session.add(upload)
    session.flush()
    return upload


def get_upload(upload_id: int, *, session: Session) -> ImportUpload:
    upload = session.get(ImportUpload, upload_id)
    if upload is None:
        raise NotFound(gettext("No such upload."))
    return upload


def remembered_mapping(source: str, *, session: Session) -> dict[str, str]:
    found = session.exec(select(ImportMapping).where(col(ImportMapping.source) == source)).first()
    return dict(found.mapping.get("fields", {})) if found else {}


def remember_mapping(source: str, file_format: str, mapping: dict[str, str], *, session: Session) -> None:
    found = session.exec(select(ImportMapping).where(col(ImportMapping.source) == source)).first()
    if found is None:
        found = ImportMapping(source=source)
    found.format = file_format[:30]
    found.mapping = {"fields": dict(mapping)}
    session.add(found)


@dataclass
class Columns:
    headers: list[str]
    suggested: dict[str, str]
    encoding: str
    delimiter: str
    error: str = ""


def columns_of(upload: ImportUpload, entity: Entity, source: str, *, session: Session) -> Columns:
    """The file's columns and the mapping suggested for them (the one remembered for the source first)."""
    try:
        table = read_table(upload.content)
    except FileProblem as exc:
        return Columns([], {}, "", "", str(exc))
    return Columns(table.headers, suggest_mapping(entity, table.headers, remembered_mapping(source, session=session)),
                   table.encoding, table.delimiter)


def preview_upload(upload: ImportUpload, spec: ImportSpec, *, session: Session) -> Preview:
    """A trial run inside a savepoint that is rolled back: nothing is written."""
    return preview(session.connection(), upload.content, spec)


def start_import(upload: ImportUpload, spec: ImportSpec, *, session: Session, created_by_id: int | None) -> Job:
    """A queued import Job for this upload; the mapping is remembered for the source."""
    if not spec.source.strip():
        raise InvalidInput(gettext("Name the source."), field_errors={"source": gettext("Name the source.")})
    if spec.mapping:
        remember_mapping(spec.source, spec.format, spec.mapping, session=session)
    params = {**spec.params(), "upload_id": upload.id, "filename": upload.filename}
    title = f"{upload.filename} ({spec.entity.value}, {spec.source})"
    return jobs.enqueue(KIND, params, session=session, title=title, created_by_id=created_by_id)


def history(*, session: Session, limit: int = 25, offset: int = 0) -> tuple[list[Job], int]:
    total = session.exec(select(func.count()).select_from(Job).where(col(Job.kind) == KIND)).one()
    return jobs.list_jobs(session=session, kind=KIND, limit=limit, offset=offset), int(total)


def import_job(job_id: int, *, session: Session) -> Job:
    job = jobs.get_job(job_id, session=session)
    if job.kind != KIND:
        raise NotFound(gettext("No such import."))
    return job


def rejections(job_id: int, *, session: Session, limit: int | None = None) -> list[ImportRejection]:
    query = select(ImportRejection).where(col(ImportRejection.job_id) == job_id).order_by(col(ImportRejection.line))
    if limit:
        query = query.limit(limit)
    return list(session.exec(query))


def rejections_csv(job_id: int, *, session: Session) -> str:
    import_job(job_id, session=session)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["line", "reason", "row"])
    for r in rejections(job_id, session=session):
        writer.writerow([r.line, _safe(r.reason), _safe(r.raw)])
    return out.getvalue()


def _safe(text: str) -> str:
    """No formula injection when the CSV is opened in a spreadsheet."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def job_summary(job: Job) -> dict[str, Any]:
    return {"id": job.id, "status": job.status, "title": job.title, "progress": job.progress, "total": job.total,
            "counts": {k: v for k, v in (job.counts or {}).items() if k != "validated"}, "error": job.error,
            "created_at": job.created_at, "started_at": job.started_at, "finished_at": job.finished_at}
