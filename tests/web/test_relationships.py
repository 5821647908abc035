"""Connections on a person's page: one row per person (both directions merged), the "see all" list
(sortable, paginated), adding and removing relationships by hand."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from crm.audit.models import AuditEvent
from crm.db import session_scope, utcnow
from crm.interactions.models import Interaction, Relationship
from tests.factories import make_profile, soup

HX = {"HX-Request": "true"}


def _edge(engine, source: int, target: int, kind: str, strength: float, origin: str = "manual", **extra) -> int:
    with session_scope(engine, write=True) as session:
        rel = Relationship(source_id=source, target_id=target, kind=kind, strength=strength, origin=origin, **extra)
        session.add(rel)
        session.flush()
        return rel.id or 0


def _rows(page) -> list[list[str]]:
    return [[td.get_text(" ", strip=True) for td in tr.select("td")] for tr in page.select("tr.connection")]


def _edges(engine) -> set[tuple[int, int, str, str]]:
    with Session(engine) as session:
        return {(r.source_id, r.target_id, r.kind, r.origin) for r in session.exec(select(Relationship)).all()}


def test_one_row_per_person_with_both_directions_merged(manager_client, engine):
    ana = make_profile(engine, "Ana López")
    bruno = make_profile(engine, "Bruno Díaz")
    carla = make_profile(engine, "Carla Gil")
    _edge(engine, ana.id, bruno.id, "follows", 0.3)
    _edge(engine, bruno.id, ana.id, "collaborates", 0.7)
    _edge(engine, ana.id, bruno.id, "knows", 0.2)
    _edge(engine, carla.id, ana.id, "mentions", 0.9)
    with session_scope(engine, write=True) as session:
        session.add(Interaction(profile_id=bruno.id, counterpart_id=ana.id, kind="reply", title="Re: WAL",
                                occurred_at=utcnow() - timedelta(days=3)))
        session.add(Interaction(profile_id=ana.id, counterpart_id=bruno.id, kind="post", title="Older",
                                occurred_at=utcnow() - timedelta(days=30)))
    page = soup(manager_client.get(f"/people/{ana.id}"))
    panel = page.select_one("section#connections-panel")
    rows = _rows(panel)
    assert [r[0] for r in rows] == ["Carla Gil", "Bruno Díaz"]  # one row each, strongest first
    carla_row, bruno_row = rows
    assert carla_row[2] == "← from them" and carla_row[3] == "0.90"
    assert bruno_row[1] == "Collaborates ← Follows → Knows →"
    assert bruno_row[2] == "↔ both ways" and bruno_row[3] == "0.70"
    assert "Reply: Re: WAL" in bruno_row[4]  # the latest interaction between the two, whoever logged it
    assert panel.select_one(f"a[href='/people/{ana.id}/connections']") is not None
    assert "2" in page.select_one(".stats").get_text()  # two people connected


def test_the_panel_shows_the_strongest_twelve_of_many(manager_client, engine):
    ana = make_profile(engine, "Ana López")
    for n in range(15):
        other = make_profile(engine, f"Person {n:02d}")
        _edge(engine, ana.id, other.id, "knows", n / 20)
    panel = soup(manager_client.get(f"/people/{ana.id}")).select_one("#connections-panel")
    rows = _rows(panel)
    assert len(rows) == 12 and rows[0][0] == "Person 14" and rows[-1][0] == "Person 03"
    assert "The 12 strongest of 15." in panel.select_one(".connections-summary").get_text()


def test_see_all_sorts_and_pages(manager_client, engine):
    ana = make_profile(engine, "Ana López")
    ids = []
    for n in range(30):
        other = make_profile(engine, f"Person {n:02d}")
        ids.append(other.id)
        _edge(engine, ana.id if n % 2 else other.id, other.id if n % 2 else ana.id, "knows", round(n / 30, 2),
              last_seen=utcnow() - timedelta(days=n))
    page = soup(manager_client.get(f"/people/{ana.id}/connections"))
    assert page.title.get_text().startswith("Connections of Ana López")
    rows = _rows(page)
    assert len(rows) == 25 and rows[0][0] == "Person 29" and rows[0][3] == "0.97"
    assert "30 people connected" in page.select_one(".result-count").get_text()
    next_link = page.select_one(".pagination a[rel=next]")
    assert next_link["href"] == f"/people/{ana.id}/connections?sort=strength&dir=desc&page=2"
    fragment = soup(manager_client.get(next_link["href"], headers=HX))
    assert fragment.select_one("nav.breadcrumb") is None
    assert [r[0] for r in _rows(fragment)] == [f"Person {n:02d}" for n in range(4, -1, -1)]
    by_name = soup(manager_client.get(f"/people/{ana.id}/connections?sort=name&dir=asc"))
    assert [r[0] for r in _rows(by_name)][:3] == ["Person 00", "Person 01", "Person 02"]
    header = by_name.select_one("th a.sorted")
    assert header["aria-sort"] == "ascending" and header["href"].endswith("sort=name&dir=desc")
    recent = soup(manager_client.get(f"/people/{ana.id}/connections?sort=last_seen&dir=desc"))
    assert [r[0] for r in _rows(recent)][:2] == ["Person 00", "Person 01"]
    past_end = soup(manager_client.get(f"/people/{ana.id}/connections?page=99"))
    assert len(_rows(past_end)) == 5
    assert manager_client.get(f"/people/{ana.id}/connections?sort=bogus").status_code == 200
    assert manager_client.get("/people/999999/connections").status_code == 404


def test_a_person_without_connections(manager_client, engine):
    ana = make_profile(engine, "Ana López")
    panel = soup(manager_client.get(f"/people/{ana.id}")).select_one("#connections-panel")
    assert "No connections yet" in panel.get_text() and panel.select_one("form.relationship-form") is not None
    page = soup(manager_client.get(f"/people/{ana.id}/connections"))
    assert page.select_one(".empty-state") is not None


def test_adding_a_connection_by_hand(manager_client, engine):
    ana = make_profile(engine, "Ana López")
    bruno = make_profile(engine, "Bruno Díaz")
    form = soup(manager_client.get(f"/people/{ana.id}")).select_one("#connections-panel form.relationship-form")
    assert form["hx-post"] == f"/people/{ana.id}/relationships" and form["hx-target"] == "#connections-panel"
    response = manager_client.post(f"/people/{ana.id}/relationships", headers=HX,
                                   data={"other_id": str(bruno.id), "kind": "colleague", "direction": "both", "strength": "0.8"})
    assert response.status_code == 200
    rows = _rows(soup(response).select_one("#connections-panel"))
    assert rows[0][0] == "Bruno Díaz" and rows[0][2] == "↔ both ways" and rows[0][3] == "0.80"
    assert _edges(engine) == {(ana.id, bruno.id, "colleague", "manual"), (bruno.id, ana.id, "colleague", "manual")}
    with Session(engine) as session:
        assert len(session.exec(select(AuditEvent).where(AuditEvent.action == "relationship.create")).all()) == 2
    # the same again: a clear message, values kept
    again = manager_client.post(f"/people/{ana.id}/relationships", headers=HX,
                                data={"other_id": str(bruno.id), "kind": "colleague", "direction": "outgoing", "strength": "0.4"})
    assert again.status_code == 422
    page = soup(again)
    assert "already" in page.select_one(".field-error").get_text()
    assert page.select_one("input[name=strength]")["value"] == "0.4"
    assert page.select_one("input[name=other_id][checked]")["value"] == str(bruno.id)
    # nobody chosen, a strength out of range, oneself
    bad = soup(manager_client.post(f"/people/{ana.id}/relationships", headers=HX, data={"kind": "knows", "strength": "3"}))
    errors = " ".join(e.get_text() for e in bad.select(".field-error"))
    assert "Choose the other person" in errors and "out of range" in errors
    own = manager_client.post(f"/people/{ana.id}/relationships", headers=HX, data={"other_id": str(ana.id), "kind": "knows"})
    assert own.status_code == 422
    # without htmx
    carla = make_profile(engine, "Carla Gil")
    plain = manager_client.post(f"/people/{ana.id}/relationships", data={"other_id": str(carla.id), "kind": "follows"})
    assert plain.status_code == 303 and plain.headers["location"] == f"/people/{ana.id}/connections"
    failed = manager_client.post(f"/people/{ana.id}/relationships", data={"other_id": str(carla.id), "kind": "follows"})
    assert failed.status_code == 422 and soup(failed).select_one("nav.breadcrumb") is not None


def test_removing_a_connection_by_hand(manager_client, engine):
    ana = make_profile(engine, "Ana López")
    bruno = make_profile(engine, "Bruno Díaz")
    manual = _edge(engine, ana.id, bruno.id, "knows", 0.5)
    derived = _edge(engine, bruno.id, ana.id, "replies_to", 0.2, origin="interaction")
    page = soup(manager_client.get(f"/people/{ana.id}/connections"))
    forms = page.select("tr.connection form.remove-edge")
    # derived edges follow their interactions: only the manual one can be removed
    assert [f["action"] for f in forms] == [f"/people/{ana.id}/relationships/{manual}/delete"]
    assert forms[0]["data-confirm"]
    response = manager_client.post(forms[0]["action"], data={"csrf_token": forms[0].select_one("input")["value"]})
    assert response.status_code == 303 and response.headers["location"] == f"/people/{ana.id}/connections"
    assert _edges(engine) == {(bruno.id, ana.id, "replies_to", "interaction")}
    with Session(engine) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "relationship.delete")).one()
        assert event.before["kind"] == "knows" and event.object_id == ana.id
    assert manager_client.post(f"/people/{ana.id}/relationships/{derived}/delete").status_code == 422
    carla = make_profile(engine, "Carla Gil")
    assert manager_client.post(f"/people/{carla.id}/relationships/{derived}/delete").status_code == 404


def test_viewers_see_connections_but_cannot_change_them(viewer_client, engine):
    ana = make_profile(engine, "Ana López")
    bruno = make_profile(engine, "Bruno Díaz")
    rid = _edge(engine, ana.id, bruno.id, "knows", 0.5)
    page = soup(viewer_client.get(f"/people/{ana.id}/connections"))
    assert _rows(page)[0][0] == "Bruno Díaz" and page.select_one("form.relationship-form") is None
    assert page.select_one("form.remove-edge") is None
    edge = {"other_id": str(bruno.id), "kind": "knows"}
    assert viewer_client.post(f"/people/{ana.id}/relationships", data=edge).status_code == 403
    assert viewer_client.post(f"/people/{ana.id}/relationships/{rid}/delete").status_code == 403
