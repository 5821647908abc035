"""GET /api/v1/radar, /radar/bursts and /radar/tone: the same services as the page, with the factors."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine
from starlette.testclient import TestClient

from crm.db import utcnow
from tests.unit.test_radar import build_scene, person, say, topic


def test_radar_list_with_factors(viewer_client: TestClient, engine: Engine) -> None:
    s = build_scene(engine)
    response = viewer_client.get(f"/api/v1/radar?topic={s.topics['dashboard']}")
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 5 and body["page"] == 1 and body["per_page"] == 25 and body["pages"] == 1
    ids = [item["interaction_id"] for item in body["items"]]
    assert ids.index(s.said["carmen"]) < ids.index(s.said["sam"])
    carmen = body["items"][ids.index(s.said["carmen"])]
    assert carmen["author"] == {"profile_id": s.people["carmen"], "name": "Carmen Champion", "level": 1, "reach": 2000}
    f = carmen["factors"]
    assert (f["standing"], f["standing_weight"], f["standing_reason"]) == ("champion", 3.0, "champion: level 1")
    assert (f["negativity"], f["audience"], f["sentiment_estimated"]) == (0.6, 2000, False)
    assert abs(f["priority"] - f["negativity"] * f["reach_factor"] * f["standing_weight"]) < 0.01
    estimated = body["items"][ids.index(s.said["estimated"])]
    assert estimated["factors"]["sentiment_estimated"] is True
    both = body["items"][ids.index(s.said["both"])]
    assert both["topic_ids"] == [s.topics["dashboard"]]  # filtered by topic
    unfiltered = {i["interaction_id"]: i for i in viewer_client.get("/api/v1/radar").json()["items"]}
    assert unfiltered[s.said["both"]]["topic_ids"] == sorted(s.topics.values())


def test_radar_window_channel_and_pages(viewer_client: TestClient, engine: Engine) -> None:
    s = build_scene(engine)
    day = viewer_client.get("/api/v1/radar?window=24h").json()
    assert sorted(i["interaction_id"] for i in day["items"]) == sorted(s.said[k] for k in ("complaint", "b1", "b2", "b3", "b4"))
    assert [i["interaction_id"] for i in viewer_client.get("/api/v1/radar?channel=youtube").json()["items"]] == [s.said["sam"]]
    assert viewer_client.get("/api/v1/radar?window=30d").json()["total"] == 11
    assert viewer_client.get("/api/v1/radar?page=2").json()["items"] == []


def test_radar_refuses_bad_parameters_with_json(viewer_client: TestClient) -> None:
    for query in ("window=9y", "topic=0", "topic=abc", "page=0", "channel=" + "x" * 31, "unknown=1"):
        response = viewer_client.get(f"/api/v1/radar?{query}")
        assert response.status_code == 422, query
        assert response.headers["content-type"].startswith("application/json")
    assert viewer_client.get("/api/v1/radar/bursts?window=1y").status_code == 422
    assert viewer_client.get("/api/v1/radar/tone?topic=1").status_code == 422


def test_radar_empty(viewer_client: TestClient) -> None:
    assert viewer_client.get("/api/v1/radar").json() == {"items": [], "total": 0, "page": 1, "per_page": 25, "pages": 1}
    assert viewer_client.get("/api/v1/radar/bursts").json() == []
    assert viewer_client.get("/api/v1/radar/tone").json() == []


def test_bursts_with_who_is_talking(viewer_client: TestClient, engine: Engine) -> None:
    s = build_scene(engine)
    bursts = viewer_client.get("/api/v1/radar/bursts").json()
    assert len(bursts) == 1
    b = bursts[0]
    assert (b["topic_id"], b["topic_name"], b["count"]) == (s.topics["billing"], "Billing", 4)
    assert b["interaction_ids"] == sorted(s.said[k] for k in ("b1", "b2", "b3", "b4"))
    assert b["signal_url"] == "/signals/new?interaction_ids=" + ",".join(str(i) for i in b["interaction_ids"])
    talking = [(w["author"]["profile_id"], w["standing"], w["mentions"]) for w in b["who_is_talking"]]
    assert talking == [(s.people["sam"], "stranger", 1), (s.people["carmen"], "champion", 1), (s.people["eva"], "stranger", 2)]
    assert b["who_is_talking"][0]["top_interaction_id"] == s.said["b2"]
    assert b["who_is_talking"][2]["interaction_ids"] == sorted((s.said["b1"], s.said["b3"]))
    assert viewer_client.get(f"/api/v1/radar/bursts?topic={s.topics['dashboard']}").json() == []


def test_tone_changes(viewer_client: TestClient, engine: Engine) -> None:
    t = topic(engine, "Anything")
    amy = person(engine, "Amy Advocate", level=2, reach=300)
    now = utcnow()
    for d in (20, 50, 80):
        say(engine, amy, now - timedelta(days=d), topics=[], sentiment=0.5)
    for h in (5, 30):
        say(engine, amy, now - timedelta(hours=h), topics=[t], sentiment=-0.5)
    tone = viewer_client.get("/api/v1/radar/tone").json()
    assert len(tone) == 1
    assert {k: tone[0][k] for k in ("profile_id", "kind", "window_count", "baseline_count", "level")} == {
        "profile_id": amy, "kind": "turned", "window_count": 2, "baseline_count": 3, "level": 2}
    assert tone[0]["window_mean"] < 0 < tone[0]["baseline_mean"]
    # a 24-hour window holds one of the two: not enough to say the tone turned
    assert viewer_client.get("/api/v1/radar/tone?window=24h").json() == []


def test_radar_api_needs_a_token_or_session(client: TestClient) -> None:
    response = client.get("/api/v1/radar")
    assert response.status_code == 401 and response.headers["content-type"].startswith("application/json")
