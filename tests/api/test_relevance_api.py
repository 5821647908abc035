"""Relevance to topics and keywords (crm.ranking.relevance) through the API, on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crm.db import session_scope, utcnow
from crm.interactions.models import Interaction
from crm.ranking import service
from tests.factories import make_profile


@pytest.fixture
def people(engine):
    ids = {
        "Ana": make_profile(engine, "Ana", topics=["kubernetes", "go"], bio="Cluster wrangler").id,
        "Bea": make_profile(engine, "Bea", topics=["kubernetes"], bio="Writes about Diseño of APIs").id,
        "Cris": make_profile(engine, "Cris", topics=["cooking"], bio="Nothing related").id,
        "Dani": make_profile(engine, "Dani", topics=["kubernetes", "go"], is_team_member=True).id,
        "Eli": make_profile(engine, "Eli", topics=["python"]).id,
    }
    with session_scope(engine, write=True) as session:
        session.add(Interaction(profile_id=ids["Eli"], kind="post", title="Helm charts for go services",
                                occurred_at=utcnow() - timedelta(days=3)))
        session.add(Interaction(profile_id=ids["Cris"], kind="post", title="helm tips",
                                occurred_at=utcnow() - timedelta(days=900)))  # too old
    service.recompute(engine)
    return ids


def test_people_are_ordered_by_relevance_with_what_matched(viewer_client, people):
    response = viewer_client.get("/api/v1/ranking/relevance", params={"topics": "Kubernetes,go", "keywords": "helm"})
    assert response.status_code == 200, response.text
    rows = response.json()
    by_name = {row["name"]: row for row in rows}
    assert [row["name"] for row in rows] == ["Ana", "Eli", "Bea"]  # no team member, nobody unrelated
    assert by_name["Ana"]["relevance"] == pytest.approx(0.6) and by_name["Ana"]["topics"] == ["kubernetes", "go"]
    assert by_name["Bea"]["relevance"] == pytest.approx(0.3)
    assert by_name["Eli"]["relevance"] == pytest.approx(0.4)  # the keyword in a recent post (Cris's is too old)
    assert by_name["Eli"]["keywords"] == ["helm"] and by_name["Eli"]["topics"] == []


def test_keywords_ignore_accents_and_the_team_can_be_included(viewer_client, people):
    rows = viewer_client.get("/api/v1/ranking/relevance", params={"keywords": "diseno"}).json()
    assert [row["name"] for row in rows] == ["Bea"] and rows[0]["relevance"] == 1.0
    rows = viewer_client.get("/api/v1/ranking/relevance",
                             params={"topics": "go", "include_team": "true"}).json()
    assert {row["name"] for row in rows} == {"Ana", "Dani"}


def test_bad_queries_are_422_with_json(viewer_client, people):
    nothing = viewer_client.get("/api/v1/ranking/relevance")
    assert nothing.status_code == 200 and nothing.json() == []  # nothing asked, nobody found
    bad = viewer_client.get("/api/v1/ranking/relevance", params={"topics": "x", "limit": 0})
    assert bad.status_code == 422 and "detail" in bad.json()
    assert viewer_client.get("/api/v1/ranking/relevance", params={"topics": "x", "days": 99999}).status_code == 422
