"""The "not yet thanked" queue on a real database (SQLite and PostgreSQL): who is in it, in which
order, and that thanking (or points, or a badge) takes people out until they contribute again."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from crm.audit.models import AuditEvent
from crm.audit.service import SYSTEM
from crm.db import session_scope, utcnow
from crm.interactions.models import Interaction
from crm.recognition import ledger
from crm.recognition import queue as q
from crm.recognition.models import AwardIn, Recognition
from tests.factories import make_profile


def _add(engine, pid, kind, days_ago, title="", grant=True):
    with session_scope(engine, write=True) as s:
        item = Interaction(profile_id=pid, kind=kind, title=title or kind, occurred_at=utcnow() - timedelta(days=days_ago))
        s.add(item)
        s.flush()
        if grant:
            ledger.grant_for_interactions(s.connection(), [item.id])
        return item.id


def _recognise(engine, pid, days_ago, kind="thanks"):
    with session_scope(engine, write=True) as s:
        s.add(Recognition(profile_id=pid, kind=kind, created_at=utcnow() - timedelta(days=days_ago)))


def _queue(engine, **query):
    with session_scope(engine) as s:
        return q.queue(q.QueueQuery(**query), session=s)


def _ids(engine, **query):
    return [r.profile_id for r in _queue(engine, **query).rows]


def test_membership_follows_the_latest_recognition(engine):
    ana, ben, cai, dot, eve = (make_profile(engine, n).id for n in ("Ana", "Ben", "Cai", "Dot", "Eve"))
    _add(engine, ana, "post", 3)  # contributed, never recognised: in
    _add(engine, ben, "post", 5)
    _recognise(engine, ben, 2)  # recognised after: out
    _recognise(engine, cai, 6)
    _add(engine, cai, "reply", 1)  # recognised, then contributed again: in
    _add(engine, dot, "note", 1)  # not a contribution: out
    _add(engine, eve, "talk", 40)  # too long ago for 30 days: out, in for 90
    assert sorted(_ids(engine)) == sorted([ana, cai])
    assert sorted(_ids(engine, days=90)) == sorted([ana, cai, eve])
    assert sorted(_ids(engine, days=7)) == sorted([ana, cai])
    assert _ids(engine, days=2) == [cai]


def test_order_by_value_with_counts_best_item_and_last_recognition(engine):
    ana, ben, cai = (make_profile(engine, n).id for n in ("Ana", "Ben", "Cai"))
    for day in (1, 2, 3):
        _add(engine, ana, "post", day)  # 3 × 5 points
    _add(engine, ben, "talk", 4, title="Keynote at FOSDEM")  # 40 points
    _add(engine, ben, "reply", 2)  # + 2
    _add(engine, cai, "mention", 1)  # 2
    _recognise(engine, ben, 10)
    page = _queue(engine)
    assert [r.profile_id for r in page.rows] == [ben, ana, cai]
    top = page.rows[0]
    assert (top.points, top.contributions, top.by_kind) == (42, 2, {"talk": 1, "reply": 1})
    assert top.best_title == "Keynote at FOSDEM" and top.best_kind == "talk"
    assert top.last_recognised_at is not None and page.rows[1].last_recognised_at is None
    assert page.total == 3


def test_without_ledger_points_the_advocacy_weights_order(engine):
    ana, ben = make_profile(engine, "Ana").id, make_profile(engine, "Ben").id
    _add(engine, ana, "post", 1, grant=False)
    _add(engine, ben, "talk", 1, grant=False)  # a talk weighs more than a post
    rows = _queue(engine).rows
    assert [r.profile_id for r in rows] == [ben, ana]
    assert rows[0].points == 0 and rows[0].value > rows[1].value > 0


def test_reversed_points_do_not_count(engine):
    ana, ben = make_profile(engine, "Ana").id, make_profile(engine, "Ben").id
    talk = _add(engine, ana, "talk", 1)
    _add(engine, ben, "review", 1)  # 15
    with session_scope(engine, write=True) as s:
        ledger.revoke_for_interaction(s.connection(), talk, "wrong")
    rows = _queue(engine).rows
    assert [r.profile_id for r in rows] == [ben, ana] and rows[1].points == 0


def test_team_members_role_and_topic_filters_and_pages(engine):
    ana = make_profile(engine, "Ana", roles=["evangelist"], topics=["kubernetes"]).id
    team = make_profile(engine, "Tom", is_team_member=True).id
    others = [make_profile(engine, f"P{i}").id for i in range(5)]
    for pid in (ana, team, *others):
        _add(engine, pid, "post", 1)
    assert team not in _ids(engine) and team in _ids(engine, team=True)
    assert _ids(engine, role="evangelist") == [ana]
    assert _ids(engine, topic="kubernetes") == [ana] and _ids(engine, topic="rust") == []
    first, last = _queue(engine, per_page=4), _queue(engine, per_page=4, page=2)
    assert (first.total, first.pages, len(first.rows), len(last.rows)) == (6, 2, 4, 2)
    assert not {r.profile_id for r in first.rows} & {r.profile_id for r in last.rows}
    assert _queue(engine, per_page=4, page=9).total == 6  # past the end: empty, the total still known


def test_thank_adds_recognition_and_a_timeline_note_and_is_audited(engine):
    ana, ben, cai = (make_profile(engine, n).id for n in ("Ana", "Ben", "Cai"))
    for pid in (ana, ben, cai):
        _add(engine, pid, "post", 1)
    with session_scope(engine, write=True) as s:
        assert q.thank([ana, ben], "your posts on the launch", session=s, actor=SYSTEM) == 2
    assert _ids(engine) == [cai]
    with session_scope(engine) as s:
        notes = s.execute(select(Interaction).where(Interaction.kind == "note")).scalars().all()
        assert sorted(n.profile_id for n in notes) == sorted([ana, ben])
        assert {n.title for n in notes} == {"Thank-you: your posts on the launch"}
        rec = s.execute(select(Recognition)).scalars().all()
        assert sorted((r.profile_id, r.kind) for r in rec) == sorted([(ana, "thanks"), (ben, "thanks")])
        actions = [e.action for e in s.execute(select(AuditEvent)).scalars()]
        assert "recognition.thanks" in actions
    _add(engine, ana, "reply", 0)  # contributes again: back in
    assert sorted(_ids(engine)) == sorted([ana, cai])


def test_points_by_hand_take_people_out_too(engine):
    ana, ben = make_profile(engine, "Ana").id, make_profile(engine, "Ben").id
    for pid in (ana, ben):
        _add(engine, pid, "post", 1)
    with session_scope(engine, write=True) as s:
        ledger.award(AwardIn(profile_ids=[ana], points=10, reason="thanks"), session=s, actor=SYSTEM)
    assert _ids(engine) == [ben]
    with session_scope(engine) as s:
        assert q.waiting([ana, ben], conn=s.connection()) == {ben}


def test_thank_refuses_unknown_people_and_writes_nothing(engine):
    import pytest

    from crm.errors import InvalidInput
    ana = make_profile(engine, "Ana").id
    _add(engine, ana, "post", 1)
    with pytest.raises(InvalidInput), session_scope(engine, write=True) as s:
        q.thank([ana, 999999], "", session=s, actor=SYSTEM)
    assert _ids(engine) == [ana]
