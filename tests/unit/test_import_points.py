"""Importing contributions grants points once: the same file imported twice grants nothing the second
time, and a row changed in create-and-update mode loses its old points and earns for what it now is."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlmodel import Session

from crm.db import session_scope
from crm.imports import service as imports
from crm.imports.importer import ImportSpec
from crm.imports.rows import Entity, Mode, suggest_mapping
from crm.jobs import service as jobs
from crm.recognition.models import PointEntry

HEADERS = ["external_id", "person_platform", "person_handle", "kind", "occurred_at", "url"]
ROWS = """e1,x,ana_dev,talk,2026-03-02T10:00:00Z,https://example.com/1
e2,x,ana_dev,post,2026-03-03T10:00:00Z,https://example.com/2
e3,x,beatube,forum_answer,2026-03-04T10:00:00Z,
e4,x,beatube,note,2026-03-04T11:00:00Z,
"""


def _run(engine, content: str, tmp_path: Path, mode: Mode = Mode.skip_existing) -> None:
    path = tmp_path / "contributions.csv"
    path.write_text(",".join(HEADERS) + "\n" + content)  # a real file, read back as an upload would be
    with Session(engine) as session:
        upload = imports.save_upload(path.name, path.read_bytes(), session=session, created_by_id=None)
        spec = ImportSpec(entity=Entity.interactions, format="csv", source="sheet",
                          mapping=suggest_mapping(Entity.interactions, HEADERS), mode=mode)
        job_id = int(imports.start_import(upload, spec, session=session, created_by_id=None).id or 0)
        session.commit()
    assert jobs.run_job(engine, job_id) == "done"


def _ledger(engine):
    with session_scope(engine) as s:
        return sorted((kind, amount) for kind, amount in s.execute(select(PointEntry.kind, PointEntry.amount)))


def test_the_same_file_twice_grants_once_and_an_updated_row_moves_its_points(engine, tmp_path):
    _run(engine, ROWS, tmp_path)
    first = _ledger(engine)
    assert first == [("earned", 5), ("earned", 10), ("earned", 40)]  # talk, post, forum answer; a note earns nothing
    _run(engine, ROWS, tmp_path)
    _run(engine, ROWS, tmp_path, mode=Mode.create_update)
    assert _ledger(engine) == first
    _run(engine, ROWS.replace("e1,x,ana_dev,talk", "e1,x,ana_dev,post"), tmp_path, mode=Mode.create_update)
    assert _ledger(engine) == sorted([*first, ("reversal", -40), ("earned", 5)])
    with session_scope(engine) as s:
        assert s.execute(select(func.sum(PointEntry.amount))).scalar_one() == 20


def test_imported_and_logged_contributions_earn_automatic_badges(engine, tmp_path):
    from crm.audit.service import SYSTEM
    from crm.interactions import log
    from crm.interactions.models import InteractionIn
    from crm.recognition import badges
    from crm.recognition.models import BadgeAward
    from tests.factories import make_profile

    with session_scope(engine, write=True) as s:
        speaker = badges.create_badge(badges.BadgeIn(name="Speaker", criteria=badges.BadgeCriteria(kind="talk", count=1)),
                                      session=s, actor=SYSTEM)
        speaker_id = speaker.badge.id
    _run(engine, ROWS, tmp_path)  # ana_dev gave a talk
    other = make_profile(engine, "Carla").id
    with session_scope(engine, write=True) as s:
        log.log_interaction(other, InteractionIn(kind="talk", title="Meetup"), session=s, actor=SYSTEM)
        log.log_interaction(other, InteractionIn(kind="talk", title="Meetup again"), session=s, actor=SYSTEM)
    with session_scope(engine) as s:
        holders = s.execute(select(BadgeAward.profile_id).where(BadgeAward.badge_id == speaker_id)).scalars().all()
    assert len(holders) == 2 and other in holders  # once each, however many talks
