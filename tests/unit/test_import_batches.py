"""The bulk interaction path: validation over whole batches gives the same answers as row by row,
people are found and created per batch, rows go in with INSERT ... ON CONFLICT DO NOTHING (stored
exactly as SQLAlchemy stores them), and stats and derived edges are right after many batches."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select
from sqlmodel import Session

from crm.imports import service as imports
from crm.imports.importer import ImportSpec
from crm.imports.reader import parse_jsonl
from crm.imports.rows import Entity, Mode, RowError, interaction_row, interaction_rows
from crm.interactions.models import Interaction, Relationship
from crm.jobs import service as jobs
from crm.jobs.models import Job
from crm.profiles.models import Identity, Profile
from tests.factories import make_profile

GOOD = {"external_id": "1", "person_platform": "github", "person_handle": "ana", "kind": "post",
        "occurred_at": "2026-03-04T10:00:00+01:00"}
BAD: list[dict[str, Any]] = [
    {**GOOD, "kind": "tweetstorm"},
    {**GOOD, "reach": "-5"},
    {**GOOD, "reach": "12,500", "engagements": "many"},
    {**GOOD, "url": "ftp://example.org/x"},
    {**GOOD, "sentiment": "2"},
    {**GOOD, "title": "t" * 301},
    {**GOOD, "body": "nul \x00 inside"},
    {**GOOD, "occurred_at": "yesterday"},
    {**GOOD, "person_platform": "myspace"},
    {**GOOD, "person_platform": ""},
    {k: v for k, v in GOOD.items() if k != "kind"},
    {**GOOD, "counterpart_platform": "x"},
]


def test_batch_validation_answers_exactly_as_row_by_row():
    records = [(n + 2, dict(data)) for n, data in enumerate([GOOD, *BAD, {**GOOD, "external_id": "2", "reach": "1 200"}])]
    one_by_one: dict[int, str] = {}
    for line, data in records:
        try:
            interaction_row(line, data, "src")
        except RowError as exc:
            one_by_one[line] = str(exc)
    rows, errors = interaction_rows(records, "src")
    assert {line: reason for line, _data, reason in errors} == one_by_one
    assert [line for line, _d, _r in errors] == sorted(one_by_one) and len(one_by_one) == len(BAD)
    assert [r.line for r in rows] == [2, len(records) + 1]
    assert rows[1].values["reach"] == 1200 and rows[0].values["occurred_at"] == datetime(2026, 3, 4, 9, tzinfo=UTC)
    assert all(data is dict(records)[line] for line, data, _ in errors)  # the record as read, for the report


def test_jsonl_lines_are_read_as_before():
    text = '{"a": 1}\n\n  {"a": 2}  \n{"a": 3} {"a": 4}\n[1, 2]\n{"a": tru}\n"text"\n{"a": 1' + "9" * 5000 + "}\n"
    parsed = parse_jsonl(text)
    assert parsed.records == [(1, {"a": 1}), (3, {"a": 2})]
    problems = {line: reason for line, reason, _raw in parsed.problems}
    assert set(problems) == {4, 5, 6, 7, 8}
    assert problems[4].startswith("Not valid JSON (Extra data")
    assert problems[5] == problems[7] == "Each line must be a JSON object."
    assert problems[6].startswith("Not valid JSON (Expecting value")
    assert problems[8] == "A number in this line is far too long."


def _run(engine: Engine, lines: list[dict[str, Any]], **spec: Any) -> Job:
    content = "\n".join(json.dumps(line) for line in lines).encode()
    with Session(engine) as session:
        upload = imports.save_upload("x.jsonl", content, session=session, created_by_id=None)
        options = {"entity": Entity.interactions, "format": "jsonl", "source": "t", **spec}
        job_id = int(imports.start_import(upload, ImportSpec(**options), session=session, created_by_id=None).id or 0)
        session.commit()
    jobs.run_job(engine, job_id)
    with Session(engine) as session:
        job = session.get(Job, job_id)
        assert job is not None
        session.expunge(job)
        return job


def _line(n: int, **extra: Any) -> dict[str, Any]:
    return {"external_id": f"e{n}", "person_platform": "github", "person_handle": f"dev{n % 7}", "kind": "reply",
            "occurred_at": (datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=n)).isoformat(), **extra}


def test_many_small_batches_leave_right_stats_edges_and_people(engine):
    lines = [_line(n, counterpart_platform="github", counterpart_handle=f"DEV{(n + 1) % 7}") for n in range(70)]
    lines.append(_line(70, person_platform="", person_handle="", person_key="nobody"))  # key only, no name
    job = _run(engine, lines, batch_size=8)
    assert job.status == "done" and job.counts["created"] == 70 and job.counts["people_created"] == 7
    assert job.counts["rejected"] == 1 and job.progress == 71
    with Session(engine) as session:
        people = {i.handle_key: i.profile_id for i in session.exec(select(Identity)).scalars()}  # type: ignore[call-overload]
        assert len(people) == 7 and len(set(people.values())) == 7  # each created once, whatever the batch
        for profile in session.exec(select(Profile)).scalars():  # type: ignore[call-overload]
            assert profile.contribution_count == 10
            assert profile.search_text.startswith("dev")
        edges = {(e.source_id, e.target_id): e for e in session.exec(select(Relationship)).scalars()}  # type: ignore[call-overload]
    assert set(edges) == {(people[f"dev{k}"], people[f"dev{(k + 1) % 7}"]) for k in range(7)}
    last = max(datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=n) for n in range(70) if n % 7 == 0)
    assert edges[(people["dev0"], people["dev1"])].last_seen == last
    assert {e.kind for e in edges.values()} == {"replies_to"}


def test_a_new_person_named_by_key_and_name_gets_the_key(engine):
    lines = [_line(1, person_platform="", person_handle="", person_key="k-1", person_name="Kim"),
             _line(2, person_platform="", person_handle="", person_key="k-1")]
    job = _run(engine, lines)
    assert job.counts["created"] == 2 and job.counts["people_created"] == 1
    with Session(engine) as session:
        profile = session.exec(select(Profile)).scalars().one()  # type: ignore[call-overload]
        assert profile.display_name == "Kim"


def test_update_and_create_only_modes_still_compare_with_what_is_stored(engine):
    _run(engine, [_line(1, title="Old"), _line(2)])
    updated = _run(engine, [_line(1, title="New"), _line(2), _line(3)], mode=Mode.create_update)
    assert (updated.counts["created"], updated.counts["updated"], updated.counts["skipped"]) == (1, 1, 1)
    refused = _run(engine, [_line(1), _line(4)], mode=Mode.create_only)
    assert (refused.counts["created"], refused.counts["rejected"]) == (1, 1)
    with Session(engine) as session:
        titles = {i.external_id: i.title for i in session.exec(select(Interaction)).scalars()}  # type: ignore[call-overload]
    assert titles == {"e1": "New", "e2": "", "e3": "", "e4": ""}


def test_a_row_already_there_is_skipped_and_the_rest_of_its_batch_imported(engine):
    _run(engine, [_line(1), _line(3)])
    job = _run(engine, [_line(n) for n in range(5)])
    assert (job.counts["created"], job.counts["skipped"]) == (3, 2)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Interaction)).scalar_one() == 5


@pytest.mark.parametrize("when", [
    datetime(2026, 3, 4, 10, 0, tzinfo=UTC),
    datetime(2026, 3, 4, 10, 0, 0, 123456, tzinfo=timezone(timedelta(hours=-5))),
    datetime(1900, 1, 2, 3, 4, 5, tzinfo=UTC),  # the earliest year accepted
])
def test_times_are_stored_exactly_as_sqlalchemy_stores_them(engine, when):
    """The SQLite path hands the driver text; it must be the text SQLAlchemy itself writes."""
    _run(engine, [_line(1, occurred_at=when.isoformat())])
    owner = make_profile(engine, "Ref")
    with engine.begin() as conn:
        conn.execute(insert(Interaction), {"profile_id": owner.id, "kind": "post", "occurred_at": when, "source": "ref",
                                           "external_id": "ref", "created_at": when})
    with engine.connect() as conn:
        stored = dict(conn.exec_driver_sql(
            "SELECT source, CAST(occurred_at AS TEXT) || '|' || CAST(created_at AS TEXT) FROM interaction").all())
        assert stored["t"] == stored["ref"]
        read = conn.execute(select(Interaction.occurred_at).where(Interaction.source == "t")).scalar_one()  # type: ignore[call-overload]
    assert read == when
