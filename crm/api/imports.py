"""JSON API: imports. Upload a file and start its import (multipart), follow the job, read rejected rows."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from crm.api.common import error_responses
from crm.audit import service as audit
from crm.audit.actions import AuditAction
from crm.deps import DB, CurrentUser, IdPath, WriterUser, actor_for
from crm.errors import InvalidInput
from crm.imports import service as imports
from crm.imports.formats import CONVERTERS, DEFAULT_SOURCE, Format
from crm.imports.importer import ImportSpec
from crm.imports.rows import TARGETS, Entity, Mode
from crm.schemas import InputModel

router = APIRouter(prefix="/imports", tags=["imports"])
UPLOAD_ROUTE_LIMIT = 2**31 - 1  # the route's own limit is the max_upload_bytes setting, checked below


class ImportJobOut(BaseModel):
    id: int
    status: str
    title: str
    progress: int
    total: int
    counts: dict[str, int]
    error: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class RejectionOut(BaseModel):
    line: int
    reason: str
    raw: str


class ImportOptions(InputModel):
    entity: Entity = Entity.people
    format: Format | None = None
    source: str = ""
    mode: Mode = Mode.skip_existing
    all_or_nothing: bool = False
    time_zone: str = "UTC"
    mapping: dict[str, str] = {}


def _too_large() -> JSONResponse:
    return JSONResponse({"detail": "The file is larger than the import limit (CRM_MAX_UPLOAD_BYTES)."}, status_code=413)


ERRORS = error_responses(e404="No such import")

@router.post("", status_code=202, response_model=ImportJobOut, max_body_size=UPLOAD_ROUTE_LIMIT,
             responses=error_responses(e413="File larger than CRM_MAX_UPLOAD_BYTES", e422="Bad options; `errors` names each one"))
async def start_import(
    request: Request, db: DB, user: WriterUser,
    file: Annotated[UploadFile, File(description="CSV, JSON lines, or a JSON export in one of the formats")],
    entity: Annotated[Entity, Form()] = Entity.people,
    format: Annotated[Format | None, Form(description="Empty: detect CSV or JSON lines")] = None,
    source: Annotated[str, Form(max_length=50, description="External ids are unique per source")] = "",
    mode: Annotated[Mode, Form()] = Mode.skip_existing,
    all_or_nothing: Annotated[bool, Form()] = False,
    mapping: Annotated[str, Form(description='JSON object {"field": "column"}; empty: suggested from the header')] = "",
) -> Any:
    """Upload a file and queue its import as a job (202). Poll `GET /api/v1/imports/{id}`."""
    limit = request.app.state.settings.max_upload_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + 64 * 1024:
        return _too_large()
    content = await file.read(limit + 1)
    if len(content) > limit:
        return _too_large()
    # The rest is synchronous database and parsing work: off the event loop.
    return await run_in_threadpool(_queue_import, request, db, user, file.filename or "upload", content, entity, format,
                                   source, mode, all_or_nothing, mapping)


def _queue_import(request: Request, db: Any, user: Any, filename: str, content: bytes, entity: Entity,
                  format: Format | None, source: str, mode: Mode, all_or_nothing: bool, mapping: str) -> Any:
    try:
        fields = json.loads(mapping) if mapping else {}
        options = ImportOptions(entity=entity, format=format, source=source, mode=mode, all_or_nothing=all_or_nothing,
                                mapping=fields)
    except (ValueError, ValidationError) as exc:
        raise InvalidInput("mapping must be a JSON object of field names to column names",
                           field_errors={"mapping": str(exc)[:300]}) from None
    fmt = options.format
    chosen = CONVERTERS[fmt][0] if fmt in CONVERTERS else options.entity
    unknown = [f for f in options.mapping if f not in TARGETS[chosen]]
    if unknown:
        raise InvalidInput(f"unknown fields in mapping: {', '.join(unknown)}", field_errors={"mapping": ", ".join(unknown)})
    spec = ImportSpec(entity=chosen, format=fmt.value if fmt else "auto",
                      source=options.source or (DEFAULT_SOURCE.get(fmt) if fmt else None) or "api",
                      mapping=options.mapping, mode=options.mode, all_or_nothing=options.all_or_nothing)
    saved = imports.save_upload(filename, content, session=db, created_by_id=user.id)
    if not spec.mapping and fmt not in CONVERTERS:
        columns = imports.columns_of(saved, spec.entity, spec.source, session=db)
        spec.mapping = columns.suggested
    job = imports.start_import(saved, spec, session=db, created_by_id=user.id)
    audit.record(session=db, actor=actor_for(request, user), action=AuditAction.import_start, object_type="job",
                 object_id=job.id, before=None, after={"upload": saved.filename, **spec.params()})
    db.commit()
    return imports.job_summary(job)


@router.get("", response_model=list[ImportJobOut], responses=ERRORS)
def list_imports(db: DB, user: CurrentUser, limit: int = 25, offset: int = 0) -> Any:
    jobs, _total = imports.history(session=db, limit=max(1, min(limit, 100)), offset=max(0, min(offset, 10**6)))
    return [imports.job_summary(j) for j in jobs]


@router.get("/{job_id}", response_model=ImportJobOut, responses=ERRORS)
def import_status(db: DB, user: CurrentUser, job_id: IdPath) -> Any:
    return imports.job_summary(imports.import_job(job_id, session=db))


@router.get("/{job_id}/rejections", response_model=list[RejectionOut], responses=ERRORS)
def import_rejections(db: DB, user: CurrentUser, job_id: IdPath) -> Any:
    imports.import_job(job_id, session=db)
    return [{"line": r.line, "reason": r.reason, "raw": r.raw} for r in imports.rejections(job_id, session=db)]
