"""Duplicates queue, merge screen, recent merges and undo, per-person export (HTML)."""

from __future__ import annotations

import json

from sqlalchemy import Engine
from sqlmodel import Session, select
from starlette.testclient import TestClient

from crm.audit.models import AuditEvent
from crm.merges.models import MergeRecord
from crm.profiles.models import Identity, Profile
from tests.factories import csrf_token, make_profile, soup

HX = {"HX-Request": "true"}


def _pair(engine: Engine) -> tuple[int, int]:
    a = make_profile(engine, "Lucía Gómez Marín", location="Madrid", topics=["kubernetes"],
                     identities=[{"platform": "x", "handle": "luciagm"}])
    b = make_profile(engine, "Lucia Gomez", location="Sevilla", topics=["devops"], bio="DevOps",
                     identities=[{"platform": "github", "handle": "lgomez"}])
    return a.id or 0, b.id or 0


def test_duplicates_page_full_and_fragment(manager_client: TestClient, engine: Engine) -> None:
    a, b = _pair(engine)
    page = soup(manager_client.get("/people/duplicates"))
    assert page.select_one("title").text.startswith("Possible duplicates")
    row = page.select_one(f"tr.suggestion[data-pair='{a}-{b}']")
    assert row is not None
    assert [c.select_one("strong").text for c in row.select("td.person-card")] == ["Lucía Gómez Marín", "Lucia Gomez"]
    assert "Sevilla" in row.select("td.person-card")[1].text and "lgomez" in row.text
    assert [r.text for r in row.select(".chip.reason")] == ["similar name"]
    assert row.select_one(f"a[href='/people/{a}/merge?other={b}']") is not None
    fragment = manager_client.get("/people/duplicates", headers=HX)
    assert fragment.headers["vary"] == "HX-Request"
    frag = soup(fragment)
    assert frag.select_one("html") is None and frag.select_one("#duplicates tr.suggestion") is not None


def test_dismiss_hides_the_pair_and_viewers_cannot(manager_client: TestClient, engine: Engine) -> None:
    a, b = _pair(engine)
    response = manager_client.post("/people/duplicates/dismiss", data={"a": a, "b": b})
    assert response.status_code == 303
    page = soup(manager_client.get("/people/duplicates"))
    assert page.select_one("tr.suggestion") is None and page.select_one("p.empty") is not None
    assert manager_client.post("/people/duplicates/dismiss", data={"a": a, "b": "x"}).status_code == 422


def test_viewer_sees_queue_without_actions(viewer_client: TestClient, engine: Engine) -> None:
    _pair(engine)
    page = soup(viewer_client.get("/people/duplicates"))
    assert page.select_one("tr.suggestion") is not None and page.select_one("form[action='/people/duplicates/dismiss']") is None


def test_merge_screen_merge_and_undo(manager_client: TestClient, engine: Engine) -> None:
    a, b = _pair(engine)
    picker = soup(manager_client.get(f"/people/{a}/merge"))
    assert picker.select_one(f".similar-people a[href='/people/{a}/merge?other={b}']") is not None
    screen = manager_client.get(f"/people/{a}/merge?other={b}")
    assert screen.status_code == 200
    page = soup(screen)
    assert page.select_one("tr[data-field=bio] input[value=merged]") is not None
    assert page.select_one("tr.union[data-field=topics] input[value=union]") is not None
    assert "1 identity" in page.select_one(".moves-identities").text
    fragment = soup(manager_client.get(f"/people/{a}/merge?other={b}", headers=HX))
    assert fragment.select_one("html") is None and fragment.select_one("#merge form.merge-form") is not None

    response = manager_client.post(f"/people/{a}/merge", data={"other": b, "choice-bio": "merged", "choice-topics": "union"})
    assert response.status_code == 303 and response.headers["location"] == f"/people/{a}"
    with Session(engine) as s:
        survivor = s.get(Profile, a)
        assert survivor is not None and survivor.bio == "DevOps" and survivor.topics == ["kubernetes", "devops"]
        assert s.get(Profile, b) is None
        assert {i.handle for i in s.exec(select(Identity).where(Identity.profile_id == a))} == {"luciagm", "lgomez"}
        merge_id = s.exec(select(MergeRecord.id)).one()

    merges_page = soup(manager_client.get("/merges"))
    row = merges_page.select_one(f"#merge-{merge_id}")
    assert row is not None and "Lucia Gomez" in row.text
    assert row.select_one(f"form[action='/merges/{merge_id}/undo']") is not None
    assert soup(manager_client.get("/merges", headers=HX)).select_one("html") is None

    undone = manager_client.post(f"/merges/{merge_id}/undo")
    assert undone.status_code == 303 and undone.headers["location"] == f"/people/{b}"
    with Session(engine) as s:
        assert s.get(Profile, b) is not None
        survivor = s.get(Profile, a)
        assert survivor is not None and survivor.bio == "" and survivor.topics == ["kubernetes"]
    again = manager_client.post(f"/merges/{merge_id}/undo")
    assert again.status_code == 303  # refused with a message, nothing changes
    assert soup(manager_client.get("/merges")).select_one(f"#merge-{merge_id} .chip").text == "undone"


def test_merge_errors_rerender_the_screen(manager_client: TestClient, engine: Engine) -> None:
    a, b = _pair(engine)
    same = manager_client.post(f"/people/{a}/merge", data={"other": a})
    assert same.status_code == 422 and soup(same).select_one(".field-error") is not None
    bad_choice = manager_client.post(f"/people/{a}/merge", data={"other": b, "choice-bio": "union"}, headers=HX)
    assert bad_choice.status_code == 422 and soup(bad_choice).select_one("#merge .field-error") is not None
    missing = manager_client.get(f"/people/{a}/merge?other=999999")
    assert missing.status_code == 422 and "999999" in soup(missing).select_one("#other-error").text
    with Session(engine) as s:
        assert s.get(Profile, b) is not None


def test_profile_page_buttons_and_export(manager_client: TestClient, engine: Engine) -> None:
    a, _ = _pair(engine)
    page = soup(manager_client.get(f"/people/{a}"))
    assert page.select_one(f".actions a[href='/people/{a}/merge']") is not None
    assert page.select_one(f".actions a[href='/people/{a}/export']") is not None
    response = manager_client.get(f"/people/{a}/export")
    assert response.status_code == 200 and "attachment" in response.headers["content-disposition"]
    data = json.loads(response.text)
    assert data["profile"]["display_name"] == "Lucía Gómez Marín" and data["identities"][0]["handle"] == "luciagm"
    with Session(engine) as s:
        # The person's events, in order (a user with the same id has events too: not these).
        actions = s.exec(select(AuditEvent.action).where(AuditEvent.object_type == "profile", AuditEvent.object_id == a)
                         .order_by(AuditEvent.id)).all()
        assert actions[-1] == "profile.export"


def test_a_viewer_exporting_a_person_does_not_see_staff_addresses(viewer_client, manager_client, engine):
    ana = make_profile(engine, "Ana")
    token = csrf_token(manager_client, f"/people/{ana.id}/edit")
    manager_client.post(f"/people/{ana.id}", data={"csrf_token": token, "display_name": "Ana María"})
    export = viewer_client.get(f"/api/v1/profiles/{ana.id}/export").json()
    assert export["audit_events"], "the export lists what was done to the person"
    assert all("ip" not in event and "user_agent" not in event for event in export["audit_events"])
