"""HTML routes: imports (/imports): upload -> map columns -> preview -> run as a job -> history."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from crm.audit import service as audit
from crm.audit.actions import AuditAction
from crm.deps import DB, CurrentUser, IdPath, WriterUser, actor_for
from crm.errors import DomainError, InvalidInput
from crm.i18n import gettext
from crm.imports import service as imports
from crm.imports.formats import CONVERTERS, DEFAULT_SOURCE, FORMAT_LABELS, Format
from crm.imports.importer import ImportSpec
from crm.imports.rows import ENTITY_LABELS, MODE_LABELS, REQUIRED, TARGETS, Entity, Mode
from crm.jobs.models import JobStatus
from crm.templating import render
from crm.web.common import Form, redirect

router = APIRouter(prefix="/imports")
UPLOAD_ROUTE_LIMIT = 2**31 - 1  # the route's own limit is the max_upload_bytes setting, checked below
PER_PAGE = 25
ACTIVE = (JobStatus.queued.value, JobStatus.running.value)


def _choices() -> dict[str, Any]:
    return {"entities": ENTITY_LABELS, "modes": MODE_LABELS, "formats": FORMAT_LABELS, "targets": TARGETS,
            "required": REQUIRED}


def _page(request: Request, db: Session, page: int, status_code: int = 200, **extra: Any) -> Response:
    jobs, total = imports.history(session=db, limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    ctx = {"jobs": jobs, "total": total, "page": page, "pages": max(1, -(-total // PER_PAGE)),
           "polling": any(j.status in ACTIVE for j in jobs), **_choices(), "form": {}, "errors": {}, **extra}
    return render(request, "imports/index.html", ctx, block="history", status_code=status_code)


@router.get("")
def imports_page(request: Request, db: DB, user: CurrentUser, page: int = 1) -> Response:
    return _page(request, db, max(1, min(page, 10_000)))


@router.post("", max_body_size=UPLOAD_ROUTE_LIMIT)
async def upload(request: Request, db: DB, user: WriterUser) -> Response:
    limit = request.app.state.settings.max_upload_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return Response(gettext("The file is larger than the import limit."), status_code=413)
    form = await request.form(max_part_size=limit)
    file = form.get("file")
    values = {k: str(form.get(k) or "") for k in ("entity", "format", "source")}
    errors: dict[str, str] = {}
    content = b""
    if file is None or isinstance(file, str) or not getattr(file, "filename", ""):
        errors["file"] = gettext("Choose a file.")
    else:
        content = await file.read(limit + 1)
        if len(content) > limit:
            return Response(gettext("The file is larger than the import limit."), status_code=413)
    if values["format"] not in {f.value for f in Format} | {"auto"}:
        errors["format"] = gettext("Choose a format.")
    if values["entity"] not in {e.value for e in Entity}:
        errors["entity"] = gettext("Choose what the file holds.")
    # The database work is synchronous: off the event loop (a write may wait for SQLite's lock).
    return await run_in_threadpool(_store_upload, request, db, user, values, str(getattr(file, "filename", "")),
                                   content, errors)


def _store_upload(request: Request, db: Any, user: Any, values: dict[str, str], filename: str, content: bytes,
                  errors: dict[str, str]) -> Response:
    if errors:
        return _page(request, db, 1, status_code=422, form=values, errors=errors)
    try:
        saved = imports.save_upload(filename, content, session=db, created_by_id=user.id)
    except InvalidInput as exc:
        return _page(request, db, 1, status_code=422, form=values, errors=exc.field_errors)
    db.commit()
    fmt = values["format"]
    entity = CONVERTERS[Format(fmt)][0].value if fmt in {f.value for f in CONVERTERS} else values["entity"]
    source = values["source"].strip() or DEFAULT_SOURCE.get(Format(fmt), "") if fmt != "auto" else values["source"].strip()
    query = f"entity={entity}&format={fmt}&source={source or 'import'}"
    return redirect(request, f"/imports/uploads/{saved.id}?{query}")


def _spec_from(form: Any, *, allow_defaults: bool = False) -> tuple[ImportSpec, dict[str, str]]:
    errors: dict[str, str] = {}
    try:
        entity = Entity(form.get("entity") or "people")
    except ValueError:
        entity, errors["entity"] = Entity.people, gettext("Choose what the file holds.")
    fmt = str(form.get("format") or "auto")
    if fmt != "auto" and fmt not in {f.value for f in Format}:
        fmt, errors["format"] = "auto", gettext("Choose a format.")
    try:
        mode = Mode(form.get("mode") or Mode.skip_existing.value)
    except ValueError:
        mode, errors["mode"] = Mode.skip_existing, gettext("Choose what to do with existing records.")
    source = str(form.get("source") or "").strip()[:50]
    if not source and not allow_defaults:
        errors["source"] = gettext("Name the source.")
    mapping = {f: str(form.get(f"map_{f}")) for f in TARGETS[entity] if form.get(f"map_{f}")}
    spec = ImportSpec(entity=entity, format=fmt, source=source or "import", mapping=mapping, mode=mode,
                      all_or_nothing=form.get("all_or_nothing") in ("on", "true", "1"),
                      base_url=str(form.get("base_url") or "")[:300])
    return spec, errors


def _mapping_page(request: Request, db: Session, upload_id: int, spec: ImportSpec, *, errors: dict[str, str] | None = None,
                  preview: Any = None, status_code: int = 200, block: str | None = None) -> Response:
    saved = imports.get_upload(upload_id, session=db)
    real = spec.format in {f.value for f in CONVERTERS}
    columns = None if real else imports.columns_of(saved, spec.entity, spec.source, session=db)
    mapping = spec.mapping or (columns.suggested if columns else {})
    ctx = {"upload": saved, "spec": spec, "columns": columns, "mapping": mapping, "real": real, "errors": errors or {},
           "preview": preview, **_choices()}
    return render(request, "imports/map.html", ctx, block=block, status_code=status_code)


@router.get("/uploads/{upload_id}")
def mapping_page(request: Request, db: DB, user: WriterUser, upload_id: IdPath) -> Response:
    spec, _ = _spec_from(request.query_params, allow_defaults=True)
    return _mapping_page(request, db, upload_id, spec)


@router.post("/uploads/{upload_id}/preview")
def preview(request: Request, db: DB, user: WriterUser, upload_id: IdPath, form: Form) -> Response:
    spec, errors = _spec_from(form)
    if errors:
        return _mapping_page(request, db, upload_id, spec, errors=errors, status_code=422, block="preview")
    saved = imports.get_upload(upload_id, session=db)
    result = imports.preview_upload(saved, spec, session=db)
    return _mapping_page(request, db, upload_id, spec, preview=result, block="preview",
                         status_code=422 if result.error else 200)


@router.post("/uploads/{upload_id}/start")
def start(request: Request, db: DB, user: WriterUser, upload_id: IdPath, form: Form) -> Response:
    spec, errors = _spec_from(form)
    if errors:
        return _mapping_page(request, db, upload_id, spec, errors=errors, status_code=422)
    saved = imports.get_upload(upload_id, session=db)
    try:
        job = imports.start_import(saved, spec, session=db, created_by_id=user.id)
    except DomainError as exc:
        return _mapping_page(request, db, upload_id, spec, errors=exc.field_errors, status_code=422)
    audit.record(session=db, actor=actor_for(request, user), action=AuditAction.import_start, object_type="job",
                 object_id=job.id, before=None, after={"upload": saved.filename, **spec.params()})
    db.commit()
    return redirect(request, f"/imports/jobs/{job.id}")


@router.get("/jobs/{job_id}")
def job_page(request: Request, db: DB, user: CurrentUser, job_id: IdPath) -> Response:
    job = imports.import_job(job_id, session=db)
    shown = imports.rejections(job_id, session=db, limit=50)
    ctx = {"job": job, "rejections": shown, "active": job.status in ACTIVE,
           "params": json.dumps({k: v for k, v in job.params.items() if k != "mapping"}, default=str)}
    return render(request, "imports/job.html", ctx, block="progress")


@router.get("/jobs/{job_id}/rejections.csv")
def rejections_csv(request: Request, db: DB, user: CurrentUser, job_id: IdPath) -> Response:
    body = imports.rejections_csv(job_id, session=db)
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="import-{job_id}-rejected.csv"'})
