"""Unique-constraint races answer 409 (or 422) with the field, never 500 (DESIGN rule 6).

Each thread has its own TestClient, so its own event loop and database session; they share the app
and its engine, as the workers of one server do. SQLite writers queue on BEGIN IMMEDIATE, so the
later ones see the first identity and get a 422; on PostgreSQL they all pass the check before any
commits, and the unique index decides.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from httpx2 import Response
from starlette.testclient import TestClient

CLIENTS = 10
BODY = {"display_name": "Rita Racer", "identities": [{"platform": "x", "handle": "@rita"}]}


def test_concurrent_creates_of_one_identity_give_one_201_and_no_5xx(app, manager_client):
    start = threading.Barrier(CLIENTS)

    def create(_: int) -> Response:
        client = TestClient(app, raise_server_exceptions=False, follow_redirects=False,
                            headers=dict(manager_client.headers), cookies=manager_client.cookies)
        start.wait()
        return client.post("/api/v1/profiles", json=BODY)

    with ThreadPoolExecutor(CLIENTS) as pool:
        responses = list(pool.map(create, range(CLIENTS)))

    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(201) == 1 and set(statuses) <= {201, 409, 422}, statuses
    for response in responses:
        if response.status_code != 201:
            body = response.json()
            assert body["detail"] and "identities.0.handle" in body["errors"], body
    listing = manager_client.get("/api/v1/profiles").json()
    assert listing["total"] == 1
