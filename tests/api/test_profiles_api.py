"""JSON API: the same services as the pages, with 4xx JSON bodies for bad input."""

from __future__ import annotations

from sqlmodel import Session, select

from crm.accounts.models import TokenIn, User
from crm.db import session_scope
from crm.profiles.models import Profile
from crm.profiles.search import ListQuery
from tests.factories import make_profile, make_user

BODY = {
    "display_name": "Marta Ruiz",
    "roles": ["influencer", "customer"],
    "topics": ["Kubernetes", "observability"],
    "status": "active",
    "identities": [
        {"platform": "instagram", "handle": "@marta.ruiz", "followers": 250000, "engagement_rate": 3.2, "verified": True},
        {"platform": "email", "handle": "Marta@Example.com"},
    ],
}


def test_create_get_list_patch_delete(manager_client):
    created = manager_client.post("/api/v1/profiles", json=BODY)
    assert created.status_code == 201, created.text
    data = created.json()
    assert created.headers["location"] == f"/api/v1/profiles/{data['id']}"
    assert data["reach"] == 250000
    assert data["topics"] == ["kubernetes", "observability"]
    assert {i["platform"] for i in data["identities"]} == {"instagram", "email"}

    fetched = manager_client.get(f"/api/v1/profiles/{data['id']}").json()
    assert fetched == data

    listing = manager_client.get("/api/v1/profiles", params={"q": "marta.ruiz"}).json()
    assert listing["total"] == 1 and listing["items"][0]["id"] == data["id"]

    patched = manager_client.patch(f"/api/v1/profiles/{data['id']}", json={"status": "inactive", "bio": "Now on a break."})
    assert patched.status_code == 200
    assert patched.json()["status"] == "inactive"
    assert patched.json()["identities"] == data["identities"]  # untouched when not sent

    assert manager_client.delete(f"/api/v1/profiles/{data['id']}").status_code == 204
    assert manager_client.get(f"/api/v1/profiles/{data['id']}").status_code == 404


def test_unknown_fields_and_server_owned_fields_are_rejected(manager_client):
    for extra in ({"id": 5}, {"reach": 10}, {"created_at": "2020-01-01T00:00:00Z"}, {"nonsense": True}):
        response = manager_client.post("/api/v1/profiles", json={**BODY, **extra})
        assert response.status_code == 422, extra
        assert response.json()["errors"][0]["type"] == "extra_forbidden"


def test_validation_errors_name_the_field(manager_client):
    bad = {**BODY, "status": "famous", "identities": [{"platform": "myspace", "handle": ""}]}
    response = manager_client.post("/api/v1/profiles", json=bad)
    assert response.status_code == 422
    locations = {tuple(e["loc"]) for e in response.json()["errors"]}
    assert ("body", "status") in locations
    assert ("body", "identities", 0, "platform") in locations
    assert ("body", "identities", 0, "handle") in locations


def test_malformed_json_is_a_4xx_not_a_500(manager_client):
    response = manager_client.post("/api/v1/profiles", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert "detail" in response.json()


def test_duplicate_identity_is_a_422_with_the_field(manager_client, engine):
    make_profile(engine, "First", identities=[{"platform": "instagram", "handle": "marta.ruiz"}])
    response = manager_client.post("/api/v1/profiles", json=BODY)
    assert response.status_code == 422
    body = response.json()
    assert "identities.0.handle" in body["errors"]
    assert "already belongs to First" in body["errors"]["identities.0.handle"]


def test_unknown_owner_is_rejected(manager_client):
    response = manager_client.post("/api/v1/profiles", json={**BODY, "owner_id": 424242})
    assert response.status_code == 422
    assert response.json()["errors"] == {"owner_id": "no such user"}


def test_list_parameters_are_validated(manager_client):
    assert manager_client.get("/api/v1/profiles", params={"per_page": 1000}).status_code == 422
    assert manager_client.get("/api/v1/profiles", params={"sort": "password"}).status_code == 422
    assert manager_client.get("/api/v1/profiles", params={"page": 0}).status_code == 422


def test_sort_and_pages(manager_client, engine):
    for n in range(5):
        make_profile(engine, f"P{n}", identities=[{"platform": "x", "handle": f"p{n}", "followers": n}])
    page = manager_client.get("/api/v1/profiles", params={"sort": "reach", "order": "desc", "per_page": 2, "page": 2}).json()
    assert [p["display_name"] for p in page["items"]] == ["P2", "P1"]
    assert page["pages"] == 3 and page["total"] == 5


def test_bearer_token_works_without_csrf_and_can_be_revoked(client, engine):
    from crm.accounts import service as accounts
    from crm.audit.service import SYSTEM

    user = make_user(engine, "robot@example.com", role="manager")
    with session_scope(engine, write=True) as session:
        row, raw = accounts.create_api_token(session.get(User, user.id), TokenIn(name="CI", days=30),
                                             session=session, actor=SYSTEM)
    headers = {"Authorization": f"Bearer {raw}"}
    assert client.post("/api/v1/profiles", json=BODY, headers=headers).status_code == 201
    with Session(engine) as session:
        from crm.accounts.models import ApiToken

        assert session.get(ApiToken, row.id).last_used_at is not None
    with session_scope(engine, write=True) as session:
        accounts.revoke_api_token(row.id, session=session, user_id=user.id, actor=SYSTEM)
    response = client.get("/api/v1/profiles", headers=headers)
    assert response.status_code == 401
    assert response.json()["detail"].startswith("That API token")


def test_viewer_token_cannot_write(client, engine):
    from crm.accounts import service as accounts
    from crm.audit.service import SYSTEM

    user = make_user(engine, "reader@example.com", role="viewer")
    with session_scope(engine, write=True) as session:
        _, raw = accounts.create_api_token(session.get(User, user.id), TokenIn(name="read", days=30),
                                           session=session, actor=SYSTEM)
    headers = {"Authorization": f"Bearer {raw}"}
    assert client.get("/api/v1/profiles", headers=headers).status_code == 200
    response = client.post("/api/v1/profiles", json=BODY, headers=headers)
    assert response.status_code == 403
    assert response.json()["detail"]
    with Session(engine) as session:
        assert session.exec(select(Profile)).all() == []


def test_openapi_lists_the_api_and_no_html_routes(manager_client, client):
    schema = manager_client.get("/api/v1/openapi.json").json()
    paths = set(schema["paths"])
    assert {"/api/v1/profiles", "/api/v1/profiles/{profile_id}"} <= paths
    assert all(path.startswith("/api/v1/") for path in paths)
    body = schema["components"]["schemas"]["ProfileIn"]
    assert body.get("additionalProperties") is False
    assert "id" not in body["properties"] and "reach" not in body["properties"]


def test_api_reference_page_renders(manager_client):
    from tests.factories import soup

    page = soup(manager_client.get("/api/docs"))
    paths = [code.get_text() for code in page.select(".api-op header code")]
    assert "/api/v1/profiles" in paths


def test_a_page_past_the_end_is_empty_so_clients_stop(manager_client, engine):
    make_profile(engine, "Only One")
    body = manager_client.get("/api/v1/profiles", params={"page": 5}).json()
    assert body["items"] == [] and body["total"] == 1 and body["pages"] == 1


def test_handles_with_no_usable_key_are_422_on_the_handle(manager_client):
    # "ß" case-folds to "ss": the key identities are unique on would be 400 characters, over its column.
    for handle, words in (("ß" * 200, "too long"), ("@", "handle"), ("@@", "handle")):
        body = {"display_name": "Odd Handle", "identities": [{"platform": "x", "handle": handle}]}
        response = manager_client.post("/api/v1/profiles", json=body)
        assert response.status_code == 422, handle
        errors = {tuple(e["loc"]): e["msg"] for e in response.json()["errors"]}
        assert words in errors[("body", "identities", 0, "handle")].lower(), handle
    assert manager_client.get("/api/v1/profiles").json()["total"] == 0


def test_patch_is_the_full_schema_made_optional(manager_client):
    created = manager_client.post("/api/v1/profiles", json=BODY).json()
    url = f"/api/v1/profiles/{created['id']}"
    for bad in ({"display_name": ""}, {"status": "famous"}, {"identities": [{"platform": "x", "handle": "@"}]},
                {"reach": 5}, {"consent_date": "yesterday"}):
        assert manager_client.patch(url, json=bad).status_code == 422, bad
    # An explicit null clears what may be empty and leaves required fields alone.
    patched = manager_client.patch(url, json={"display_name": None, "consent_date": None, "owner_id": None})
    assert patched.status_code == 200
    assert patched.json()["display_name"] == "Marta Ruiz" and patched.json()["consent_date"] is None


def test_list_answers_one_generic_page(app):
    schema = app.openapi()
    operation = schema["paths"]["/api/v1/profiles"]["get"]
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    page = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert set(page["properties"]) == {"items", "total", "page", "per_page", "pages"}
    assert page["properties"]["items"]["items"]["$ref"].endswith("/ProfileOut")
    params = {p["name"] for p in operation["parameters"]}
    assert params == set(ListQuery.model_fields)  # every filter of the people list, and nothing else


def test_list_parameters_keep_their_bounds(manager_client):
    for bad in ({"order": "sideways"}, {"page": 100_001}, {"per_page": 0}, {"status": "famous"}, {"role": "boss"},
                {"q": "x" * 201}, {"topic": "t" * 51}, {"page": "abc"}):
        response = manager_client.get("/api/v1/profiles", params=bad)
        assert response.status_code == 422, bad
        assert response.json()["detail"]
