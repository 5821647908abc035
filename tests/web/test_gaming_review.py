"""The review page: held points with grant / reject (one and in bulk), flagged people with clear / confirm,
the scan button; full page and fragments; viewers read but do not decide."""

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
from crm.recognition.models import GamingFlag, PointEntry, PointHold
from tests.factories import csrf_token, make_profile, soup

HX = {"HX-Request": "true"}


def _held(engine: Engine, name: str = "Held Person", kinds=("talk", "post", "review")) -> tuple[int, int, list[int]]:
    """A flagged person whose contributions were held: (person, flag, holds in order)."""
    pid = make_profile(engine, name).id
    other = make_profile(engine, f"Twin of {name}").id
    with session_scope(engine, write=True) as s:
        flag = GamingFlag(profile_id=pid, kind="duplicate", detail="likely the same person as #2: same e-mail",
                          related=[other])
        s.add(flag)
        s.flush()
        flag_id = flag.id
    with session_scope(engine, write=True) as s:
        for kind in kinds:
            log.log_interaction(pid, InteractionIn(kind=kind, title=f"A {kind}"), session=s, actor=SYSTEM)
    with session_scope(engine) as s:
        holds = [h.id for h in s.execute(select(PointHold).where(PointHold.profile_id == pid).order_by(PointHold.id)).scalars()]
    return pid, flag_id, holds


def _entries(engine: Engine, pid: int) -> list[tuple[str, int]]:
    with session_scope(engine) as s:
        return [(e.kind, e.amount) for e in s.execute(select(PointEntry).where(PointEntry.profile_id == pid)
                                                      .order_by(PointEntry.id)).scalars()]


def _audits(engine: Engine, action: AuditAction) -> list[AuditEvent]:
    with session_scope(engine) as s:
        return list(s.execute(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).scalars())


def _flash(client: TestClient) -> str:
    page = soup(client.get("/recognition/review"))
    return " ".join(f.text for f in page.select(".flash"))


def test_the_page_lists_held_points_and_flags_full_and_fragment(manager_client: TestClient, engine: Engine) -> None:
    pid, flag_id, holds = _held(engine)
    response = manager_client.get("/recognition/review")
    assert response.status_code == 200 and response.headers["vary"] == "HX-Request"
    page = soup(response)
    assert page.select_one("title").text.startswith("Review held points")
    assert page.select_one(".recognition-tabs a[aria-current='page']")["href"] == "/recognition/review"
    rows = page.select("#holds tr.hold")
    assert [int(r["data-hold"]) for r in rows] == holds
    first = rows[0]
    assert first.select_one("td.person a")["href"] == f"/people/{pid}" and "Held Person" in first.select_one("td.person").text
    assert first.select_one("td.points").text.strip() == "40"
    assert first.select_one("td.rule code").text == "talk"
    assert "A talk" in first.select_one("td.interaction a").text
    why = first.select_one("td.why")
    assert why.select_one(".chip").text == "Duplicate" and why.select_one("small").text.startswith("likely the same person")
    assert first.select_one(f"form[action='/recognition/review/holds/{holds[0]}/grant']") is not None
    assert first.select_one(f"input[name=hold_id][value='{holds[0]}'][form=holds-bulk]") is not None
    assert page.select_one("#holds-bulk button[formaction='/recognition/review/holds/reject'][data-confirm]") is not None
    flag = page.select_one(f"#flags tr.flag[data-flag='{flag_id}']")
    assert "Twin of Held Person" in flag.select_one("td.related").text
    assert flag.select_one("td.held").text.strip() == "60"
    assert flag.select_one(f"form[action='/recognition/review/flags/{flag_id}/clear'][data-confirm]") is not None
    assert flag.select_one(f"form[action='/recognition/review/flags/{flag_id}/confirm']") is not None
    assert page.select_one("script[src='/static/js/recognition_review.js']") is not None

    fragment = soup(manager_client.get("/recognition/review", headers=HX))
    assert fragment.select_one("html") is None and fragment.select_one("#flags") is None
    assert len(fragment.select("#holds tr.hold")) == 3
    flags = soup(manager_client.get("/recognition/review?part=flags", headers=HX))
    assert flags.select_one("#holds") is None and flags.select_one(f"#flags tr.flag[data-flag='{flag_id}']") is not None


def test_grant_and_reject_one_hold(manager_client: TestClient, engine: Engine) -> None:
    pid, _, (talk, post, review) = _held(engine)
    response = manager_client.post(f"/recognition/review/holds/{talk}/grant")
    assert response.status_code == 303 and response.headers["location"] == "/recognition/review"
    assert _entries(engine, pid) == [("earned", 40)]
    assert "1 grant approved" in _flash(manager_client)
    response = manager_client.post(f"/recognition/review/holds/{post}/reject")
    assert response.status_code == 303
    assert _entries(engine, pid) == [("earned", 40)]
    assert "1 grant rejected" in _flash(manager_client)
    manager_client.post(f"/recognition/review/holds/{talk}/grant")  # a second click adds nothing
    assert _entries(engine, pid) == [("earned", 40)]
    assert "reviewed already" in _flash(manager_client)
    assert [(e.object_id, e.after["status"]) for e in _audits(engine, AuditAction.points_hold)] == [
        (pid, "granted"), (pid, "rejected")]
    assert manager_client.post("/recognition/review/holds/99999/grant").status_code == 404
    page = soup(manager_client.get("/recognition/review"))
    assert [int(r["data-hold"]) for r in page.select("#holds tr.hold")] == [review]
    decided = soup(manager_client.get("/recognition/review?status=granted"))
    assert [int(r["data-hold"]) for r in decided.select("#holds tr.hold")] == [talk]
    assert decided.select_one("#holds .chip.status-granted") is not None and decided.select_one("#holds-bulk") is None


def test_bulk_grant_and_reject(manager_client: TestClient, engine: Engine) -> None:
    pid, _, (talk, post, review) = _held(engine)
    response = manager_client.post("/recognition/review/holds/grant", data={"hold_id": [str(talk), str(review)]})
    assert response.status_code == 303
    assert sorted(_entries(engine, pid)) == [("earned", 15), ("earned", 40)]
    assert "2 grants approved" in _flash(manager_client)
    manager_client.post("/recognition/review/holds/reject", data={"hold_id": [str(post), str(talk)]})
    assert len(_entries(engine, pid)) == 2
    assert "1 grant rejected" in _flash(manager_client)
    assert manager_client.post("/recognition/review/holds/grant", data={}).status_code == 303
    assert "Choose the held points" in _flash(manager_client)
    manager_client.post("/recognition/review/holds/grant", data={"hold_id": ["x"]})
    assert "Choose the held points" in _flash(manager_client)
    # htmx: a redirect the browser follows
    response = manager_client.post("/recognition/review/holds/grant", data={"hold_id": [str(post)]}, headers=HX)
    assert response.status_code == 204 and response.headers["hx-redirect"] == "/recognition/review"


def test_a_plain_form_post_with_its_csrf_field_works(client: TestClient, engine: Engine) -> None:
    from tests.factories import make_user, sign_in

    make_user(engine, "m@example.com", role="manager")
    sign_in(client, "m@example.com")
    del client.headers["X-CSRF-Token"]
    pid, _, (talk, _, _) = _held(engine)
    token = csrf_token(client, "/recognition/review")
    assert client.post(f"/recognition/review/holds/{talk}/grant", data={"csrf_token": token}).status_code == 303
    assert _entries(engine, pid) == [("earned", 40)]


def test_clear_and_confirm_flags(manager_client: TestClient, engine: Engine) -> None:
    pid, flag_id, _ = _held(engine, kinds=("post",))
    response = manager_client.post(f"/recognition/review/flags/{flag_id}/confirm")
    assert response.status_code == 303
    assert "stay held" in _flash(manager_client)
    page = soup(manager_client.get("/recognition/review"))
    row = page.select_one(f"#flags tr.flag[data-flag='{flag_id}']")
    assert row.select_one(".chip.status-confirmed") is not None
    assert row.select_one("form[action$='/confirm']") is None and row.select_one("form[action$='/clear']") is not None
    manager_client.post(f"/recognition/review/flags/{flag_id}/clear")
    assert "granted again" in _flash(manager_client)
    page = soup(manager_client.get("/recognition/review"))
    assert page.select_one("#flags tr.flag") is None and page.select_one("#flags p.empty") is not None
    assert [(e.before["status"], e.after["status"]) for e in _audits(engine, AuditAction.gaming_flag)] == [
        ("open", "confirmed"), ("confirmed", "cleared")]
    with session_scope(engine, write=True) as s:  # cleared: new points flow
        log.log_interaction(pid, InteractionIn(kind="talk"), session=s, actor=SYSTEM)
    assert _entries(engine, pid) == [("earned", 40)]
    assert manager_client.post("/recognition/review/flags/99999/clear").status_code == 404


def test_scan_now_flags_a_ring(manager_client: TestClient, engine: Engine) -> None:
    ring = [make_profile(engine, f"Ringer {n}").id for n in "ABC"]
    now = utcnow()
    with session_scope(engine, write=True) as s:
        for i, (a, b) in enumerate((a, b) for _ in range(3) for a in ring for b in ring if a != b):
            log.log_interaction(a, InteractionIn(kind="reply", counterpart_id=b, occurred_at=now - timedelta(hours=i)),
                                session=s, actor=SYSTEM)
    response = manager_client.post("/recognition/review/scan")
    assert response.status_code == 303
    assert "Rings found: 1. Likely duplicates: 0. People newly flagged: 3." in _flash(manager_client)
    page = soup(manager_client.get("/recognition/review"))
    flagged = page.select("#flags tr.flag")
    assert len(flagged) == 3 and {r.select_one(".chip.reason").text for r in flagged} == {"Ring"}
    assert "100 %" in flagged[0].select_one("td.detail").text


def test_viewers_read_without_actions(viewer_client: TestClient, engine: Engine) -> None:
    pid, flag_id, (talk, _, _) = _held(engine)
    page = soup(viewer_client.get("/recognition/review"))
    assert len(page.select("#holds tr.hold")) == 3
    assert page.select_one("#holds-bulk") is None and page.select_one("#holds form") is None
    assert page.select_one("#flags form") is None and page.select_one("form[action='/recognition/review/scan']") is None
    assert viewer_client.post(f"/recognition/review/holds/{talk}/grant").status_code == 403
    assert viewer_client.post(f"/recognition/review/flags/{flag_id}/clear").status_code == 403
    assert _entries(engine, pid) == []


def test_empty_states_and_pages(manager_client: TestClient, engine: Engine) -> None:
    page = soup(manager_client.get("/recognition/review"))
    assert page.select_one("#holds p.empty") is not None and page.select_one("#flags p.empty") is not None
    assert page.select_one("form[action='/recognition/review/scan']") is not None
    assert manager_client.get("/recognition/review?status=nonsense&page=-3&flags_page=0").status_code == 200
