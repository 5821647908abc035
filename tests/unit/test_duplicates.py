"""Duplicate suggestions and the fast similar-name lookup (SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session

from crm.audit.service import SYSTEM
from crm.db import session_scope
from crm.merges import duplicates
from tests.factories import make_profile


def test_missing_accents_and_second_surname_find_the_person(engine: Engine) -> None:
    lucia = make_profile(engine, "Lucía Gómez Marín")
    lucas = make_profile(engine, "Lucas Gómez")  # one letter away from "Lucia": a weaker suggestion
    make_profile(engine, "Pedro Marín")
    make_profile(engine, "Gómez")
    with Session(engine) as s:
        found = duplicates.similar_profiles("Lucia Gomez", session=s)
        assert [m.profile_id for m in found] == [lucia.id, lucas.id]
        assert found[0].score == 100 and found[1].score < 100
        assert [m.profile_id for m in duplicates.similar_profiles("Lucia Gomez", session=s, exclude_id=lucia.id)] == [lucas.id]
        assert duplicates.similar_profiles("Lu", session=s) == []


def test_the_index_sees_new_and_renamed_people(engine: Engine) -> None:
    with Session(engine) as s:
        assert duplicates.similar_profiles("Maria Garcia", session=s) == []
    maria = make_profile(engine, "María García López")
    with Session(engine) as s:
        assert [m.profile_id for m in duplicates.similar_profiles("Maria Garcia", session=s)] == [maria.id]


def test_suggestions_give_reasons_and_can_be_dismissed(engine: Engine) -> None:
    a = make_profile(engine, "Lucía Gómez Marín", location="Madrid",
                     identities=[{"platform": "email", "handle": "lucia@example.com"},
                                 {"platform": "x", "handle": "luciagm"}])
    b = make_profile(engine, "Lucia Gomez", location="Sevilla",
                     identities=[{"platform": "github", "handle": "LuciaGM"},
                                 {"platform": "slack", "handle": "Lucia@Example.com"}])
    c = make_profile(engine, "Ana Ruiz", identities=[{"platform": "blog", "handle": "ana", "url": "https://www.ana.dev/"}])
    d = make_profile(engine, "Ana R.", identities=[{"platform": "other", "handle": "anar", "url": "http://ana.dev"}])
    make_profile(engine, "Someone Else")
    with Session(engine) as s:
        page = duplicates.suggestions(session=s)
    pairs = {(x.a.id, x.b.id): x for x in page.items}
    assert set(pairs) == {(a.id, b.id), (c.id, d.id)}
    lucia = pairs[(a.id, b.id)]
    assert lucia.reasons == [duplicates.REASON_EMAIL, duplicates.REASON_HANDLE, duplicates.REASON_NAME]
    assert lucia.score == 100 and lucia.a.location == "Madrid" and ("x", "luciagm") in lucia.a.handles
    assert pairs[(c.id, d.id)].reasons == [duplicates.REASON_URL]
    with session_scope(engine, write=True) as s:
        duplicates.dismiss(b.id or 0, a.id or 0, session=s, actor=SYSTEM)
        duplicates.dismiss(a.id or 0, b.id or 0, session=s, actor=SYSTEM)  # twice is once
    with Session(engine) as s:
        page = duplicates.suggestions(session=s)
    assert [(x.a.id, x.b.id) for x in page.items] == [(c.id, d.id)] and page.total == 1


def test_suggestions_are_paginated(engine: Engine) -> None:
    for n in range(7):
        make_profile(engine, f"Carmen Sanz {chr(65 + n)}")
    with Session(engine) as s:
        first = duplicates.suggestions(session=s, per_page=10)
        second = duplicates.suggestions(session=s, page=2, per_page=10)
    assert first.total == 21 and first.pages == 3 and len(first.items) == 10
    assert not {(x.a.id, x.b.id) for x in first.items} & {(x.a.id, x.b.id) for x in second.items}
