"""JSON API for interactions and relationships: the same services as the pages, 4xx JSON for bad input."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from crm.audit.models import AuditEvent
from crm.interactions.models import Relationship
from tests.factories import make_profile


def test_create_get_list_patch_delete_an_interaction(manager_client, engine):
    ana = make_profile(engine, "Ana López", may_contact=True)
    bruno = make_profile(engine, "Bruno Díaz")
    created = manager_client.post(f"/api/v1/profiles/{ana.id}/interactions", json={
        "kind": "reply", "channel": "discourse", "title": "Re: WAL", "occurred_at": "2026-03-01T10:00:00+01:00",
        "reach": 1200, "engagements": 7, "sentiment": 0.6, "counterpart_id": bruno.id, "url": "https://forum.example/t/1"})
    assert created.status_code == 201, created.text
    data = created.json()
    assert created.headers["location"] == f"/api/v1/interactions/{data['id']}"
    assert data["occurred_at"] == "2026-03-01T09:00:00Z" and data["created_by_id"] is not None
    assert data["profile_id"] == ana.id and data["source"] == "manual"
    assert manager_client.get(f"/api/v1/interactions/{data['id']}").json() == data
    with Session(engine) as session:
        edge = session.exec(select(Relationship)).one()
        assert (edge.source_id, edge.target_id, edge.kind) == (ana.id, bruno.id, "replies_to")
    manager_client.post(f"/api/v1/profiles/{ana.id}/interactions", json={"kind": "note", "occurred_at": "2026-02-01T00:00:00Z"})
    manager_client.post(f"/api/v1/profiles/{ana.id}/interactions", json={"kind": "post", "channel": "x"})
    listing = manager_client.get(f"/api/v1/profiles/{ana.id}/interactions").json()
    assert listing["total"] == 3 and [i["kind"] for i in listing["items"]] == ["post", "reply", "note"]
    replies = manager_client.get(f"/api/v1/profiles/{ana.id}/interactions?kind=reply").json()["items"]
    assert [i["kind"] for i in replies] == ["reply"]
    assert manager_client.get(f"/api/v1/profiles/{ana.id}/interactions?channel=x").json()["total"] == 1
    window = manager_client.get(f"/api/v1/profiles/{ana.id}/interactions?since=2026-01-15&until=2026-03-01").json()
    assert [i["kind"] for i in window["items"]] == ["reply", "note"]
    paged = manager_client.get(f"/api/v1/profiles/{ana.id}/interactions?per_page=2&page=2").json()
    assert paged["pages"] == 2 and [i["kind"] for i in paged["items"]] == ["note"]

    patched = manager_client.patch(f"/api/v1/interactions/{data['id']}", json={"title": "Changed", "counterpart_id": None})
    assert patched.status_code == 200 and patched.json()["title"] == "Changed" and patched.json()["counterpart_id"] is None
    assert patched.json()["reach"] == 1200  # untouched
    with Session(engine) as session:
        assert session.exec(select(Relationship)).all() == []  # the derived edge followed
    assert manager_client.delete(f"/api/v1/interactions/{data['id']}").status_code == 204
    assert manager_client.get(f"/api/v1/interactions/{data['id']}").status_code == 404
    with Session(engine) as session:
        actions = [e.action for e in session.exec(select(AuditEvent).where(AuditEvent.object_id == ana.id)).all()]
    assert actions.count("interaction.create") == 3 and "interaction.update" in actions and "interaction.delete" in actions


def test_bad_input_is_a_422_json_naming_the_field(manager_client, engine):
    ana = make_profile(engine, "Ana López")
    url = f"/api/v1/profiles/{ana.id}/interactions"
    cases = [
        ({"kind": "nope"}, "kind"),
        ({"kind": "post", "reach": -1}, "reach"),
        ({"kind": "post", "sentiment": 2}, "sentiment"),
        ({"kind": "post", "occurred_at": "2026-03-01T10:00:00"}, "occurred_at"),  # no time zone
        ({"kind": "post", "url": "javascript:alert(1)"}, "url"),
        ({"kind": "post", "id": 5}, "id"),  # server-owned
        ({"kind": "post", "created_by_id": 5}, "created_by_id"),
        ({"kind": "post", "counterpart_id": 0}, "counterpart_id"),
    ]
    for body, field in cases:
        response = manager_client.post(url, json=body)
        assert response.status_code == 422, body
        assert field in str(response.json()["errors"]), (body, response.json())
    missing = manager_client.post(url, json={"kind": "post", "counterpart_id": 99999})
    assert missing.status_code == 422 and "counterpart_id" in missing.json()["errors"]
    own = manager_client.post(url, json={"kind": "post", "counterpart_id": ana.id})
    assert own.status_code == 422
    assert manager_client.post(url, content=b"{not json", headers={"content-type": "application/json"}).status_code in (400, 422)
    assert manager_client.post("/api/v1/profiles/999999/interactions", json={"kind": "note"}).status_code == 404
    assert manager_client.get("/api/v1/profiles/999999/interactions").status_code == 404
    assert manager_client.get(f"/api/v1/profiles/{ana.id}/interactions?kind=nope").status_code == 422
    assert manager_client.get(f"/api/v1/profiles/{ana.id}/interactions?per_page=100000").status_code == 422
    assert manager_client.patch("/api/v1/interactions/999999", json={"title": "x"}).status_code == 404
    assert manager_client.get(f"/api/v1/interactions/{2**40}").status_code == 422


def test_outreach_needs_the_explicit_flag_when_the_person_may_not_be_contacted(manager_client, engine):
    bruno = make_profile(engine, "Bruno Díaz", may_contact=False)
    url = f"/api/v1/profiles/{bruno.id}/interactions"
    refused = manager_client.post(url, json={"kind": "outreach_meeting"})
    assert refused.status_code == 422
    assert "not agreed to be contacted" in refused.json()["detail"] and "contact_anyway" in refused.json()["errors"]
    assert manager_client.post(url, json={"kind": "outreach_meeting", "contact_anyway": True}).status_code == 201
    note = manager_client.post(url, json={"kind": "note"}).json()
    # turning a note into outreach asks too
    assert manager_client.patch(f"/api/v1/interactions/{note['id']}", json={"kind": "outreach_dm"}).status_code == 422
    confirmed = {"kind": "outreach_dm", "contact_anyway": True}
    assert manager_client.patch(f"/api/v1/interactions/{note['id']}", json=confirmed).status_code == 200


def test_viewers_read_but_do_not_write(viewer_client, engine):
    ana = make_profile(engine, "Ana López")
    assert viewer_client.get(f"/api/v1/profiles/{ana.id}/interactions").status_code == 200
    assert viewer_client.post(f"/api/v1/profiles/{ana.id}/interactions", json={"kind": "note"}).status_code == 403
    assert viewer_client.get(f"/api/v1/profiles/{ana.id}/relationships").status_code == 200
    edge = {"other_id": 1, "kind": "knows"}
    assert viewer_client.post(f"/api/v1/profiles/{ana.id}/relationships", json=edge).status_code == 403


def test_relationships_list_create_delete(manager_client, engine):
    ana = make_profile(engine, "Ana López", may_contact=True)
    bruno = make_profile(engine, "Bruno Díaz")
    url = f"/api/v1/profiles/{ana.id}/relationships"
    created = manager_client.post(url, json={"other_id": bruno.id, "kind": "follows", "direction": "both", "strength": 0.4})
    assert created.status_code == 201, created.text
    edges = created.json()
    assert {(e["source_id"], e["target_id"]) for e in edges} == {(ana.id, bruno.id), (bruno.id, ana.id)}
    assert all(e["origin"] == "manual" and e["strength"] == 0.4 for e in edges)
    clash = manager_client.post(url, json={"other_id": bruno.id, "kind": "follows"})
    assert clash.status_code == 409 and "kind" in clash.json()["errors"]
    assert manager_client.post(url, json={"other_id": bruno.id, "kind": "friends"}).status_code == 422
    assert manager_client.post(url, json={"other_id": bruno.id, "kind": "knows", "strength": 1.5}).status_code == 422
    assert manager_client.post(url, json={"other_id": ana.id, "kind": "knows"}).status_code == 422
    assert manager_client.post(url, json={"other_id": 999999, "kind": "knows"}).status_code == 422
    manager_client.post(f"/api/v1/profiles/{ana.id}/interactions", json={"kind": "mention", "counterpart_id": bruno.id})
    listing = manager_client.get(url).json()
    assert listing["total"] == 3 and {e["origin"] for e in listing["items"]} == {"manual", "interaction"}
    derived = next(e for e in listing["items"] if e["origin"] == "interaction")
    assert derived["kind"] == "mentions" and derived["first_seen"] is not None
    assert manager_client.delete(f"/api/v1/relationships/{derived['id']}").status_code == 422
    assert manager_client.delete(f"/api/v1/relationships/{edges[0]['id']}").status_code == 204
    assert manager_client.delete(f"/api/v1/relationships/{edges[0]['id']}").status_code == 404
    assert manager_client.get(url).json()["total"] == 2
    assert manager_client.get("/api/v1/profiles/999999/relationships").status_code == 404


def test_the_api_document_describes_them(manager_client):
    schema = manager_client.get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    assert set(paths["/api/v1/profiles/{profile_id}/interactions"]) == {"get", "post"}
    assert set(paths["/api/v1/interactions/{interaction_id}"]) == {"get", "patch", "delete"}
    assert set(paths["/api/v1/profiles/{profile_id}/relationships"]) == {"get", "post"}
    assert set(paths["/api/v1/relationships/{relationship_id}"]) == {"delete"}
    assert "contact_anyway" in schema["components"]["schemas"]["InteractionIn"]["properties"]
    assert "422" in paths["/api/v1/profiles/{profile_id}/interactions"]["post"]["responses"]


@pytest.mark.parametrize("when", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+01:00", "1850-06-01T00:00:00Z"])
def test_dates_out_of_range_are_field_errors(manager_client, engine, when):
    ana = make_profile(engine, "Ana")
    response = manager_client.post(f"/api/v1/profiles/{ana.id}/interactions", json={"kind": "note", "occurred_at": when})
    assert response.status_code == 422 and "1900" in response.text
    page = manager_client.post(f"/people/{ana.id}/interactions", headers={"HX-Request": "true"},
                               data={"kind": "note", "occurred_at": when[:16]})
    assert page.status_code == 422


def test_a_patch_cannot_null_a_field_that_must_have_a_value(manager_client, engine):
    ana = make_profile(engine, "Ana")
    created = manager_client.post(f"/api/v1/profiles/{ana.id}/interactions", json={"kind": "note", "title": "Hi"}).json()
    for field in ("title", "channel", "body", "url", "reach", "engagements", "occurred_at", "kind"):
        response = manager_client.patch(f"/api/v1/interactions/{created['id']}", json={field: None})
        assert response.status_code == 422, (field, response.text)
    cleared = manager_client.patch(f"/api/v1/interactions/{created['id']}", json={"sentiment": None})
    assert cleared.status_code == 200 and cleared.json()["title"] == "Hi"
