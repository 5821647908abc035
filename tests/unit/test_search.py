"""Segments: words, every filter and every sort of crm.profiles.search, on SQLite and PostgreSQL.

Each filter test has people on both sides of the filter, so it fails if the filter is dropped."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import text
from sqlmodel import Session

from crm.audit.service import SYSTEM
from crm.db import session_scope, utcnow
from crm.interactions.models import Interaction
from crm.profiles import service as profiles
from crm.profiles import stats
from crm.profiles.models import ProfilePatch
from crm.profiles.search import ListQuery, SortKey, SortOrder, list_profiles, matching_ids, quick_matches, search_terms
from tests.factories import make_profile, make_user


def names(engine, **params) -> list[str]:
    query = ListQuery(**params)
    with Session(engine) as session:
        listing = list_profiles(query, session=session)
        ids = list(session.exec(matching_ids(query)))
        shown = [row.profile.display_name for row in listing.rows]
        # matching_ids selects the same people as the list (every page)
        assert sorted(row.profile.id for row in listing.rows) == sorted(ids)
        assert listing.total == len(ids)
    return shown


def ident(platform: str, handle: str, followers: int = 0) -> dict:
    return {"platform": platform, "handle": handle, "followers": followers}


def interact(engine, profile_id: int, kind: str, days_ago: int) -> None:
    with session_scope(engine, write=True) as session:
        session.add(Interaction(profile_id=profile_id, kind=kind, occurred_at=utcnow() - timedelta(days=days_ago)))
        session.flush()
        stats.refresh([profile_id], session=session)


# ---- words ---------------------------------------------------------------------------------------------


def test_words_find_bio_topics_location_tags_and_accentless_names(engine):
    make_profile(engine, "Lucía Gómez Marín", bio="Talks about Kubernetes operators", location="Madrid, España",
                 topics=["cloud native"], tags=["speaker"], identities=[ident("x", "@lgomez")])
    make_profile(engine, "Bruno Díaz", bio="Python and data", location="Sevilla", topics=["python"])
    assert names(engine, q="kubernetes") == ["Lucía Gómez Marín"]
    assert names(engine, q="Madrid") == ["Lucía Gómez Marín"]
    assert names(engine, q="lucia gomez") == ["Lucía Gómez Marín"]
    assert names(engine, q="LUCÍA") == ["Lucía Gómez Marín"]
    assert names(engine, q="cloud native") == ["Lucía Gómez Marín"]
    assert names(engine, q="speaker") == ["Lucía Gómez Marín"]
    assert names(engine, q="@lgomez") == ["Lucía Gómez Marín"]
    assert names(engine, q="sevilla python") == ["Bruno Díaz"]
    assert names(engine, q="sevilla kubernetes") == []  # every word must match


def test_short_terms_use_the_fallback_and_wildcards_are_literal(engine):
    make_profile(engine, "Ana Li", bio="100% remote")
    make_profile(engine, "Bruno_x")
    make_profile(engine, "Carla")
    assert names(engine, q="li") == ["Ana Li"]
    assert names(engine, q="%") == ["Ana Li"]
    assert names(engine, q="_") == ["Bruno_x"]
    assert names(engine, q='"ana') == []  # quotes cannot break the FTS query
    assert names(engine, q="an li") == ["Ana Li"]


def test_search_terms_are_folded_and_bounded():
    assert search_terms("  Lucía  @GÓMEZ lucía ") == ["lucia", "gomez"]
    assert len(search_terms("a b c d e f g h")) == 5


def test_the_search_index_follows_insert_update_and_delete(engine):
    ana = make_profile(engine, "Ana López", bio="kubernetes")
    assert names(engine, q="kubernetes") == ["Ana López"]
    with session_scope(engine, write=True) as session:
        profiles.update_profile(ana.id, ProfilePatch.model_validate({"bio": "terraform"}), session=session, actor=SYSTEM)
    assert names(engine, q="kubernetes") == []
    assert names(engine, q="terraform") == ["Ana López"]
    with session_scope(engine, write=True) as session:
        profiles.delete_profile(ana.id, session=session, actor=SYSTEM)
    assert names(engine, q="terraform") == []
    make_profile(engine, "Bruno", bio="terraform")
    assert names(engine, q="terraform") == ["Bruno"]
    if engine.dialect.name == "sqlite":  # the FTS index agrees with its content table
        with engine.connect() as conn:
            conn.execute(text("INSERT INTO profile_fts (profile_fts) VALUES ('integrity-check')"))
            assert conn.execute(text("SELECT count(*) FROM profile_fts WHERE profile_fts MATCH '\"terraform\"'")).scalar() == 1


def test_the_index_exists_on_each_backend(engine):
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            plan = " ".join(str(r) for r in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT rowid FROM profile_fts WHERE profile_fts MATCH '\"abc\"'"))
            assert "VIRTUAL TABLE INDEX" in plan
        else:
            found = conn.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_profile_search_text_trgm'").scalar()
            assert found and "gin_trgm_ops" in found


# ---- filters -------------------------------------------------------------------------------------------


def test_role_status_topic_tag_language_location(engine):
    make_profile(engine, "Ana", roles=["moderator"], status="active", topics=["python"], tags=["vip"],
                 language="es", location="Madrid, España")
    make_profile(engine, "Bea", roles=["influencer"], status="prospect", topics=["rust"], tags=["press"],
                 language="en", location="London")
    make_profile(engine, "Cris", roles=["moderator"], status="active", topics=["python_tools"], language="es-MX",
                 location="Ciudad de México")
    assert names(engine, role="moderator") == ["Ana", "Cris"]
    assert names(engine, status="prospect") == ["Bea"]
    assert names(engine, topic="python") == ["Ana"]
    assert names(engine, tag="press") == ["Bea"]
    assert names(engine, tag="VIP") == ["Ana"]
    assert names(engine, language="es") == ["Ana", "Cris"]
    assert names(engine, language="es-mx") == ["Cris"]
    assert names(engine, location="madrid") == ["Ana"]
    assert names(engine, location="ESPAÑA") == ["Ana"]
    assert names(engine, location="lon") == ["Bea"]
    assert names(engine, role="moderator", language="es", topic="python") == ["Ana"]


def test_reach_and_followers_per_platform(engine):
    make_profile(engine, "Ana", identities=[ident("x", "ana", 5000), ident("youtube", "anatube", 200)])
    make_profile(engine, "Bea", identities=[ident("youtube", "bea", 3000)])
    make_profile(engine, "Cris", identities=[ident("github", "cris", 10)])
    make_profile(engine, "Dani")
    assert names(engine, reach_min=3000) == ["Ana", "Bea"]
    assert names(engine, reach_max=3000) == ["Bea", "Cris", "Dani"]
    assert names(engine, reach_min=100, reach_max=3100) == ["Bea"]
    assert names(engine, platform="youtube") == ["Ana", "Bea"]
    assert names(engine, platform="youtube", followers_min=1000) == ["Bea"]
    assert names(engine, platform="x", followers_min=1000) == ["Ana"]
    assert names(engine, followers_min=2000) == ["Ana", "Bea"]  # on any one identity
    assert names(engine, followers_max=50) == ["Cris"]
    with pytest.raises(ValidationError):
        ListQuery(reach_min=10, reach_max=5)


def test_consent_team_and_owner(engine):
    mona = make_user(engine, "mona@example.com", name="Mona")
    make_profile(engine, "Ana", may_contact=True, may_feature=False, is_team_member=True, owner_id=mona.id)
    make_profile(engine, "Bea", may_contact=False, may_feature=True)
    assert names(engine, may_contact=True) == ["Ana"]
    assert names(engine, may_contact=False) == ["Bea"]
    assert names(engine, may_feature=True) == ["Bea"]
    assert names(engine, team="yes") == ["Ana"]
    assert names(engine, team="no") == ["Bea"]
    assert names(engine, owner=str(mona.id)) == ["Ana"]
    assert names(engine, owner="none") == ["Bea"]
    with pytest.raises(ValidationError):
        ListQuery(owner="mona")


def test_did_and_did_not_do_a_kind_in_the_last_days(engine):
    ana, bea, cris = make_profile(engine, "Ana"), make_profile(engine, "Bea"), make_profile(engine, "Cris")
    interact(engine, ana.id, "post", 10)
    interact(engine, bea.id, "post", 90)
    interact(engine, cris.id, "note", 1)  # what we wrote about them is not their activity
    assert names(engine, kind="post", days=30) == ["Ana"]
    assert names(engine, kind="post", days=120) == ["Ana", "Bea"]
    assert names(engine, kind="post", days=60, activity="did_not") == ["Bea", "Cris"]
    assert names(engine, kind="any", days=30) == ["Ana"]
    assert names(engine, kind="contribution", days=30, activity="did_not") == ["Bea", "Cris"]
    assert names(engine, kind="note", days=30) == ["Cris"]
    with pytest.raises(ValidationError):
        ListQuery(kind="dance")


# ---- sorts ---------------------------------------------------------------------------------------------


@pytest.fixture
def three(engine):
    ana = make_profile(engine, "ana", status="prospect", language="fr", identities=[ident("x", "a1", 50)])
    bea = make_profile(engine, "Bea", status="active", language="es", identities=[ident("x", "b1", 500)])
    cris = make_profile(engine, "Cris", status="inactive", language="en", identities=[ident("x", "c1", 5)])
    interact(engine, bea.id, "post", 30)
    interact(engine, bea.id, "review", 20)
    interact(engine, cris.id, "post", 2)
    # distinct creation and update order: Cris was created last but Ana edited last
    with session_scope(engine, write=True) as session:
        profiles.update_profile(ana.id, ProfilePatch.model_validate({"bio": "x"}), session=session, actor=SYSTEM)
    return ana, bea, cris


@pytest.mark.parametrize(("sort", "ascending"), [
    ("name", ["ana", "Bea", "Cris"]),
    ("reach", ["Cris", "ana", "Bea"]),
    ("contributions", ["ana", "Cris", "Bea"]),
    ("last_activity", ["Bea", "Cris", "ana"]),  # never active: last
    ("status", ["Bea", "Cris", "ana"]),
    ("language", ["Cris", "Bea", "ana"]),
    ("created", ["ana", "Bea", "Cris"]),
])
def test_every_sort_both_ways(engine, three, sort, ascending):
    assert names(engine, sort=sort) == ascending
    descending = names(engine, sort=sort, order="desc")
    if sort == "last_activity":
        assert descending == ["Cris", "Bea", "ana"]  # nulls last in both directions
    else:
        assert descending == ascending[::-1]


def test_sort_by_updated(engine, three):
    assert names(engine, sort="updated", order="desc")[0] == "ana"


def test_quick_matches_best_reach_first(engine):
    make_profile(engine, "Marta Small", identities=[ident("x", "ms", 5)])
    make_profile(engine, "Marta Big", identities=[ident("x", "mb", 5000)])
    make_profile(engine, "Other")
    with Session(engine) as session:
        assert [m.display_name for m in quick_matches("marta", session=session)] == ["Marta Big", "Marta Small"]
        assert quick_matches("   ", session=session) == []


def test_a_saved_view_round_trips_through_model_dump(engine):
    params = ListQuery(q="x", role="moderator", language="es", followers_min=1000, kind="post", days=60,
                       activity="did_not", sort="last_activity", order="desc", cols="language,last_activity")
    stored = params.model_dump(mode="json", exclude_defaults=True)
    assert ListQuery.model_validate(stored) == params
    assert ListQuery.model_validate(stored).columns == ("language", "last_activity")
    assert ListQuery().columns[:2] == ("roles", "identities")
    with pytest.raises(ValidationError):
        ListQuery(cols="name,secret")



def test_names_sort_with_accents_where_a_reader_expects_them(engine):
    """"Álvaro" sorts with the A's and "Óscar" with the O's, not after "Zoe"; case does not matter."""
    for name in ("Zoe Nguyen", "Óscar Cruz", "álvaro Nieto", "Alberto Ruiz", "Íñigo Gómez", "ines Calvo", "Bruno Díaz"):
        make_profile(engine, name)
    with Session(engine) as session:
        ascending = [r.profile.display_name for r in list_profiles(ListQuery(sort=SortKey.name), session=session).rows]
        descending = [r.profile.display_name for r in
                      list_profiles(ListQuery(sort=SortKey.name, order=SortOrder.desc), session=session).rows]
    assert ascending == ["Alberto Ruiz", "álvaro Nieto", "Bruno Díaz", "ines Calvo", "Íñigo Gómez", "Óscar Cruz", "Zoe Nguyen"]
    assert descending == ascending[::-1]
