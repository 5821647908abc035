"""Signal pages: the list with its queues and filters, the new-signal form prefilled from a mention,
a signal's page (status buttons, resolve with a note, assign, notes, join, close the loop with the
contact refusal), departments, SLA targets, the dashboard widget. Fragments and full pages; viewers read only."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from crm.accounts.models import User
from crm.audit.actions import AuditAction
from crm.audit.models import AuditEvent
from crm.audit.service import SYSTEM, Actor
from crm.db import session_scope, utcnow
from crm.interactions import log
from crm.interactions.models import Interaction, InteractionIn
from crm.listening import signals
from crm.listening.models import Department, Signal, SignalItem, SlaTarget
from tests.factories import make_profile, make_user, soup

HX = {"HX-Request": "true"}
ACTOR = Actor(user_id=None, label="test")


def _log(engine, profile_id: int, kind: str = "complaint", title: str = "The app crashes when I export",
         **fields) -> int:
    with session_scope(engine, write=True) as s:
        return log.log_interaction(profile_id, InteractionIn.model_validate(
            {"kind": kind, "title": title, "occurred_at": utcnow() - timedelta(minutes=5), **fields}),
            session=s, actor=SYSTEM).id or 0


def _open(engine, profile_id: int | None, **fields) -> int:
    with session_scope(engine, write=True) as s:
        data = signals.SignalIn.model_validate({"type": "complaint", "title": "Crash on export",
                                                "profile_id": profile_id, **fields})
        return signals.create_signal(data, session=s, actor=ACTOR).id or 0


def _signal(engine, signal_id: int) -> Signal:
    with Session(engine) as s:
        found = s.get(Signal, signal_id)
        assert found is not None
        return found


def _user_id(engine, email: str) -> int:
    with Session(engine) as s:
        return s.exec(select(User.id).where(User.email == email)).one() or 0


# ---- the list ---------------------------------------------------------------------------------------


def test_empty_list_then_rows_sorted_with_breached_first(manager_client, engine):
    page = soup(manager_client.get("/signals"))
    assert page.select_one("title").get_text().startswith("Signals")
    assert page.select_one(".listening-tabs a[aria-current=page]")["href"] == "/signals"
    assert page.select_one("#no-signals a[href='/signals/new']") is not None
    person = make_profile(engine, "Ana").id
    calm, late = _open(engine, person), _open(engine, person, title="Late one")
    with session_scope(engine, write=True) as s:
        s.execute(update(Signal).where(col(Signal.id) == late).values(first_response_due=utcnow() - timedelta(hours=2)))
    page = soup(manager_client.get("/signals"))
    rows = page.select("tr.signal-row")
    assert [r["id"] for r in rows] == [f"signal-{late}", f"signal-{calm}"]
    assert "breached" in rows[0]["class"]
    assert rows[0].select_one(".sla-due.overdue").get_text(strip=True).startswith("overdue by 2")
    assert rows[1].select_one(".sla-due").get_text(strip=True).startswith("due in")
    assert rows[0].select_one("td[data-label]") is not None  # cards on a phone
    # Filter as a fragment: only the list comes back.
    fragment = manager_client.get("/signals?breached=true", headers=HX)
    assert fragment.headers["vary"] == "HX-Request"
    part = soup(fragment)
    assert part.select_one("title") is None and part.select_one("#signal-list") is not None
    assert [r["id"] for r in part.select("tr.signal-row")] == [f"signal-{late}"]


def test_my_signals_and_department_queues(manager_client, engine):
    me = _user_id(engine, "manager@example.com")
    mine = _open(engine, make_profile(engine, "Mine", owner_id=me).id)
    queued = _open(engine, make_profile(engine, "Queued").id)
    page = soup(manager_client.get("/signals?owner=me"))
    assert [r["id"] for r in page.select("tr.signal-row")] == [f"signal-{mine}"]
    assert page.select_one(".signal-queues a[aria-current]")["href"] == "/signals?owner=me"
    with Session(engine) as s:
        support = s.exec(select(Department.id).where(Department.name == "Support")).one()
    page = soup(manager_client.get(f"/signals?owner=none&department_id={support}"))
    assert [r["id"] for r in page.select("tr.signal-row")] == [f"signal-{queued}"]
    assert page.select_one(f".signal-queues a.queue[href='/signals?owner=none&department_id={support}']") is not None
    assert soup(manager_client.get("/signals?owner=none&type=praise")).select_one(".empty-state") is not None


def test_the_filter_form_syncs_and_pages(manager_client, engine):
    person = make_profile(engine).id
    for n in range(27):
        _open(engine, person, title=f"Signal {n}")
    page = soup(manager_client.get("/signals"))
    form = page.select_one("form#signal-filters")
    assert form["hx-sync"] == "this:replace"
    assert len(page.select("tr.signal-row")) == 25
    assert page.select_one(".pagination a[rel=next]")["href"] == "/signals?status=open&page=2"
    assert len(soup(manager_client.get("/signals?page=2")).select("tr.signal-row")) == 2


# ---- opening ----------------------------------------------------------------------------------------


def test_new_signal_from_a_mention_is_prefilled_and_routed(manager_client, engine):
    zoe = make_user(engine, "zoe@example.com", name="Zoe")
    person = make_profile(engine, "Ana", owner_id=zoe.id).id
    first, second = _log(engine, person), _log(engine, person, "post", "Me too", sentiment=-0.5)
    page = soup(manager_client.get(f"/signals/new?interaction_ids={first},{second}"))
    form = page.select_one("form#signal-form")
    assert form.select_one("select[name=type] option[selected]")["value"] == "complaint"
    assert form.select_one("input[name=title]")["value"] == "The app crashes when I export"
    assert form.select_one("input[name=interaction_ids]")["value"] == f"{first},{second}"
    assert form.select_one("select[name=owner_id] option[selected]")["value"] == str(zoe.id)
    assert form.select_one("#owner-suggestion").get_text(" ", strip=True) == "Suggested: Zoe owns this profile"
    assert not form.select("select[name=department_id] option[selected][value]:not([value=''])")  # by type, when saved
    assert len(form.select("#signal-about li")) == 2
    data = {field["name"]: field.get("value", "") for field in form.select("input[name]")}
    data |= {"type": "complaint", "priority": "high", "owner_id": str(zoe.id),
             "department_id": ""}
    response = manager_client.post("/signals", data=data)
    assert response.status_code == 303
    signal_id = int(response.headers["location"].rsplit("/", 1)[1])
    signal = _signal(engine, signal_id)
    with Session(engine) as s:
        assert s.get_one(Department, signal.department_id).name == "Support"  # a complaint's department
    assert (signal.owner_id, signal.priority, signal.profile_id) == (zoe.id, "high", person)
    with Session(engine) as s:
        assert [i.interaction_id for i in s.exec(select(SignalItem).where(SignalItem.signal_id == signal_id))] == [first, second]


def test_a_bad_form_comes_back_with_its_values_and_errors(manager_client, engine):
    person = make_profile(engine).id
    first = _log(engine, person)
    page = soup(manager_client.get(f"/signals/new?interaction_ids={first}"))
    token = page.select_one("input[name=csrf_token]")["value"]
    response = manager_client.post("/signals", headers=HX, data={
        "csrf_token": token, "type": "complaint", "title": "", "summary": "kept", "interaction_ids": f"{first},999999",
        "profile_id": str(person), "priority": "normal", "owner_id": "", "department_id": ""})
    assert response.status_code == 422
    form = soup(response).select_one("form#signal-form")
    assert form.select_one("#f-summary").get_text() == "kept"
    assert form.select_one("#title-error") is not None
    plain = manager_client.post("/signals", data={"csrf_token": token, "type": "complaint", "title": "Fine",
                                                  "interaction_ids": "999999", "priority": "normal"})
    assert plain.status_code == 422
    page = soup(plain)
    assert page.select_one("title") is not None  # the whole page without htmx
    assert "999999" in page.select_one("#interaction_ids-error").get_text()
    with Session(engine) as s:
        assert s.exec(select(Signal)).all() == []


def test_opening_from_an_alert_marks_it_acted_if_alerts_can(manager_client, engine):
    """The alert id travels with the form; the signal records it."""
    from crm.listening.models import Alert, AlertRule, Mention, Topic

    person = make_profile(engine).id
    iid = _log(engine, person, "post", "Broken again", sentiment=-0.7)
    with session_scope(engine, write=True) as s:
        topic = Topic(name="Brand", terms=["broken"])
        s.add(topic)
        s.flush()
        rule = AlertRule(name="Spike", topic_id=topic.id)
        s.add(rule)
        s.flush()
        mention = s.exec(select(Mention).where(Mention.interaction_id == iid)).first()
        if mention is None:
            mention = Mention(interaction_id=iid, topic_id=topic.id or 0, profile_id=person, occurred_at=utcnow())
            s.add(mention)
            s.flush()
        alert = Alert(rule_id=rule.id or 0, topic_id=topic.id or 0, fired_at=utcnow(), window_start=utcnow(),
                      observed=1, mention_ids=[mention.id])
        s.add(alert)
        s.flush()
        alert_id = alert.id
    form = soup(manager_client.get(f"/signals/new?alert_id={alert_id}")).select_one("form#signal-form")
    assert form.select_one("#from-alert") is not None
    assert form.select_one("input[name=interaction_ids]")["value"] == str(iid)
    data = {field["name"]: field.get("value", "") for field in form.select("input[name]")}
    data |= {"type": "complaint", "priority": "normal", "owner_id": "", "department_id": ""}
    response = manager_client.post("/signals", data=data)
    assert response.status_code == 303
    signal = _signal(engine, int(response.headers["location"].rsplit("/", 1)[1]))
    assert signal.alert_id == alert_id and signal.owner_id is None


# ---- one signal -------------------------------------------------------------------------------------


def test_signal_page_full_and_fragment(manager_client, engine):
    person = make_profile(engine, "Ana").id
    sid = _open(engine, person, interaction_ids=[_log(engine, person)])
    page = soup(manager_client.get(f"/signals/{sid}"))
    assert page.select_one("title").get_text().startswith("Crash on export")
    assert page.select_one("#signal-status").get_text(strip=True) == "New"
    assert page.select_one("#sla-due").get_text(" ", strip=True).startswith("due in 23 h")
    buttons = {b.get_text(strip=True) for b in page.select(".move-buttons button")}
    assert buttons == {"Mark triaged", "Mark in progress", "Mark waiting"}
    assert page.select_one("#resolve-form textarea[name=note]") is not None
    assert len(page.select("#signal-items .signal-items li")) == 1
    assert page.select_one("#signal-history li").get_text(" ", strip=True).endswith("opened a signal")
    assert soup(manager_client.get(f"/signals/{sid}", headers=HX)).select_one("title") is None
    assert manager_client.get("/signals/999999").status_code == 404


def test_status_buttons_move_in_place_and_resolving_needs_a_note(manager_client, engine):
    person = make_profile(engine).id
    sid = _open(engine, person)
    response = manager_client.post(f"/signals/{sid}/status", data={"status": "triaged"}, headers=HX)
    assert response.status_code == 200
    panel = soup(response)
    assert panel.select_one("title") is None
    assert panel.select_one("#signal-status").get_text(strip=True) == "Triaged"
    assert panel.select_one("#signal-notice").get_text(strip=True) == "The signal is now triaged."
    refused = manager_client.post(f"/signals/{sid}/status", data={"status": "resolved", "note": ""}, headers=HX)
    assert refused.status_code == 422
    assert soup(refused).select_one("#note-error") is not None
    assert _signal(engine, sid).status == "triaged"
    plain = manager_client.post(f"/signals/{sid}/status", data={"status": "resolved", "note": "Fixed in 2.3.1"})
    assert plain.status_code == 303 and plain.headers["location"] == f"/signals/{sid}"
    again = manager_client.post(f"/signals/{sid}/status", data={"status": "resolved", "note": "twice"}, headers=HX)
    assert again.status_code == 409
    assert "already" in soup(again).select_one("#signal-error").get_text()
    assert _signal(engine, sid).resolution_note == "Fixed in 2.3.1"
    page = soup(manager_client.get(f"/signals/{sid}"))
    history = [li.get_text(" ", strip=True) for li in page.select("#signal-history li")]
    assert any("Triaged → Resolved" in h for h in history)
    assert page.select_one("#close-loop form#loop-form") is not None


def test_assign_and_note(manager_client, engine):
    zoe = make_user(engine, "zoe@example.com", name="Zoe")
    sid = _open(engine, make_profile(engine).id)
    response = manager_client.post(f"/signals/{sid}", data={"owner_id": str(zoe.id), "priority": "urgent",
                                                            "type": "complaint", "title": "Crash", "department_id": ""},
                                   headers=HX)
    assert response.status_code == 200
    assert soup(response).select_one("#signal-owner").get_text(strip=True) == "Zoe"
    signal = _signal(engine, sid)
    assert (signal.owner_id, signal.priority, signal.department_id) == (zoe.id, "urgent", None)
    bad = manager_client.post(f"/signals/{sid}", data={"owner_id": "999999", "title": ""}, headers=HX)
    assert bad.status_code == 422 and soup(bad).select_one("details#signal-edit[open]") is not None
    noted = manager_client.post(f"/signals/{sid}/notes", data={"text": "Called them"}, headers=HX)
    assert noted.status_code == 200 and _signal(engine, sid).first_response_at is not None
    assert manager_client.post(f"/signals/{sid}/notes", data={"text": ""}, headers=HX).status_code == 422


def test_join_from_the_persons_recent_mentions_and_by_id(manager_client, engine):
    ana, ben = make_profile(engine, "Ana").id, make_profile(engine, "Ben").id
    first = _log(engine, ana)
    again = _log(engine, ana, "reply", "Still broken")
    elsewhere = _log(engine, ben, "post", "Same for me")
    sid = _open(engine, ana, interaction_ids=[first])
    page = soup(manager_client.get(f"/signals/{sid}"))
    assert [i["value"] for i in page.select("#join-form input[name=interaction_ids]")] == [str(again)]
    response = manager_client.post(f"/signals/{sid}/items", data={"interaction_ids": [str(again)],
                                                                  "more_ids": str(elsewhere)}, headers=HX)
    assert response.status_code == 200
    assert len(soup(response).select("#signal-items .signal-items li")) == 3
    assert manager_client.post(f"/signals/{sid}/items", data={"more_ids": str(first)}, headers=HX).status_code == 422


def test_close_the_loop_from_the_page_and_the_refusal_shown(manager_client, engine):
    person = make_profile(engine, "Ana", status="do_not_contact").id
    sid = _open(engine, person)
    manager_client.post(f"/signals/{sid}/status", data={"status": "resolved", "note": "Fixed in 2.3.1"})
    page = soup(manager_client.get(f"/signals/{sid}"))
    form = page.select_one("#loop-form")
    assert "do not contact" in page.select_one("#contact-refusal").get_text()
    message = form.select_one("textarea[name=message]").get_text()
    assert "Fixed in 2.3.1" in message and message.startswith("Hi Ana")
    refused = manager_client.post(f"/signals/{sid}/close-loop", data={"kind": "outreach_email", "message": message},
                                  headers=HX)
    assert refused.status_code == 422
    assert "do not contact" in soup(refused).select_one("#loop-form .flash-error").get_text()
    assert _signal(engine, sid).loop_interaction_id is None
    done = manager_client.post(f"/signals/{sid}/close-loop", data={
        "kind": "outreach_email", "message": message, "contact_anyway": "on",
        "follow_up_on": (utcnow() + timedelta(days=3)).date().isoformat()}, headers=HX)
    assert done.status_code == 200
    assert soup(done).select_one("#loop-done a")["href"] == f"/people/{person}"
    signal = _signal(engine, sid)
    with Session(engine) as s:
        told = s.get(Interaction, signal.loop_interaction_id)
        assert told is not None and told.kind == "outreach_email" and told.profile_id == person
    timeline = soup(manager_client.get(f"/people/{person}"))
    assert "Fixed in 2.3.1" in timeline.get_text()


def test_viewer_reads_but_cannot_change(viewer_client, engine):
    sid = _open(engine, make_profile(engine).id)
    page = soup(viewer_client.get(f"/signals/{sid}"))
    assert page.select_one("#signal-moves") is None and page.select_one("#join-form") is None
    assert soup(viewer_client.get("/signals")).select_one("#new-signal") is None
    for method, path, data in (("get", "/signals/new", None), ("get", "/signals/departments", None),
                               ("post", "/signals", {"title": "x"}), ("post", f"/signals/{sid}/status", {"status": "triaged"}),
                               ("post", f"/signals/{sid}", {"title": "x"}), ("post", f"/signals/{sid}/items", {"more_ids": "1"}),
                               ("post", f"/signals/{sid}/notes", {"text": "x"}), ("post", f"/signals/{sid}/close-loop", {}),
                               ("post", "/signals/sla", {}), ("post", "/signals/departments", {"name": "X"})):
        response = viewer_client.get(path) if method == "get" else viewer_client.post(path, data=data)
        assert response.status_code == 403, path
    sla = soup(viewer_client.get("/signals/sla"))
    assert sla.select_one("form#sla button[type=submit]") is None
    assert sla.select_one("input[name='complaint.urgent.first']").has_attr("readonly")
    assert _signal(engine, sid).status == "new"


# ---- departments and SLA ------------------------------------------------------------------------------


def test_departments_crud(manager_client, engine):
    page = soup(manager_client.get("/signals/departments"))
    names = sorted(i["value"] for i in page.select("#departments tbody input[name=name]"))
    assert names == ["Marketing", "Product", "Sales", "Support"]
    added = manager_client.post("/signals/departments", data={"name": "Legal", "email": "legal@example.com"}, headers=HX)
    assert added.status_code == 200 and soup(added).select_one("title") is None
    with Session(engine) as s:
        legal = s.exec(select(Department).where(Department.name == "Legal")).one()
        sales = s.exec(select(Department.id).where(Department.name == "Sales")).one()
    clash = manager_client.post("/signals/departments", data={"name": "support"}, headers=HX)
    assert clash.status_code == 422 and "already" in soup(clash).select_one("#department-add #name-error").get_text()
    renamed = manager_client.post(f"/signals/departments/{legal.id}", data={"name": "Legal & Privacy", "email": ""})
    assert renamed.status_code == 303
    bad = manager_client.post(f"/signals/departments/{legal.id}", data={"name": "Sales", "email": "x"}, headers=HX)
    assert bad.status_code == 422 and soup(bad).select_one(f"#department-{legal.id} input[aria-invalid]") is not None
    sid = _open(engine, None, department_id=sales)
    refused = manager_client.post(f"/signals/departments/{sales}/delete", headers=HX)  # an open signal is in it
    assert refused.status_code == 409 and "open signal" in soup(refused).select_one(".flash-error").get_text()
    with session_scope(engine, write=True) as s:
        signals.move(sid, signals.StatusIn(status="resolved", note="Done"), session=s, actor=SYSTEM)
    deleted = manager_client.post(f"/signals/departments/{sales}/delete", headers=HX)
    assert deleted.status_code == 200 and soup(deleted).select_one(f"#department-{sales}") is None
    assert _signal(engine, sid).department_id is None
    with Session(engine) as s:
        assert len(s.exec(select(AuditEvent).where(AuditEvent.action == AuditAction.department_update)).all()) == 3


def test_sla_targets_page(manager_client, engine):
    page = soup(manager_client.get("/signals/sla"))
    assert page.select_one("input[name='complaint.urgent.first']")["value"] == "1"
    assert page.select_one("input[name='praise.normal.first']")["value"] == ""
    form = page.select_one("form#sla")
    data = {i["name"]: i.get("value", "") for i in form.select("input[name]")}
    data |= {"praise.normal.first": "48", "praise.normal.resolution": "96", "complaint.low.first": "",
             "complaint.low.resolution": ""}
    saved = manager_client.post("/signals/sla", data=data, headers=HX)
    assert saved.status_code == 200 and soup(saved).select_one(".flash-success") is not None
    with Session(engine) as s:
        pairs = {(t.signal_type, t.priority) for t in s.exec(select(SlaTarget))}
    assert ("praise", "normal") in pairs and ("complaint", "low") not in pairs and len(pairs) == 8
    bad = manager_client.post("/signals/sla", data=data | {"praise.normal.first": "500", "sales_lead.low.first": "2"},
                              headers=HX)
    assert bad.status_code == 422
    errors = {e["id"]: e.get_text() for e in soup(bad).select(".field-error")}
    assert errors == {"sla-praise-normal-error": "The first response cannot come after the resolution.",
                      "sla-sales_lead-low-error": "Give both times, or neither."}
    assert soup(bad).select_one("input[name='praise.normal.first']")["value"] == "500"  # nothing lost


# ---- the dashboard ----------------------------------------------------------------------------------


def test_dashboard_loads_the_counts(manager_client, engine):
    me = _user_id(engine, "manager@example.com")
    _open(engine, make_profile(engine, "Mine", owner_id=me).id)
    late = _open(engine, make_profile(engine, "Queued").id)
    with session_scope(engine, write=True) as s:
        s.execute(update(Signal).where(col(Signal.id) == late).values(resolution_due=utcnow() - timedelta(hours=1)))
    dashboard = soup(manager_client.get("/"))
    assert dashboard.select_one("#signals-widget")["hx-get"] == "/signals/widget"
    widget = soup(manager_client.get("/signals/widget", headers=HX))
    assert widget.select_one("#count-mine strong").get_text() == "1"
    assert widget.select_one("#count-unassigned strong").get_text() == "1"
    assert widget.select_one("#count-breached a")["href"] == "/signals?breached=true"
    assert widget.select_one("#count-breached strong").get_text() == "1"
    full = manager_client.get("/signals/widget")
    assert full.status_code == 303 and full.headers["location"] == "/signals?owner=me"
