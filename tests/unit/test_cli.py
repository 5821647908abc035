"""The `crm` command, run in-process with Typer's runner against a real SQLite data dir."""

from __future__ import annotations

import re
import warnings
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from crm.accounts.models import ApiToken, User, UserSession
from crm.audit.actions import AuditAction
from crm.audit.models import AuditEvent
from crm.cli import DEMO_ADMIN, app
from crm.db import make_engine, utcnow
from crm.profiles.models import Profile
from crm.ranking.models import ScoreRun
from crm.security import new_token, token_digest, verify_password

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CRM_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env is read
    return tmp_path


def _engine(data_dir):
    return make_engine(f"sqlite:///{data_dir / 'altavoz.db'}")


def test_db_status_says_what_to_do_then_upgrade_fixes_it(data_dir):
    result = runner.invoke(app, ["db", "status"])
    assert result.exit_code == 1 and "crm db upgrade" in result.output
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["db", "status"]).exit_code == 0


def test_serve_refuses_an_old_schema_with_a_clear_message(data_dir):
    result = runner.invoke(app, ["serve"])
    assert result.exit_code == 1
    assert "Run `crm db upgrade`" in result.output


def test_createuser_asks_for_the_password_and_validates(data_dir):
    runner.invoke(app, ["db", "upgrade"])
    result = runner.invoke(app, ["createuser", "ana@example.com", "--role", "admin"], input="a good password\na good password\n")
    assert result.exit_code == 0, result.output
    with Session(_engine(data_dir)) as session:
        user = session.exec(select(User)).one()
        assert user.role == "admin" and verify_password("a good password", user.password_hash)
        created = session.exec(select(AuditEvent).where(AuditEvent.action == AuditAction.user_create)).one()
        assert (created.object_id, created.actor_id, created.subject) == (user.id, None, "system")
    again = runner.invoke(app, ["createuser", "ANA@example.com"], input="a good password\na good password\n")
    assert again.exit_code == 2 and "already exists" in again.output
    short = runner.invoke(app, ["createuser", "b@example.com"], input="short\nshort\n")
    assert short.exit_code == 2 and "password" in short.output


def test_seed_loads_once(data_dir):
    runner.invoke(app, ["db", "upgrade"])
    result = runner.invoke(app, ["seed"])
    assert result.exit_code == 0, result.output
    assert re.search(r"Loaded 300 people, \d+ identities", result.output)
    again = runner.invoke(app, ["seed"])
    assert again.exit_code == 2 and "already has 300 profiles" in again.output


def test_rank_recomputes_scores_with_optional_history(data_dir):
    runner.invoke(app, ["db", "upgrade"])
    assert runner.invoke(app, ["seed"]).exit_code == 0
    result = runner.invoke(app, ["rank"])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())  # rich wraps long lines
    assert re.search(r"Scored 300 people from [\d,]+ contributions and [\d,]+ connections with weights version 1", said)
    with Session(_engine(data_dir)) as session:
        assert len(session.exec(select(ScoreRun)).all()) == 7 + 1  # the seed's six months of history, and now
        ranks = sorted(p.score_rank for p in session.exec(select(Profile)).all() if p.score_rank)
        assert ranks == list(range(1, len(ranks) + 1)) and len(ranks) > 250
    assert runner.invoke(app, ["rank", "--backfill", "2"]).exit_code == 0
    with Session(_engine(data_dir)) as session:
        # Three more runs; those of one and two months ago replace the seed's runs of the same days (one per day).
        assert len(session.exec(select(ScoreRun)).all()) == 8 + 3 - 2
    assert runner.invoke(app, ["rank", "--backfill", "99"]).exit_code == 2  # refused, not run


def test_demo_prepares_everything_and_prints_working_credentials(data_dir):
    result = runner.invoke(app, ["demo", "--no-serve", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8123/" in result.output
    password = re.search(r"password: (\S+)", result.output).group(1)
    with Session(_engine(data_dir)) as session:
        assert len(session.exec(select(Profile)).all()) == 300
        admin = session.exec(select(User).where(User.email == DEMO_ADMIN)).one()
        assert admin.role == "admin" and verify_password(password, admin.password_hash)
    # Scores are computed with six months of history, so leaderboards and trends are there at once.
    assert "Scored 300 people" in result.output
    with Session(_engine(data_dir)) as session:
        runs = session.exec(select(ScoreRun).order_by(ScoreRun.as_of)).all()
        assert len(runs) == 7 and all(r.status == "done" for r in runs)
        assert (runs[-1].as_of - runs[0].as_of).days >= 179
        ranked = session.exec(select(Profile).where(Profile.score_rank == 1)).one()
        assert ranked.score > 0 and ranked.level in (1, 2, 3, 4)
    # A second run keeps the data and prints a new password that works.
    second = runner.invoke(app, ["demo", "--no-serve"])
    new_password = re.search(r"password: (\S+)", second.output).group(1)
    assert new_password != password
    with Session(_engine(data_dir)) as session:
        assert len(session.exec(select(Profile)).all()) == 300
        admin = session.exec(select(User).where(User.email == DEMO_ADMIN)).one()
        assert verify_password(new_password, admin.password_hash)


def _sign_in_and_make_a_token(data_dir, user_id: int) -> None:
    now = utcnow()
    with Session(_engine(data_dir)) as session:
        session.add(UserSession(token_hash=token_digest(new_token()), user_id=user_id, created_at=now, last_seen_at=now,
                                expires_at=now + timedelta(days=1)))
        session.add(ApiToken(user_id=user_id, name="script", token_hash=token_digest(new_token())))
        session.commit()


def test_demo_resets_the_admin_password_through_the_audited_service(data_dir):
    """Running the demo again resets the admin's password like an admin would: audited, and
    whoever held the old password loses their sessions and API tokens."""
    assert runner.invoke(app, ["demo", "--no-serve"]).exit_code == 0
    with Session(_engine(data_dir)) as session:
        admin_id = session.exec(select(User.id).where(User.email == DEMO_ADMIN)).one()
        assert session.exec(select(AuditEvent).where(AuditEvent.action == AuditAction.user_password)).all() == []
    _sign_in_and_make_a_token(data_dir, admin_id)
    second = runner.invoke(app, ["demo", "--no-serve"])
    assert second.exit_code == 0, second.output
    with Session(_engine(data_dir)) as session:
        resets = session.exec(select(AuditEvent).where(AuditEvent.action == AuditAction.user_password)).all()
        assert [(e.object_type, e.object_id, e.actor_id, e.subject) for e in resets] == [("user", admin_id, None, "system")]
        assert all(s.revoked_at is not None for s in session.exec(select(UserSession)))
        assert all(t.revoked_at is not None for t in session.exec(select(ApiToken)))
    third = runner.invoke(app, ["demo", "--no-serve"])
    assert third.exit_code == 0, third.output
    with Session(_engine(data_dir)) as session:
        assert len(session.exec(select(AuditEvent).where(AuditEvent.action == AuditAction.user_password)).all()) == 2


def test_demo_prepares_a_fresh_database_without_any_warning(data_dir):
    """`crm demo` on a new data dir (migrations, seed, admin) prints no warning on the console.
    Every warning is recorded here, whatever pytest's own filters say."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = runner.invoke(app, ["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    assert [f"{w.category.__name__}: {w.message}" for w in caught] == []
    assert "warning" not in result.output.lower()


def test_serve_with_workers_answers_on_the_port(data_dir):
    """A real server in a subprocess: two workers, the import-string app, settings from the env."""
    import os
    import subprocess
    import sys
    import time

    import httpx2 as httpx

    from tests.pg_server import free_port

    runner.invoke(app, ["db", "upgrade"])
    port = free_port()
    import crm

    code_root = str(Path(crm.__file__).resolve().parents[1])  # the same crm these tests import
    env = {**os.environ, "CRM_DATA_DIR": str(data_dir), "CRM_SECRET_KEY": "k" * 40,
           "PYTHONPATH": os.pathsep.join(filter(None, [code_root, os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen([sys.executable, "-m", "crm.cli", "serve", "--port", str(port), "--workers", "2"],
                            env=env, cwd=data_dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/login", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        assert response.status_code == 200
        assert "Sign in to Altavoz" in response.text
    finally:
        proc.terminate()
        proc.wait(timeout=15)
