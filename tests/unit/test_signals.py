"""Signals (crm.listening.signals) on a real database: SLA due times (tightened for a champion, none for a
type without targets), breaches, audited status moves, reopening when the person writes again (logged
and imported), closed staying closed, joining mentions, closing the loop, queues and the report's numbers,
and two resolutions at once."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

from crm.audit.actions import AuditAction
from crm.audit.models import AuditEvent
from crm.audit.service import SYSTEM, Actor
from crm.db import session_scope, utcnow
from crm.errors import Conflict, InvalidInput
from crm.imports import service as imports
from crm.imports.importer import ImportSpec
from crm.imports.rows import Entity, suggest_mapping
from crm.interactions import log
from crm.interactions.models import Interaction, InteractionIn
from crm.jobs import service as jobs
from crm.listening import signals
from crm.listening.models import Department, Signal, SignalItem, SignalStatus, SignalType, SlaTarget
from crm.profiles.models import Profile
from tests.factories import make_profile, make_user

ACTOR = Actor(user_id=None, label="test")


def _interaction(engine, profile_id: int, kind: str = "complaint", *, when: datetime | None = None,
                 sentiment: float | None = None, title: str = "The app crashes on login") -> int:
    with session_scope(engine, write=True) as s:
        item = log.log_interaction(profile_id, InteractionIn(kind=kind, title=title, occurred_at=when or utcnow(),
                                                             sentiment=sentiment, contact_anyway=True),
                                   session=s, actor=SYSTEM)
        return item.id or 0


def _open(engine, profile_id: int | None, *, type_: str = "complaint", priority: str = "normal",
          interaction_ids: list[int] | None = None, **extra) -> int:
    with session_scope(engine, write=True) as s:
        data = signals.SignalIn.model_validate({"type": type_, "title": "Crash", "profile_id": profile_id,
                                                "priority": priority, "interaction_ids": interaction_ids or [], **extra})
        return signals.create_signal(data, session=s, actor=ACTOR).id or 0


def _get(engine, signal_id: int) -> Signal:
    with Session(engine) as s:
        found = s.get(Signal, signal_id)
        assert found is not None
        s.expunge(found)
        return found


def _move(engine, signal_id: int, status: str, note: str = "") -> Signal:
    with session_scope(engine, write=True) as s:
        return signals.move(signal_id, signals.StatusIn(status=status, note=note), session=s, actor=ACTOR)


def _hours(delta: timedelta | None) -> float:
    assert delta is not None
    return round(delta.total_seconds() / 3600, 3)


# ---- SLA -----------------------------------------------------------------------------------------


def test_defaults_are_created_once_and_an_emptied_table_stays_empty(engine):
    with session_scope(engine, write=True) as s:
        assert signals.ensure_defaults(session=s) is True
        assert signals.ensure_defaults(session=s) is False
        assert sorted(d.name for d in signals.departments(session=s)) == ["Marketing", "Product", "Sales", "Support"]
        targets = {(t.signal_type, t.priority): (t.first_response_hours, t.resolution_hours)
                   for t in signals.sla_targets(session=s)}
        assert targets[("complaint", "urgent")] == (1, 8) and targets[("support_request", "low")] == (72, 240)
        assert len(targets) == 8
        signals.save_sla_targets(signals.SlaTargetsIn(targets=[]), session=s, actor=ACTOR)
    with session_scope(engine, write=True) as s:
        assert signals.ensure_defaults(session=s) is False
        assert signals.sla_targets(session=s) == []
        event = s.exec(select(AuditEvent).where(AuditEvent.action == AuditAction.sla_update)).one()
        assert len(event.before["targets"]) == 8 and event.after == {"targets": []}


def test_due_times_follow_the_target_and_are_halved_for_a_champion(engine):
    stranger = make_profile(engine, "Stranger").id
    champion = make_profile(engine, "Champion").id
    with session_scope(engine, write=True) as s:
        s.execute(update(Profile).where(col(Profile.id) == champion).values(level=1, score=91.0))
    plain = _get(engine, _open(engine, stranger, priority="high"))
    assert _hours(plain.first_response_due - plain.created_at) == 4
    assert _hours(plain.resolution_due - plain.created_at) == 24
    assert plain.sla_note == ""
    tight = _get(engine, _open(engine, champion, priority="high"))
    assert _hours(tight.first_response_due - tight.created_at) == 2
    assert _hours(tight.resolution_due - tight.created_at) == 24  # only the first response is tightened
    assert "champion" in tight.sla_note


def test_high_score_or_high_reach_halves_too_and_says_why(engine):
    advocate = make_profile(engine, "Advocate").id
    loud = make_profile(engine, "Loud").id
    with session_scope(engine, write=True) as s:
        s.execute(update(Profile).where(col(Profile.id) == advocate).values(level=2, score=80.0))
        s.execute(update(Profile).where(col(Profile.id) == loud).values(level=4, score=10.0, reach=250_000))
    a = _get(engine, _open(engine, advocate))
    b = _get(engine, _open(engine, loud))
    assert _hours(a.first_response_due - a.created_at) == 12 and "score 80" in a.sla_note
    assert _hours(b.first_response_due - b.created_at) == 12 and "reach" in b.sla_note


def test_a_type_without_targets_has_no_sla_and_never_breaches(engine):
    person = make_profile(engine).id
    signal = _get(engine, _open(engine, person, type_="praise"))
    assert signal.first_response_due is None and signal.resolution_due is None
    assert signal.sla_note == "No SLA for this type."
    state = signals.sla_state(signal, utcnow() + timedelta(days=400))
    assert not state.has_sla and not state.breached and state.words == ""


def test_breaches_are_seen_by_the_state_the_list_and_the_counts(engine):
    person = make_profile(engine).id
    late = _open(engine, person)
    fine = _open(engine, person)
    with session_scope(engine, write=True) as s:
        s.execute(update(Signal).where(col(Signal.id) == late).values(first_response_due=utcnow() - timedelta(hours=3)))
    signal = _get(engine, late)
    state = signals.sla_state(signal)
    assert state.breached and state.due_kind == "first_response" and state.words.startswith("overdue by 3")
    assert signals.sla_state(_get(engine, fine)).words.startswith("due in 23")
    with Session(engine) as s:
        listing = signals.list_signals(signals.SignalQuery(breached=True), session=s, user_id=None)
        assert [r.signal.id for r in listing.rows] == [late]
        everything = signals.list_signals(signals.SignalQuery(), session=s, user_id=None)
        assert [r.signal.id for r in everything.rows] == [late, fine]  # breached first
        assert signals.widget_counts(session=s, user_id=None).breached == 1
    # Answered: the first response is no longer due; the resolution is not yet late.
    _move(engine, late, "triaged")
    assert not signals.sla_state(_get(engine, late)).breached


# ---- routing into the signal ----------------------------------------------------------------------


def test_opening_picks_the_suggested_owner_and_the_default_department(engine):
    zoe = make_user(engine, "zoe@example.com", name="Zoe")
    person = make_profile(engine, owner_id=zoe.id).id
    nobody = make_profile(engine, "Nobody").id
    with Session(engine) as s:
        support = s.exec(select(Department.id).where(Department.name == "Support")).first()
    assert support is None  # not before first use
    owned = _get(engine, _open(engine, person))
    queued = _get(engine, _open(engine, nobody, type_="bug_report"))
    explicit = _get(engine, _open(engine, person, owner_id=None))
    with Session(engine) as s:
        names = {d.id: d.name for d in s.exec(select(Department))}
    assert owned.owner_id == zoe.id and names[owned.department_id or 0] == "Support"
    assert queued.owner_id is None and names[queued.department_id or 0] == "Product"
    assert explicit.owner_id is None  # null on purpose: the queue


def test_prefill_reads_the_first_interaction(engine):
    person = make_profile(engine).id
    bug = _interaction(engine, person, "bug_report", title="Export button does nothing")
    happy = _interaction(engine, person, "post", sentiment=0.8, title="Love the new release")
    grumpy = _interaction(engine, person, "post", sentiment=-0.6, title="Worst update ever")
    with Session(engine) as s:
        assert signals.prefill([bug, happy], None, None, session=s).values["type"] == "bug_report"
        assert signals.prefill([happy], None, None, session=s).values["type"] == "praise"
        filled = signals.prefill([grumpy], None, None, session=s)
    assert filled.values["type"] == "complaint" and filled.values["title"] == "Worst update ever"
    assert filled.values["profile_id"] == str(person) and filled.values["interaction_ids"] == str(grumpy)


# ---- statuses -------------------------------------------------------------------------------------


def test_status_moves_are_audited_and_resolving_needs_a_note(engine):
    person = make_profile(engine).id
    sid = _open(engine, person)
    _move(engine, sid, "triaged")
    _move(engine, sid, "in_progress")
    with pytest.raises(InvalidInput) as refused:
        _move(engine, sid, "resolved")
    assert "note" in refused.value.field_errors
    resolved = _move(engine, sid, "resolved", "Fixed in 2.3.1")
    assert resolved.resolved_at is not None and resolved.resolution_note == "Fixed in 2.3.1"
    assert resolved.first_response_at is not None
    _move(engine, sid, "closed")
    with pytest.raises(InvalidInput):
        _move(engine, sid, "in_progress")  # closed is the end
    with Session(engine) as s:
        events = s.exec(select(AuditEvent).where(AuditEvent.object_type == "signal", AuditEvent.object_id == sid)
                        .order_by(col(AuditEvent.id))).all()
    moves = [(e.before["status"], e.after["status"]) for e in events if e.action == AuditAction.signal_update]
    assert events[0].action == AuditAction.signal_create
    assert moves == [("new", "triaged"), ("triaged", "in_progress"), ("in_progress", "resolved"), ("resolved", "closed")]


def test_a_note_is_a_first_response(engine):
    sid = _open(engine, make_profile(engine).id)
    with session_scope(engine, write=True) as s:
        signals.add_note(sid, signals.NoteIn(text="Looking into it"), session=s, actor=ACTOR)
    signal = _get(engine, sid)
    assert signal.first_response_at is not None and signal.status == "new"


def test_two_resolutions_at_once_make_one(engine):
    """The first holds the row until it commits; the second then sees it resolved and gets a 409."""
    sid = _open(engine, make_profile(engine).id)
    results: list[str] = []
    first_in = threading.Event()

    def first() -> None:
        with session_scope(engine, write=True) as s:
            signals.move(sid, signals.StatusIn(status="resolved", note="one"), session=s, actor=ACTOR)
            first_in.set()
            time.sleep(0.5)
        results.append("first")

    def second() -> None:
        first_in.wait(5)
        try:
            with session_scope(engine, write=True) as s:
                signals.move(sid, signals.StatusIn(status="resolved", note="two"), session=s, actor=ACTOR)
            results.append("second")
        except Conflict:
            results.append("conflict")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert sorted(results) == ["conflict", "first"]
    assert _get(engine, sid).resolution_note == "one"
    with Session(engine) as s:
        resolutions = s.exec(select(AuditEvent).where(AuditEvent.object_id == sid,
                                                      AuditEvent.action == AuditAction.signal_update)).all()
    assert len(resolutions) == 1


# ---- reopening ------------------------------------------------------------------------------------


def _resolved(engine, person: int) -> int:
    first = _interaction(engine, person, when=utcnow() - timedelta(days=2))
    sid = _open(engine, person, interaction_ids=[first])
    _move(engine, sid, "resolved", "Fixed")
    return sid


def test_a_new_message_from_the_person_reopens_a_resolved_signal(engine):
    person = make_profile(engine).id
    sid = _resolved(engine, person)
    before = _get(engine, sid)
    again = _interaction(engine, person, "reply", title="Still crashing")
    signal = _get(engine, sid)
    assert signal.status == SignalStatus.in_progress and signal.reopened_count == 1
    assert signal.resolved_at is None and signal.first_response_at is None
    assert signal.first_response_due is not None and signal.first_response_due > before.first_response_due
    with Session(engine) as s:
        items = {i.interaction_id: i.reason for i in s.exec(select(SignalItem).where(SignalItem.signal_id == sid))}
        event = s.exec(select(AuditEvent).where(AuditEvent.action == AuditAction.signal_reopen)).one()
    assert items[again] == "reopened"
    assert event.actor_id is None and event.object_id == sid and event.after["interaction_ids"] == [again]


def test_our_own_outreach_older_messages_and_other_people_do_not_reopen(engine):
    person = make_profile(engine, may_contact=True).id
    other = make_profile(engine, "Someone else").id
    sid = _resolved(engine, person)
    _interaction(engine, person, "outreach_email", title="We fixed it")
    _interaction(engine, person, "note", title="Called them")
    _interaction(engine, person, "reply", when=utcnow() - timedelta(days=5), title="An old reply imported late")
    _interaction(engine, other, "complaint")
    _interaction(engine, person, "event_attendance", title="Attended the Madrid meetup")  # not writing to us
    _interaction(engine, person, "forum_answer", title="Answered someone else")
    _interaction(engine, person, "post", title="Works now, thanks!", sentiment=0.8)  # a happy message
    assert _get(engine, sid).status == SignalStatus.resolved


def test_telling_them_again_after_a_reopen(engine):
    """The loop closed for the first fix is open again when the problem comes back."""
    person = make_profile(engine, may_contact=True).id
    sid = _resolved(engine, person)
    with session_scope(engine, write=True) as s:
        signals.close_loop(sid, signals.CloseLoopIn(kind="outreach_email", message="Fixed!"), session=s, actor=SYSTEM)
    _interaction(engine, person, "complaint", title="Broken again")
    reopened = _get(engine, sid)
    assert reopened.status == SignalStatus.in_progress and reopened.loop_closed_at is None
    _move(engine, sid, "resolved", "Fixed again")
    with session_scope(engine, write=True) as s:
        signals.close_loop(sid, signals.CloseLoopIn(kind="outreach_email", message="Fixed again!"), session=s,
                           actor=SYSTEM)
    assert _get(engine, sid).loop_closed_at is not None


def test_closed_stays_closed(engine):
    person = make_profile(engine).id
    sid = _resolved(engine, person)
    _move(engine, sid, "closed")
    _interaction(engine, person, "complaint", title="Again!")
    assert _get(engine, sid).status == SignalStatus.closed


def test_an_imported_message_reopens_it_too(engine, tmp_path: Path):
    person = make_profile(engine, identities=[{"platform": "x", "handle": "ana_dev"}]).id
    sid = _resolved(engine, person)
    later = (utcnow() + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    path = tmp_path / "posts.csv"
    path.write_text("external_id,person_platform,person_handle,kind,occurred_at,title\n"
                    f"p1,x,ana_dev,post,{later},It crashes again after the update\n")
    headers = ["external_id", "person_platform", "person_handle", "kind", "occurred_at", "title"]
    with Session(engine) as s:
        upload = imports.save_upload(path.name, path.read_bytes(), session=s, created_by_id=None)
        spec = ImportSpec(entity=Entity.interactions, format="csv", source="sheet",
                          mapping=suggest_mapping(Entity.interactions, headers))
        job_id = int(imports.start_import(upload, spec, session=s, created_by_id=None).id or 0)
        s.commit()
    jobs.run_job(engine, job_id)
    signal = _get(engine, sid)
    assert signal.status == SignalStatus.in_progress and signal.reopened_count == 1
    with Session(engine) as s:
        imported = s.exec(select(Interaction.id).where(Interaction.external_id == "p1")).one()
        reasons = {i.interaction_id: i.reason for i in s.exec(select(SignalItem).where(SignalItem.signal_id == sid))}
    assert reasons[imported] == "reopened"


def test_reopen_with_thousands_of_ids_and_nothing_to_do(engine):
    with session_scope(engine, write=True) as s:
        assert signals.reopen_for_interactions(s.connection(), list(range(1, 40_000))) == []


# ---- joining and closing the loop ------------------------------------------------------------------


def test_join_several_mentions(engine):
    ana = make_profile(engine).id
    ben = make_profile(engine, "Ben").id
    first = _interaction(engine, ana)
    others = [_interaction(engine, ana, title="me too"), _interaction(engine, ben, title="same here")]
    sid = _open(engine, ana, interaction_ids=[first])
    with session_scope(engine, write=True) as s:
        joined = signals.join(sid, signals.JoinIn(interaction_ids=[first, *others]), session=s, actor=ACTOR)
    assert joined == others
    with session_scope(engine, write=True) as s, pytest.raises(InvalidInput):
        signals.join(sid, signals.JoinIn(interaction_ids=others), session=s, actor=ACTOR)
    with session_scope(engine, write=True) as s, pytest.raises(InvalidInput) as missing:
        signals.join(sid, signals.JoinIn(interaction_ids=[999_999]), session=s, actor=ACTOR)
    assert "999999" in missing.value.message
    with Session(engine) as s:
        assert signals.item_ids([sid], session=s)[sid] == [first, *others]


def test_closing_the_loop_logs_an_outreach_on_the_timeline(engine):
    person = make_profile(engine, may_contact=True).id
    sid = _open(engine, person)
    loop = signals.CloseLoopIn(kind="outreach_email", message="Thanks for telling us; it is fixed in 2.3.1",
                               follow_up_on=(utcnow() + timedelta(days=7)).date())
    with session_scope(engine, write=True) as s, pytest.raises(InvalidInput):
        signals.close_loop(sid, loop, session=s, actor=ACTOR)  # not resolved yet
    _move(engine, sid, "resolved", "Fixed in 2.3.1")
    with session_scope(engine, write=True) as s:
        signals.close_loop(sid, loop, session=s, actor=ACTOR)
    signal = _get(engine, sid)
    assert signal.loop_closed_at is not None and signal.follow_up_on == loop.follow_up_on
    with Session(engine) as s:
        told = s.get(Interaction, signal.loop_interaction_id)
        assert told is not None and told.profile_id == person and told.kind == "outreach_email"
        assert told.body.startswith("Thanks for telling us")
        assert s.exec(select(AuditEvent).where(AuditEvent.action == AuditAction.signal_close_loop)).one().object_id == sid
    assert _get(engine, sid).status == SignalStatus.resolved  # our own outreach does not reopen it
    with session_scope(engine, write=True) as s, pytest.raises(Conflict):
        signals.close_loop(sid, loop, session=s, actor=ACTOR)  # told once


def test_closing_the_loop_with_someone_who_may_not_be_contacted_is_refused_unless_confirmed(engine):
    person = make_profile(engine, status="do_not_contact").id
    sid = _open(engine, person)
    _move(engine, sid, "resolved", "Fixed")
    loop = {"kind": "outreach_dm", "message": "It is fixed"}
    with session_scope(engine, write=True) as s, pytest.raises(InvalidInput) as refused:
        signals.close_loop(sid, signals.CloseLoopIn(**loop), session=s, actor=ACTOR)
    assert "do not contact" in refused.value.field_errors["contact_anyway"]
    assert _get(engine, sid).loop_interaction_id is None  # nothing half-written
    with session_scope(engine, write=True) as s:
        signals.close_loop(sid, signals.CloseLoopIn(**loop, contact_anyway=True), session=s, actor=ACTOR)
    assert _get(engine, sid).loop_interaction_id is not None


# ---- queues and the report -------------------------------------------------------------------------


def test_my_signals_and_department_queues(engine):
    zoe = make_user(engine, "zoe@example.com", name="Zoe")
    mine = _open(engine, make_profile(engine, owner_id=zoe.id).id)
    queued = _open(engine, make_profile(engine, "B").id)
    product = _open(engine, make_profile(engine, "C").id, type_="bug_report")
    with Session(engine) as s:
        support = s.exec(select(Department.id).where(Department.name == "Support")).one()

        def ids(**q) -> list[int]:
            return [r.signal.id or 0 for r in signals.list_signals(signals.SignalQuery(**q), session=s, user_id=zoe.id).rows]

        assert ids(owner="me") == [mine]
        assert ids(owner="none", department_id=support) == [queued]
        assert sorted(ids(owner="none")) == sorted([queued, product])
        assert ids(type=SignalType.bug_report) == [product]
        counts = signals.widget_counts(session=s, user_id=zoe.id)
    assert (counts.mine, counts.unassigned, counts.breached) == (1, 2, 0)


def test_summary_for_the_report(engine):
    person = make_profile(engine).id
    on_time = _open(engine, person)
    late = _open(engine, person)
    still_open = _open(engine, person)
    _open(engine, person, type_="praise")
    _move(engine, on_time, "resolved", "done")
    with session_scope(engine, write=True) as s:
        s.execute(update(Signal).where(col(Signal.id) == late).values(resolution_due=utcnow() - timedelta(hours=1)))
        s.execute(update(Signal).where(col(Signal.id) == still_open).values(first_response_due=utcnow() - timedelta(hours=1)))
    _move(engine, late, "resolved", "done, late")
    start = utcnow() - timedelta(days=1)
    end = utcnow() + timedelta(seconds=1)
    with Session(engine) as s:
        got = signals.summary(start, end, session=s)
        earlier = signals.summary(start - timedelta(days=30), start, session=s)
    assert got == signals.SignalSummary(opened=4, resolved=2, resolved_in_sla=1, breached_open=1)
    assert earlier == signals.SignalSummary(0, 0, 0, 0)


def test_changing_priority_recomputes_due_times(engine):
    sid = _open(engine, make_profile(engine).id, priority="low")
    with session_scope(engine, write=True) as s:
        signals.update_signal(sid, signals.SignalPatch(priority="urgent"), session=s, actor=ACTOR)
    signal = _get(engine, sid)
    assert _hours(signal.first_response_due - signal.created_at) == 1
    with Session(engine) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.action == AuditAction.signal_update)).one()
    assert event.before == {"priority": "low"} and event.after == {"priority": "urgent"}


def test_sla_targets_validate(engine):
    with pytest.raises(ValueError):
        signals.SlaTargetIn(signal_type="complaint", priority="low", first_response_hours=10, resolution_hours=5)
    with pytest.raises(ValueError):
        signals.SlaTargetsIn(targets=[{"signal_type": "complaint", "priority": "low", "first_response_hours": 1,
                                       "resolution_hours": 2}] * 2)
    with session_scope(engine, write=True) as s:
        signals.save_sla_targets(signals.SlaTargetsIn(targets=[signals.SlaTargetIn(
            signal_type="praise", priority="normal", first_response_hours=48, resolution_hours=96)]), session=s, actor=ACTOR)
        assert [(t.signal_type, t.priority) for t in s.exec(select(SlaTarget))] == [("praise", "normal")]
    signal = _get(engine, _open(engine, None, type_="complaint"))
    assert signal.sla_note == "No SLA for this type." and signal.resolution_due is None
    other = _get(engine, _open(engine, None, type_="praise", priority="high"))
    assert other.sla_note == "No SLA for this type at this priority."
    assert datetime.now(UTC) < (_get(engine, _open(engine, None, type_="praise")).resolution_due or datetime.now(UTC))
