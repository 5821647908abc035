"""JSON API for held points, flags, the scan and the reward effect."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from crm.audit.actions import AuditAction
from crm.audit.models import AuditEvent
from crm.audit.service import SYSTEM
from crm.db import session_scope, utcnow
from crm.interactions import log
from crm.interactions.models import InteractionIn
from crm.recognition.models import GamingFlag, PointEntry
from tests.factories import make_profile


def _held(engine: Engine) -> tuple[int, int]:
    pid = make_profile(engine, "Held Person").id
    with session_scope(engine, write=True) as s:
        flag = GamingFlag(profile_id=pid, kind="ring", detail="ring of 3", related=[])
        s.add(flag)
        s.flush()
        flag_id = flag.id
    with session_scope(engine, write=True) as s:
        for kind in ("talk", "post"):
            log.log_interaction(pid, InteractionIn(kind=kind), session=s, actor=SYSTEM)
    return pid, flag_id


def test_holds_list_grant_reject(manager_client: TestClient, engine: Engine) -> None:
    pid, _ = _held(engine)
    listing = manager_client.get("/api/v1/points/holds").json()
    assert (listing["total"], listing["pages"]) == (2, 1)
    talk, post = listing["items"]
    assert (talk["profile_id"], talk["amount"], talk["flag"], talk["status"]) == (pid, 40, "ring", "pending")
    assert talk["rule"] == "talk"
    granted = manager_client.post(f"/api/v1/points/holds/{talk['id']}/grant")
    assert granted.status_code == 200
    body = granted.json()
    assert body["status"] == "granted" and body["entry_id"] is not None and body["decided_at"] is not None
    with session_scope(engine) as s:
        entry = s.get(PointEntry, body["entry_id"])
        assert (entry.profile_id, entry.amount, entry.kind, entry.interaction_id) == (pid, 40, "earned", talk["interaction_id"])
    again = manager_client.post(f"/api/v1/points/holds/{talk['id']}/reject")
    assert again.status_code == 409 and "reviewed already" in again.json()["detail"]
    rejected = manager_client.post(f"/api/v1/points/holds/{post['id']}/reject").json()
    assert rejected["status"] == "rejected" and rejected["entry_id"] is None
    with session_scope(engine) as s:
        assert len(s.execute(select(PointEntry)).scalars().all()) == 1
        assert len(s.execute(select(AuditEvent).where(AuditEvent.action == AuditAction.points_hold)).scalars().all()) == 2
    assert manager_client.get("/api/v1/points/holds").json()["total"] == 0
    decided = manager_client.get("/api/v1/points/holds", params={"status": "granted", "profile_id": pid}).json()
    assert [h["id"] for h in decided["items"]] == [talk["id"]]
    assert manager_client.get("/api/v1/points/holds", params={"status": "maybe"}).status_code == 422
    missing = manager_client.post("/api/v1/points/holds/99999/grant")
    assert missing.status_code == 404 and "detail" in missing.json()


def test_flags_list_clear_confirm(manager_client: TestClient, engine: Engine) -> None:
    pid, flag_id = _held(engine)
    flags = manager_client.get("/api/v1/points/flags").json()
    assert [(f["id"], f["profile_id"], f["kind"], f["status"]) for f in flags["items"]] == [(flag_id, pid, "ring", "open")]
    confirmed = manager_client.post(f"/api/v1/points/flags/{flag_id}/confirm").json()
    assert confirmed["status"] == "confirmed" and confirmed["reviewed_at"] is not None
    assert manager_client.get("/api/v1/points/flags").json()["total"] == 1  # confirmed still holds points
    assert manager_client.post(f"/api/v1/points/flags/{flag_id}/clear").json()["status"] == "cleared"
    assert manager_client.get("/api/v1/points/flags").json()["total"] == 0
    assert manager_client.get("/api/v1/points/flags", params={"status": "cleared"}).json()["total"] == 1
    assert manager_client.get("/api/v1/points/flags", params={"status": "all"}).json()["total"] == 1
    assert manager_client.post("/api/v1/points/flags/99999/clear").status_code == 404


def test_scan_and_viewers(manager_client: TestClient, engine: Engine) -> None:
    ring = [make_profile(engine, f"Ringer {n}").id for n in "ABCD"]
    now = utcnow()
    with session_scope(engine, write=True) as s:
        for i, (a, b) in enumerate((a, b) for a in ring for b in ring if a != b):
            log.log_interaction(a, InteractionIn(kind="forum_answer", counterpart_id=b,
                                                 occurred_at=now - timedelta(hours=i)), session=s, actor=SYSTEM)
    result = manager_client.post("/api/v1/points/scan").json()
    assert (result["rings"], result["flagged"], result["duplicates"]) == (1, 4, 0) and len(result["flag_ids"]) == 4
    assert manager_client.post("/api/v1/points/scan").json()["flagged"] == 0


def test_viewers_read_only(viewer_client: TestClient, engine: Engine) -> None:
    _, flag_id = _held(engine)
    assert viewer_client.get("/api/v1/points/holds").status_code == 200
    assert viewer_client.get("/api/v1/points/flags").status_code == 200
    assert viewer_client.get("/api/v1/recognition/effect").json() == []
    assert viewer_client.post(f"/api/v1/points/flags/{flag_id}/clear").status_code == 403
    assert viewer_client.post("/api/v1/points/scan").status_code == 403


def test_effect(viewer_client: TestClient, engine: Engine) -> None:
    from tests.web.test_effect_page import _world

    badge, reward = _world(engine)
    rows = viewer_client.get("/api/v1/recognition/effect").json()
    assert [(r["kind"], r["item_id"]) for r in rows] == [("badge", badge), ("reward", reward)]
    helper, mug = rows
    assert (helper["recipients"], helper["received"], helper["uplift"]) == (12, 12, 2.0)
    assert (helper["recipients_before"], helper["recipients_after"], helper["comparison_after"]) == (1.0, 3.0, 1.0)
    assert helper["comparison"] >= 10 and not helper["too_small"] and not helper["too_early"]
    assert mug["too_small"] and mug["too_early"] and mug["partial"] == 2
