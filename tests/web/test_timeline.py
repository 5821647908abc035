"""The timeline on a person's page: logging, editing and deleting interactions (htmx fragments and full
pages), consent confirmation for outreach, filters, audit events inline, the person picker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from crm.audit.models import AuditEvent
from crm.audit.service import Actor
from crm.db import session_scope, utcnow
from crm.interactions import log
from crm.interactions.models import Interaction, InteractionIn, Relationship
from crm.profiles.models import Profile
from tests.factories import make_profile, make_user, soup

HX = {"HX-Request": "true"}


def _log(engine, profile_id: int, user_id: int | None = None, **fields) -> int:
    with session_scope(engine, write=True) as session:
        item = log.log_interaction(profile_id, InteractionIn.model_validate({"kind": "post", **fields}),
                                   session=session, actor=Actor(user_id=user_id, label="someone"))
        return item.id or 0


def _items(page) -> list[str]:
    items = page.select("#timeline li.timeline-item:not(.audit-event)")
    return [li.select_one(".item-title").get_text(" ", strip=True) for li in items]


def _titles(page) -> list[str]:
    return [li.select_one(".item-title").get_text(strip=True) for li in page.select("li.timeline-item")]


def _interactions(engine) -> list[Interaction]:
    with Session(engine) as session:
        return list(session.exec(select(Interaction).order_by(Interaction.id)).all())


def test_an_empty_profile_offers_the_log_form_and_a_viewer_does_not_see_it(manager_client, engine):
    ana = make_profile(engine, "Ana López")
    page = soup(manager_client.get(f"/people/{ana.id}"))
    form_box = page.select_one("details#log-interaction")
    assert form_box.has_attr("open")
    form = form_box.select_one("form.interaction-form")
    assert form["hx-post"] == form["action"] == f"/people/{ana.id}/interactions"
    assert form["hx-target"] == "#timeline-panel"
    assert form.select_one("select[name=kind] option[selected]")["value"] == "note"
    assert page.select_one(".empty-timeline") is not None
    _log(engine, ana.id, title="Something")
    assert not soup(manager_client.get(f"/people/{ana.id}")).select_one("details#log-interaction").has_attr("open")


def test_a_viewer_sees_no_log_form_and_cannot_log(viewer_client, engine):
    ana = make_profile(engine, "Ana López")
    page = soup(viewer_client.get(f"/people/{ana.id}"))
    assert page.select_one("#timeline-panel") is not None and page.select_one("#log-interaction") is None
    assert viewer_client.post(f"/people/{ana.id}/interactions", data={"kind": "note"}, headers=HX).status_code == 403


def test_logging_from_the_page_as_an_htmx_fragment(manager_client, engine):
    ana = make_profile(engine, "Ana López")
    bruno = make_profile(engine, "Bruno Díaz")
    response = manager_client.post(f"/people/{ana.id}/interactions", headers=HX, data={
        "kind": "forum_answer", "channel": "discourse", "occurred_at": "2026-03-01T10:30", "title": "How to tune WAL",
        "body": "Long answer", "url": "https://forum.example/t/1", "reach": "12,500", "engagements": "40",
        "sentiment": "0.5", "counterpart_id": str(bruno.id)})
    assert response.status_code == 200, response.text[:2000]
    page = soup(response)
    assert page.select_one("nav.breadcrumb") is None  # the panel only
    panel = page.select_one("section#timeline-panel")
    item = panel.select_one("li.kind-forum_answer")
    text = item.get_text(" ", strip=True)
    assert "How to tune WAL" in text and "Discourse" in text and "reach 12.5K" in text and "engagements 40" in text
    assert item.select_one(".sentiment").get_text(" ", strip=True) == "▲ positive (+0.5)"
    assert item.select_one(".counterpart a")["href"] == f"/people/{bruno.id}"
    assert item.select_one("a[href='https://forum.example/t/1']") is not None
    # the audit event is inline
    assert "logged an interaction" in panel.select_one("li.audit-event").get_text()
    [stored] = _interactions(engine)
    assert stored.occurred_at == datetime(2026, 3, 1, 10, 30, tzinfo=UTC)
    assert stored.reach == 12500 and stored.created_by_id is not None and stored.source == "manual"
    with Session(engine) as session:
        assert session.get(Profile, ana.id).contribution_count == 1  # stats refreshed
        edge = session.exec(select(Relationship)).one()
        assert (edge.source_id, edge.target_id, edge.kind, edge.origin) == (ana.id, bruno.id, "replies_to", "interaction")
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "interaction.create")).all()
        assert len(events) == 1 and events[0].object_id == ana.id and events[0].after["title"] == "How to tune WAL"


def test_logging_as_a_plain_form_redirects_to_the_profile(manager_client, engine):
    ana = make_profile(engine, "Ana López")
    response = manager_client.post(f"/people/{ana.id}/interactions", data={"kind": "note", "title": "Met at FOSDEM"})
    assert response.status_code == 303 and response.headers["location"] == f"/people/{ana.id}#timeline"
    page = soup(manager_client.get(f"/people/{ana.id}"))
    assert _items(page) == ["Met at FOSDEM"]
    assert (utcnow() - _interactions(engine)[0].occurred_at) < timedelta(minutes=1)  # empty time: now


def test_the_time_typed_is_read_in_the_configured_time_zone(settings, engine):
    from starlette.testclient import TestClient

    from crm.app import create_app
    from tests.factories import sign_in

    app = create_app(settings.model_copy(update={"time_zone": "Europe/Madrid"}))
    make_user(engine, "m@example.com", role="manager")
    ana = make_profile(engine, "Ana López")
    with TestClient(app, follow_redirects=False) as client:
        sign_in(client, "m@example.com")
        assert client.post(f"/people/{ana.id}/interactions", data={"kind": "note", "occurred_at": "2026-07-01T10:00"},
                           headers=HX).status_code == 200
        item = _interactions(engine)[0]
        assert item.occurred_at == datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
        form = soup(client.get(f"/people/{ana.id}/interactions/{item.id}/edit", headers=HX))
        assert form.select_one("input[name=occurred_at]")["value"] == "2026-07-01T10:00"


def test_bad_input_keeps_what_was_typed(manager_client, engine):
    ana = make_profile(engine, "Ana López")
    data = {"kind": "post", "title": "Keep me", "reach": "lots", "url": "forum.example/t/1", "occurred_at": "yesterday",
            "sentiment": "0.5", "body": "typed text"}
    response = manager_client.post(f"/people/{ana.id}/interactions", headers=HX, data=data)
    assert response.status_code == 422
    page = soup(response)
    form = page.select_one("#timeline-panel form.interaction-form")
    assert page.select_one("details#log-interaction").has_attr("open")
    assert form.select_one("input[name=title]")["value"] == "Keep me"
    assert form.select_one("input[name=reach]")["value"] == "lots"
    assert form.select_one("input[name=reach]")["aria-invalid"] == "true"
    assert form.select_one("textarea[name=body]").get_text() == "typed text"
    assert form.select_one("select[name=sentiment] option[selected]")["value"] == "0.5"
    errors = " ".join(e.get_text() for e in form.select(".field-error"))
    assert "whole number" in errors and "http" in errors and "2026-03-31 14:30" in errors
    assert _interactions(engine) == []
    # the same without htmx: a page with the form
    full = manager_client.post(f"/people/{ana.id}/interactions", data=data)
    assert full.status_code == 422
    page = soup(full)
    assert page.select_one("nav.breadcrumb") is not None and page.title.get_text().startswith("Log an interaction")
    assert page.select_one("form.interaction-form input[name=title]")["value"] == "Keep me"
    assert not page.select_one("form.interaction-form").has_attr("hx-post")
    # an unknown counterpart is a field error too
    response = manager_client.post(f"/people/{ana.id}/interactions", headers=HX,
                                   data={"kind": "note", "counterpart_id": "999999"})
    assert response.status_code == 422 and "no person" in soup(response).select_one(".field-error").get_text()


def test_outreach_to_someone_who_may_not_be_contacted_asks_first(manager_client, engine):
    bruno = make_profile(engine, "Bruno Díaz", may_contact=False)
    data = {"kind": "outreach_email", "title": "Invitation"}
    response = manager_client.post(f"/people/{bruno.id}/interactions", headers=HX, data=data)
    assert response.status_code == 422
    warning = soup(response).select_one(".consent-warning")
    assert "Bruno Díaz has not agreed to be contacted" in warning.get_text()
    assert warning.select_one("input[type=checkbox][name=contact_anyway]") is not None
    assert soup(response).select_one("input[name=title]")["value"] == "Invitation"
    assert _interactions(engine) == []
    # a note needs no confirmation
    assert manager_client.post(f"/people/{bruno.id}/interactions", headers=HX, data={"kind": "note"}).status_code == 200
    # confirmed
    ok = manager_client.post(f"/people/{bruno.id}/interactions", headers=HX, data={**data, "contact_anyway": "on"})
    assert ok.status_code == 200 and [i.kind for i in _interactions(engine)] == ["note", "outreach_email"]


def test_do_not_contact_status_is_the_reason_given(manager_client, engine):
    carla = make_profile(engine, "Carla Gil", may_contact=True, status="do_not_contact")
    response = manager_client.post(f"/people/{carla.id}/interactions", data={"kind": "outreach_dm"})
    assert response.status_code == 422
    assert "do not contact" in soup(response).select_one(".consent-warning").get_text()
    dana = make_profile(engine, "Dana Ruiz", may_contact=True, status="active")
    assert manager_client.post(f"/people/{dana.id}/interactions", data={"kind": "outreach_dm"}).status_code == 303


def test_editing_an_entry_in_place(manager_client, engine):
    ana = make_profile(engine, "Ana López")
    other = make_user(engine, "other@example.com", role="admin")
    iid = _log(engine, ana.id, user_id=other.id, title="Old title", reach=10)
    page = soup(manager_client.get(f"/people/{ana.id}"))
    edit = page.select_one(f"#item-{iid} .item-actions a")
    assert edit["hx-get"] == f"/people/{ana.id}/interactions/{iid}/edit" and edit["hx-target"] == f"#item-{iid}"
    fragment = soup(manager_client.get(edit["hx-get"], headers=HX))
    form = fragment.select_one(f"li#item-{iid} form")
    assert form["hx-target"] == f"#item-{iid}" and form.select_one("input[name=title]")["value"] == "Old title"
    assert fragment.select_one("nav") is None
    full = soup(manager_client.get(edit["hx-get"]))
    assert full.select_one("nav.breadcrumb") is not None and not full.select_one("form.interaction-form").has_attr("hx-post")
    # bad input: the form again, with the values
    bad = manager_client.post(f"/people/{ana.id}/interactions/{iid}", headers=HX,
                              data={"kind": "post", "title": "New", "reach": "-5"})
    assert bad.status_code == 422 and soup(bad).select_one("input[name=title]")["value"] == "New"
    saved = manager_client.post(f"/people/{ana.id}/interactions/{iid}", headers=HX,
                                data={"kind": "post", "title": "New title", "reach": "20", "occurred_at": "2026-01-02T03:04"})
    assert saved.status_code == 200
    assert soup(saved).select_one(f"li#item-{iid} .item-title").get_text(strip=True) == "New title"
    [item] = _interactions(engine)
    assert item.title == "New title" and item.reach == 20 and item.updated_at is not None and item.created_by_id == other.id
    with Session(engine) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "interaction.update")).one()
        assert event.before["title"] == "Old title" and event.after["title"] == "New title"
    # cancel puts the entry back; without htmx it is a page of its own
    assert soup(manager_client.get(f"/people/{ana.id}/interactions/{iid}", headers=HX)).select_one(f"li#item-{iid}") is not None
    assert soup(manager_client.get(f"/people/{ana.id}/interactions/{iid}")).select_one("nav.breadcrumb") is not None
    # plain form
    plain = manager_client.post(f"/people/{ana.id}/interactions/{iid}", data={"kind": "note", "title": "Plain"})
    assert plain.status_code == 303
    # another person's entry id under this profile is not found
    bruno = make_profile(engine, "Bruno Díaz")
    assert manager_client.get(f"/people/{bruno.id}/interactions/{iid}/edit", headers=HX).status_code == 404


def test_who_may_edit_which_entries(engine):
    from crm.accounts.models import User

    entry = Interaction(profile_id=1, kind="note", occurred_at=utcnow(), created_by_id=7)
    assert log.may_edit(entry, User(id=9, email="a", name="a", password_hash="", role="admin"))
    assert log.may_edit(entry, User(id=9, email="m", name="m", password_hash="", role="manager"))
    assert not log.may_edit(entry, User(id=7, email="v", name="v", password_hash="", role="viewer"))
    assert not log.may_edit(entry, User(id=7, email="x", name="x", password_hash="", role="manager", is_active=False))
    assert not log.may_edit(entry, None)


def test_viewers_cannot_edit_or_delete_and_see_no_buttons(viewer_client, engine):
    ana = make_profile(engine, "Ana López")
    iid = _log(engine, ana.id, title="Entry")
    page = soup(viewer_client.get(f"/people/{ana.id}"))
    assert page.select_one(f"#item-{iid}") is not None and page.select_one(f"#item-{iid} .item-actions") is None
    assert viewer_client.get(f"/people/{ana.id}/interactions/{iid}/edit").status_code == 403
    assert viewer_client.post(f"/people/{ana.id}/interactions/{iid}", data={"kind": "note"}).status_code == 403
    assert viewer_client.post(f"/people/{ana.id}/interactions/{iid}/delete").status_code == 403
    assert len(_interactions(engine)) == 1


def test_delete_with_confirmation_and_undo(manager_client, engine):
    ana = make_profile(engine, "Ana López")
    bruno = make_profile(engine, "Bruno Díaz")
    iid = _log(engine, ana.id, title="Oops", counterpart_id=bruno.id)
    page = soup(manager_client.get(f"/people/{ana.id}"))
    delete = page.select_one(f"#item-{iid} .item-actions a.danger")
    assert delete["hx-confirm"] and delete["href"] == f"/people/{ana.id}/interactions/{iid}/delete"
    confirm = soup(manager_client.get(delete["href"]))
    assert confirm.select_one(".confirm-delete form")["action"] == f"/people/{ana.id}/interactions/{iid}/delete"
    response = manager_client.post(delete["hx-post"], headers=HX)
    assert response.status_code == 200
    panel = soup(response)
    assert _items(panel) == [] and "deleted" in panel.select_one(".undo").get_text().lower()
    with Session(engine) as session:
        assert session.exec(select(Relationship)).all() == []  # the derived edge went with it
        assert session.exec(select(AuditEvent).where(AuditEvent.action == "interaction.delete")).one().before["title"] == "Oops"
    undo = panel.select_one(".undo button")["hx-post"]
    again = manager_client.post(undo, headers=HX)
    assert again.status_code == 200 and _items(soup(again)) == ["Oops"]
    [restored] = _interactions(engine)
    assert restored.counterpart_id == bruno.id
    with Session(engine) as session:
        assert len(session.exec(select(Relationship)).all()) == 1
    assert manager_client.post(undo, headers=HX).status_code == 422  # only once
    # plain form: a redirect with a flash
    plain = manager_client.post(f"/people/{ana.id}/interactions/{restored.id}/delete")
    assert plain.status_code == 303 and plain.headers["location"].startswith(f"/people/{ana.id}")
    assert _interactions(engine) == []


def test_undo_refused_even_after_many_later_events(manager_client, engine):
    ana = make_profile(engine, "Ana López")
    iid = _log(engine, ana.id, title="Oops")
    panel = soup(manager_client.post(f"/people/{ana.id}/interactions/{iid}/delete", headers=HX))
    undo = panel.select_one(".undo button")["hx-post"]
    assert manager_client.post(undo, headers=HX).status_code == 200
    for n in range(55):  # push the undo's audit event far out of the person's recent events
        _log(engine, ana.id, title=f"Later {n}")
    assert manager_client.post(undo, headers=HX).status_code == 422
    assert [i.title for i in _interactions(engine)].count("Oops") == 1


def test_filters_by_kind_channel_and_dates(manager_client, engine):
    ana = make_profile(engine, "Ana López")
    base = datetime(2026, 3, 10, 12, tzinfo=UTC)
    _log(engine, ana.id, kind="post", channel="x", title="X post", occurred_at=base)
    _log(engine, ana.id, kind="post", channel="blog", title="Blog post", occurred_at=base - timedelta(days=5))
    _log(engine, ana.id, kind="talk", channel="event", title="Talk", occurred_at=base - timedelta(days=20))
    page = soup(manager_client.get(f"/people/{ana.id}"))
    form = page.select_one("form.timeline-filters")
    assert form["hx-get"] == f"/people/{ana.id}/timeline" and form["hx-target"] == "#timeline"
    assert [o["value"] for o in form.select("select[name=channel] option")] == ["", "blog", "event", "x"]
    fragment = soup(manager_client.get(f"/people/{ana.id}/timeline?kind=post", headers=HX))
    assert _titles(fragment) == ["X post", "Blog post"]
    assert fragment.select_one("li.audit-event") is None  # events only in the unfiltered timeline
    assert "2 of 2 matching" in fragment.select_one("#timeline-more").get_text()
    fragment = soup(manager_client.get(f"/people/{ana.id}/timeline?channel=blog", headers=HX))
    assert _titles(fragment) == ["Blog post"]
    fragment = soup(manager_client.get(f"/people/{ana.id}/timeline?since=2026-03-01&until=2026-03-09", headers=HX))
    assert _titles(fragment) == ["Blog post"]
    empty = soup(manager_client.get(f"/people/{ana.id}/timeline?kind=review", headers=HX))
    assert "Nothing matches" in empty.select_one("#timeline-more").get_text()
    # a bad filter value is ignored, not a 500
    assert manager_client.get(f"/people/{ana.id}/timeline?kind=nope&since=never", headers=HX).status_code == 200
    # without htmx: the filtered timeline as a page
    full = soup(manager_client.get(f"/people/{ana.id}/timeline?kind=talk"))
    assert _items(full) == ["Talk"] and full.select_one("#tf-kind option[selected]")["value"] == "talk"


def test_older_pages_keep_the_filters(manager_client, engine):
    ana = make_profile(engine, "Ana López")
    with session_scope(engine, write=True) as session:
        for n in range(25):
            session.add(Interaction(profile_id=ana.id, kind="post" if n % 2 else "note", title=f"E{n:02d}",
                                    occurred_at=utcnow() - timedelta(days=n)))
    with session_scope(engine, write=True) as session:
        for n in range(25):
            session.add(Interaction(profile_id=ana.id, kind="post", title=f"P{n:02d}",
                                    occurred_at=utcnow() - timedelta(days=100 + n)))
    first = soup(manager_client.get(f"/people/{ana.id}/timeline?kind=post", headers=HX))
    more = first.select_one("#timeline-more button")["hx-get"]
    assert more == f"/people/{ana.id}/timeline?kind=post&offset=20"
    older = soup(manager_client.get(more, headers=HX))
    titles = [li.select_one(".item-title").get_text(strip=True) for li in older.select("li.timeline-item")]
    assert len(titles) == 17 and all(t.startswith("P") for t in titles)


def test_each_audit_event_appears_on_one_page_only(manager_client, engine):
    ana = make_profile(engine, "Ana López")  # "added a person" now
    with session_scope(engine, write=True) as session:
        for n in range(30):
            session.add(Interaction(profile_id=ana.id, kind="post", title=f"Old {n}",
                                    occurred_at=utcnow() - timedelta(days=n + 1)))
    first = soup(manager_client.get(f"/people/{ana.id}"))
    assert len(first.select("#timeline li.audit-event")) == 1
    older = soup(manager_client.get(f"/people/{ana.id}/timeline?offset=20", headers=HX))
    assert older.select("li.audit-event") == [] and len(older.select("li.timeline-item")) == 10


def test_the_person_picker(manager_client, engine):
    ana = make_profile(engine, "Ana López")
    make_profile(engine, "Lucía Gómez", location="Madrid")
    make_profile(engine, "Luis 100%")
    picker = soup(manager_client.get(f"/people/{ana.id}/picker?q=lucia", headers=HX))
    options = [(i["name"], i["value"], i.parent.get_text(" ", strip=True)) for i in picker.select("input[type=radio]")]
    assert options[0] == ("counterpart_id", "", "Nobody")
    assert [o[2] for o in options[1:]] == ["Lucía Gómez · Madrid"]
    herself = soup(manager_client.get(f"/people/{ana.id}/picker?q=ana", headers=HX))
    assert len(herself.select("input[type=radio]")) == 1  # only "Nobody": not herself
    assert soup(manager_client.get(f"/people/{ana.id}/picker?q=%25", headers=HX)).select("input[value]")[1:] != []
    rel = soup(manager_client.get(f"/people/{ana.id}/picker?q=luis&field=other_id", headers=HX))
    assert {i["name"] for i in rel.select("input")} == {"other_id"}
    assert "Nobody matches" in soup(manager_client.get(f"/people/{ana.id}/picker?q=zzz", headers=HX)).get_text()
    full = manager_client.get(f"/people/{ana.id}/picker?q=lucia")
    assert full.status_code == 303 and full.headers["location"] == "/people?q=lucia"


def test_the_log_form_page(manager_client, engine):
    bruno = make_profile(engine, "Bruno Díaz", may_contact=False)
    page = soup(manager_client.get(f"/people/{bruno.id}/interactions/new?kind=outreach_dm"))
    assert page.select_one("select[name=kind] option[selected]")["value"] == "outreach_dm"
    assert "has not agreed to be contacted" in page.select_one(".consent-note").get_text()
    fragment = soup(manager_client.get(f"/people/{bruno.id}/interactions/new", headers=HX))
    assert fragment.select_one("nav") is None and fragment.select_one("#log-form form") is not None
