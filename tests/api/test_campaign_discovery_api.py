"""JSON API: a campaign's candidates, roster and warm introductions."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, update

from crm.audit.service import SYSTEM
from crm.campaigns import discovery, service
from crm.campaigns.models import CampaignIn
from crm.db import session_scope
from crm.interactions.models import Relationship
from crm.profiles.models import Profile
from tests.factories import make_profile


def _person(engine: Engine, name: str, *, score: float = 0.0, **fields: Any) -> int:
    fields.setdefault("may_contact", True)
    pid = make_profile(engine, name, **fields).id or 0
    with session_scope(engine, write=True) as session:
        session.execute(update(Profile).where(Profile.id == pid).values(score=score))  # type: ignore[arg-type]
    return pid


@pytest.fixture
def world(engine: Engine) -> dict[str, int]:
    discovery.clear_cache()
    ids = {"ana": _person(engine, "Ana", is_team_member=True),
           "star": _person(engine, "Star", score=90, topics=["python"]),
           "mid": _person(engine, "Mid", score=40, topics=["python"], language="es"),
           "dnc": _person(engine, "DNC", score=99, topics=["python"], status="do_not_contact")}
    with session_scope(engine, write=True) as session:
        session.add(Relationship(source_id=ids["ana"], target_id=ids["star"], kind="colleague", strength=1.0))
        ids["campaign"] = service.create_campaign(CampaignIn(name="Py", topics=["python"]), session=session,
                                                  actor=SYSTEM).id or 0
    return ids


def test_candidates(viewer_client, world) -> None:
    url = f"/api/v1/campaigns/{world['campaign']}/candidates"
    body = viewer_client.get(url).json()
    assert body["mode"] == "relevance" and body["total"] == 2
    assert [item["name"] for item in body["items"]] == ["Star", "Mid"]
    assert body["items"][0]["topics"] == ["python"] and body["items"][0]["fit"] == pytest.approx(0.95)
    assert body["left_out"]["do_not_contact"] == 1
    assert [i["name"] for i in viewer_client.get(url + "?language=es").json()["items"]] == ["Mid"]
    everyone = viewer_client.get(url + "?exclude=").json()
    assert everyone["total"] == 3 and everyone["left_out"] == {}
    only = viewer_client.get(url + "?exclude=team&exclude=do_not_contact").json()
    assert set(only["left_out"]) == {"team", "do_not_contact"}
    like = viewer_client.get(url + f"?like={world['star']}").json()
    assert like["mode"] == "like" and "Star" not in [i["name"] for i in like["items"]]
    paged = viewer_client.get(url + "?per_page=1&page=2").json()
    assert paged["pages"] == 2 and [i["name"] for i in paged["items"]] == ["Mid"]


def test_candidates_errors(viewer_client, world) -> None:
    url = f"/api/v1/campaigns/{world['campaign']}/candidates"
    assert viewer_client.get(url + "?exclude=nonsense").status_code == 422
    assert viewer_client.get(url + "?level=9").status_code == 422
    assert viewer_client.get(url + "?followers_min=10&followers_max=5").status_code == 422
    assert viewer_client.get(url + "?like=999999").status_code == 404
    assert viewer_client.get("/api/v1/campaigns/999999/candidates").status_code == 404


def test_roster(viewer_client, world) -> None:
    url = f"/api/v1/campaigns/{world['campaign']}/roster"
    body = viewer_client.get(url + "?k=2").json()
    assert body["k"] == 2 and body["pool"] == 2
    assert [p["name"] for p in body["picks"]] == ["Star", "Mid"]
    assert body["picks"][0]["gain"] == 1 and body["coverage"] == body["top_k_coverage"] == 1
    assert body["top_k_better"] is False and body["shared"] == [world["star"], world["mid"]]
    too_many = viewer_client.get(url + "?k=3")
    assert too_many.status_code == 422 and "k" in str(too_many.json())
    assert viewer_client.get(url + "?k=0").status_code == 422
    assert viewer_client.get(url + "?budget=-5").status_code == 422
    budget = viewer_client.get(url + "?k=2&budget=100").json()
    assert budget["budget"] == 100 and budget["unknown_fees"] == [world["star"], world["mid"]]


def test_intro(viewer_client, world) -> None:
    body = viewer_client.get(f"/api/v1/campaigns/{world['campaign']}/intro/{world['star']}").json()
    assert body["found"] and body["names"] == ["Ana", "Star"]
    assert body["hops"][0]["kinds"] == ["colleague"] and body["hops"][0]["strength"] == 1.0
    none = viewer_client.get(f"/api/v1/campaigns/{world['campaign']}/intro/{world['mid']}").json()
    assert none["found"] is False and none["path"] == []
    assert viewer_client.get(f"/api/v1/campaigns/{world['campaign']}/intro/999999").status_code == 404
