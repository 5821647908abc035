"""Graph views over HTTP: the ego network JSON and page (full and as the profile panel's fragment),
the community explorer page and JSON, the API, access and empty states."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from crm.db import session_scope
from crm.graph import service as graph
from crm.interactions.models import Relationship
from tests.factories import make_profile, soup

HX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    graph.clear_cache()
    yield
    graph.clear_cache()


def _link(engine: Engine, *edges: tuple[int, int, str, float], origin: str = "manual") -> None:
    with session_scope(engine, write=True) as session:
        for source, target, kind, strength in edges:
            session.add(Relationship(source_id=source, target_id=target, kind=kind, strength=strength, origin=origin))


@pytest.fixture
def trio(engine: Engine) -> tuple[int, int, int, int]:
    """Ana -> Bruno (knows), Carla -> Ana (replies to, from an interaction), Bruno -> Dario: Dario is 2 hops away."""
    ana = make_profile(engine, "Ana <b>López</b>", roles=["evangelist"], topics=["kubernetes"],
                       identities=[{"platform": "x", "handle": "ana", "followers": 5000}]).id or 0
    bruno = make_profile(engine, "Bruno Díaz", roles=["influencer"], topics=["kubernetes"]).id or 0
    carla = make_profile(engine, "Carla Ruiz", topics=["design"]).id or 0
    dario = make_profile(engine, "Darío Gil").id or 0
    _link(engine, (ana, bruno, "knows", 0.9), (bruno, dario, "follows", 0.5))
    _link(engine, (carla, ana, "replies_to", 0.4), origin="interaction")
    return ana, bruno, carla, dario


# ---- the ego network ------------------------------------------------------------------------------


def test_ego_json_for_one_and_two_hops(viewer_client, trio):
    ana, bruno, carla, dario = trio
    one = viewer_client.get(f"/people/{ana}/graph.json")
    assert one.status_code == 200 and one.headers["content-type"].startswith("application/json")
    data = one.json()
    assert data["center"] == ana and data["hops"] == 1 and data["omitted"] == 0
    assert [(n["id"], n["hop"], n["url"]) for n in data["nodes"]] == [
        (ana, 0, f"/people/{ana}"), (bruno, 1, f"/people/{bruno}"), (carla, 1, f"/people/{carla}")]
    assert data["nodes"][0]["reach"] == 5000 and data["nodes"][0]["roles"] == ["evangelist"]
    assert {(e["source"], e["target"], e["kind"], e["origin"]) for e in data["edges"]} == {
        (ana, bruno, "knows", "manual"), (carla, ana, "replies_to", "interaction")}
    two = viewer_client.get(f"/people/{ana}/graph.json?hops=2").json()
    assert [n["id"] for n in two["nodes"]] == [ana, bruno, carla, dario]
    capped = viewer_client.get(f"/people/{ana}/graph.json?hops=2&limit=2").json()
    assert [n["id"] for n in capped["nodes"]] == [ana, bruno] and capped["omitted"] == 2 and capped["total"] == 3


def test_ego_json_refuses_bad_parameters_and_unknown_people(viewer_client, trio):
    ana = trio[0]
    assert viewer_client.get(f"/people/{ana}/graph.json?hops=3").status_code == 422
    assert viewer_client.get(f"/people/{ana}/graph.json?limit=100000").status_code == 422
    assert viewer_client.get("/people/9999/graph.json").status_code == 404


def test_graph_routes_need_a_signed_in_user(client, trio):
    ana = trio[0]
    for path in (f"/people/{ana}/graph.json", f"/people/{ana}/network", "/graph", "/graph.json"):
        response = client.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/login"), path
    assert client.get(f"/api/v1/profiles/{ana}/graph").status_code == 401


def test_network_page_lists_the_connections_as_a_text_alternative(viewer_client, trio):
    ana, bruno, carla, dario = trio
    response = viewer_client.get(f"/people/{ana}/network?hops=2")
    assert response.status_code == 200 and response.headers["vary"] == "HX-Request"
    page = soup(response)
    assert page.select_one("title").text.startswith("Network of Ana <b>López</b>")
    assert page.select_one("link#__________cytoscape_stylesheet")["href"] == "/static/css/graph.css"
    assert page.select_one("script[src='/static/js/graph.js']") is not None
    canvas = page.select_one(".graph-canvas")
    assert canvas["data-graph-src"] == f"/people/{ana}/graph.json?hops=2" and canvas["role"] == "img"
    rows = page.select("table.ego-list tbody tr")
    assert [r.select_one("a")["href"] for r in rows] == [f"/people/{bruno}", f"/people/{carla}", f"/people/{dario}"]
    assert [r["data-hop"] for r in rows] == ["1", "1", "2"]
    assert "through Bruno Díaz" in rows[2].get_text(" ", strip=True)
    assert [c.text for c in rows[1].select(".chip.kind")] == ["Replies to"]
    assert page.select_one(".graph-hops a[aria-current='true']")["data-hops"] == "2"
    assert page.select_one("b") is None  # the name is escaped


def test_network_fragment_is_the_block_only(viewer_client, trio):
    ana = trio[0]
    response = viewer_client.get(f"/people/{ana}/network", headers=HX)
    assert response.status_code == 200
    fragment = soup(response)
    assert fragment.select_one("html, header, h1") is None
    assert fragment.select_one(".ego-network .graph-canvas")["data-graph-src"] == f"/people/{ana}/graph.json?hops=1"
    assert len(fragment.select("table.ego-list tbody tr")) == 2


def test_network_of_someone_alone_is_an_empty_state(viewer_client, engine):
    alone = make_profile(engine, "Sola").id
    page = soup(viewer_client.get(f"/people/{alone}/network"))
    assert "Nobody is connected to Sola yet" in page.select_one(".empty-state").text
    assert page.select_one(".graph-canvas") is None and page.select_one("table.ego-list") is None
    assert viewer_client.get("/people/9999/network").status_code == 404


def test_the_profile_page_has_a_lazy_network_panel(viewer_client, trio, engine):
    ana = trio[0]
    page = soup(viewer_client.get(f"/people/{ana}"))
    panel = page.select_one("details.ego")
    assert panel is not None and panel.get("open") is None
    assert panel["data-ego-src"] == f"/people/{ana}/network?hops=1"
    assert panel.select_one(".ego-body a")["href"] == f"/people/{ana}/network"  # without JavaScript
    assert panel.select_one(".graph-canvas") is None  # nothing drawn until opened
    assert page.select_one("link#__________cytoscape_stylesheet") is not None
    alone = make_profile(engine, "Sola").id
    empty = soup(viewer_client.get(f"/people/{alone}")).select_one("details.ego .empty-state")
    assert empty is not None and "Sola" in empty.text


# ---- the community explorer -----------------------------------------------------------------------


def _cliques(engine: Engine) -> tuple[list[int], list[int]]:
    left = [make_profile(engine, f"Left {i}", roles=["evangelist"], topics=["kubernetes"]).id or 0 for i in range(4)]
    right = [make_profile(engine, f"Right {i}", roles=["influencer"], topics=["design"]).id or 0 for i in range(3)]
    _link(engine, *[(p, q, "knows", 1.0) for g in (left, right) for i, p in enumerate(g) for q in g[i + 1:]],
          (left[0], right[0], "mentions", 0.1))
    return left, right


def test_explorer_page_legend_and_filters(viewer_client, engine):
    left, right = _cliques(engine)
    response = viewer_client.get("/graph")
    assert response.status_code == 200
    page = soup(response)
    assert page.select_one("title").text.startswith("Communities")
    assert page.select_one(".graph-canvas")["data-graph-src"] == "/graph.json"
    rows = page.select("table.communities tbody tr")
    assert [r.select_one("td[data-label='Members']").text for r in rows] == ["4", "3"]
    assert [[a.text for a in r.select(".chip.topic")] for r in rows] == [["kubernetes"], ["design"]]
    assert rows[0].select_one(".swatch.community-0") is not None
    assert [o["value"] for o in page.select("#graph-topics option")] == ["kubernetes", "design"]
    filtered = soup(viewer_client.get("/graph?role=influencer&topic=design"))
    assert filtered.select_one(".graph-canvas")["data-graph-src"] == "/graph.json?role=influencer&topic=design"
    assert filtered.select_one("select[name=role] option[selected]")["value"] == "influencer"
    assert len(filtered.select("table.communities tbody tr")) == 1
    data = viewer_client.get("/graph.json?role=influencer&topic=design").json()
    assert {n["id"] for n in data["nodes"]} == set(right)
    assert viewer_client.get("/graph?role=astronaut").status_code == 200  # an unknown role is ignored


def test_explorer_fragment_and_find(viewer_client, engine):
    left, _ = _cliques(engine)
    fragment = soup(viewer_client.get("/graph?find=left%203", headers=HX))
    assert fragment.select_one("html, form, h1") is None
    assert fragment.select_one(".explorer .found a")["href"] == f"/people/{left[3]}"
    assert viewer_client.get("/graph.json?find=left 3").json()["focus"] == left[3]
    missing = soup(viewer_client.get("/graph?find=Nadie"))
    assert "Nobody called “Nadie”" in missing.select_one(".explorer .notice").text


def test_explorer_empty_states(viewer_client, engine):
    make_profile(engine, "Sola")
    page = soup(viewer_client.get("/graph"))
    assert "Nobody is connected to anybody yet" in page.select_one(".explorer .empty-state").text
    assert page.select_one(".graph-canvas") is None
    _cliques(engine)
    graph.clear_cache()
    filtered = soup(viewer_client.get("/graph?role=journalist"))
    assert "Nobody connected matches these filters" in filtered.select_one(".explorer .empty-state").text
    assert filtered.select_one(".empty-state a")["href"] == "/graph"


# ---- the API ------------------------------------------------------------------------------------


def test_api_ego_and_communities(viewer_client, trio):
    ana, bruno, carla, dario = trio
    ego = viewer_client.get(f"/api/v1/profiles/{ana}/graph?hops=2")
    assert ego.status_code == 200 and [n["id"] for n in ego.json()["nodes"]] == [ana, bruno, carla, dario]
    assert viewer_client.get("/api/v1/profiles/9999/graph").status_code == 404
    bad = viewer_client.get(f"/api/v1/profiles/{ana}/graph?hops=0")
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/json")
    communities = viewer_client.get("/api/v1/graph/communities?role=influencer")
    assert communities.status_code == 200 and [n["id"] for n in communities.json()["nodes"]] == [bruno]
    assert viewer_client.get("/api/v1/graph/communities?role=astronaut").status_code == 422
    schema = viewer_client.get("/api/v1/openapi.json")
    if schema.status_code == 200:
        assert "/api/v1/graph/communities" in schema.json()["paths"]
