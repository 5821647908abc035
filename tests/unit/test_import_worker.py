"""A real worker process killed mid-import leaves whole batches; the job then resumes without duplicates."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select
from sqlmodel import Session

from crm.imports import service as imports
from crm.imports.importer import ImportSpec
from crm.imports.rows import Entity
from crm.interactions.models import Interaction
from crm.jobs import service as jobs
from crm.jobs.models import Job
from crm.profiles.models import Identity, Profile

ROOT = Path(__file__).resolve().parents[2]
ROWS = 30_000
BATCH = 1_000


def _file(rows: int) -> bytes:
    lines = [
        json.dumps({"external_id": f"e{n}", "person_platform": "github", "person_handle": f"dev{n % 200}",
                    "kind": "post", "channel": "github", "occurred_at": f"2026-01-{1 + n % 28:02d}T10:00:00Z",
                    "title": f"Post {n}", "reach": n % 1000, "engagements": n % 7})
        for n in range(rows)
    ]
    return ("\n".join(lines) + "\n").encode()


def _queue(engine, content: bytes) -> int:
    spec = ImportSpec(entity=Entity.interactions, format="jsonl", source="killtest", batch_size=BATCH)
    with Session(engine) as session:
        upload = imports.save_upload("big.jsonl", content, session=session, created_by_id=None)
        job = imports.start_import(upload, spec, session=session, created_by_id=None)
        session.commit()
        return int(job.id or 0)


def _state(engine, job_id: int) -> tuple[str, int, int]:
    with engine.connect() as conn:
        job = conn.execute(select(Job.status, Job.progress).where(Job.id == job_id)).one()  # type: ignore[call-overload]
        rows = conn.execute(select(func.count()).select_from(Interaction)).scalar_one()
    return job.status, job.progress, rows


def _worker(database_url: str, tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CRM_DATABASE_URL": database_url, "CRM_DATA_DIR": str(tmp_path), "CRM_SECRET_KEY": "k" * 40,
           "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "crm.cli", "worker", "--once"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_killing_the_worker_mid_import_leaves_whole_batches_and_the_rerun_completes(engine, database_url, tmp_path):
    job_id = _queue(engine, _file(ROWS))
    worker = _worker(database_url, tmp_path)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            status, progress, _ = _state(engine, job_id)
            if progress >= 3 * BATCH:
                break
            assert worker.poll() is None, "the worker ended before it could be killed"
            time.sleep(0.02)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    status, progress, rows = _state(engine, job_id)
    assert status == "running"  # the dead worker could not say otherwise
    assert 0 < progress < ROWS
    assert progress % BATCH == 0
    # Nothing half-written: exactly the committed batches are there (a batch in flight is absent).
    assert rows == progress

    # Its heartbeat is old: the job is recovered and resumes after the last whole batch.
    assert jobs.recover_stale(engine, stale_seconds=0) == [job_id]
    assert jobs.run_job(engine, job_id) == "done"
    status, progress, rows = _state(engine, job_id)
    assert (status, progress, rows) == ("done", ROWS, ROWS)
    with Session(engine) as session:
        job = session.get(Job, job_id)
        assert job is not None and job.counts["created"] == ROWS and job.counts["rejected"] == 0
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Profile)).scalar_one() == 200
        assert conn.execute(select(func.count()).select_from(Identity)).scalar_one() == 200
        duplicates = conn.execute(
            select(Interaction.external_id).group_by(Interaction.source, Interaction.external_id).having(func.count() > 1)
        ).all()
    assert duplicates == []

    # The same file again, as a new job: nothing changes.
    again = _queue(engine, _file(ROWS))
    assert jobs.run_job(engine, again) == "done"
    assert _state(engine, again) == ("done", ROWS, ROWS)
    with Session(engine) as session:
        job = session.get(Job, again)
        assert job is not None and job.counts["created"] == 0 and job.counts["skipped"] == ROWS
