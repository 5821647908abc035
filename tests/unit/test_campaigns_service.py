"""The campaign service (crm.campaigns.service) on a real database, SQLite and PostgreSQL: bad input
refused before anything is written, the pipeline's rules (a person once per campaign, bulk adds that
report who was in already, declined members moved only when reopened, archived campaigns frozen),
overdue tasks, and completing a campaign (participants completed, thanked on their timeline, audited)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from pydantic import ValidationError
from sqlmodel import Session, col, select

from crm.audit.models import AuditEvent
from crm.audit.service import SYSTEM
from crm.campaigns import pages, service
from crm.campaigns.models import (
    Campaign,
    CampaignIn,
    CampaignMember,
    CampaignPatch,
    KpiIn,
    MemberIn,
    MembersIn,
    StageIn,
    TaskIn,
)
from crm.db import session_scope, utcnow
from crm.errors import Conflict, InvalidInput
from crm.interactions.models import Interaction, InteractionIn
from tests.campaign_factories import add_member, add_task, events, make_campaign
from tests.factories import make_profile


def test_a_campaign_may_not_end_before_it_starts():
    with pytest.raises(ValidationError) as caught:
        CampaignIn(name="X", starts_on=date(2026, 3, 2), ends_on=date(2026, 3, 1))
    assert caught.value.errors()[0]["loc"] == ("ends_on",)


def test_a_partial_update_is_checked_against_the_stored_dates(engine):
    campaign = make_campaign(engine, starts_on=date(2026, 3, 1), ends_on=date(2026, 3, 31))
    with session_scope(engine) as session, pytest.raises(InvalidInput) as caught:
        service.update_campaign(campaign.id, CampaignPatch.model_validate({"ends_on": "2026-02-01"}), session=session,
                                actor=SYSTEM, partial=True)
    assert "ends_on" in caught.value.field_errors
    with Session(engine) as session:
        assert session.get(Campaign, campaign.id).ends_on == date(2026, 3, 31)
    assert events(engine, "campaign.update") == []


def test_budgets_below_zero_and_bad_currencies_are_refused_by_the_schema():
    for bad in ({"budget": -0.01}, {"currency": "euro"}, {"target_reach": -1}, {"name": ""}):
        with pytest.raises(ValidationError):
            CampaignIn.model_validate({"name": "X", **bad})
    assert CampaignIn(name="X", budget=0, currency="usd").currency == "USD"


def test_an_unknown_owner_is_refused(engine):
    with session_scope(engine) as session, pytest.raises(InvalidInput) as caught:
        service.create_campaign(CampaignIn(name="X", owner_id=999_999), session=session, actor=SYSTEM)
    assert "owner_id" in caught.value.field_errors


def test_a_person_is_added_once(engine):
    campaign = make_campaign(engine)
    ana = make_profile(engine, "Ana")
    add_member(engine, campaign.id, ana.id, stage="contacted")
    with session_scope(engine) as session, pytest.raises(Conflict) as caught:
        service.add_member(campaign.id, MemberIn(profile_id=ana.id), session=session, actor=SYSTEM)
    assert "already in this campaign (Contacted)" in caught.value.message
    with Session(engine) as session:
        assert len(session.exec(select(CampaignMember)).all()) == 1


def test_a_bulk_add_reports_who_was_in_already_and_refuses_unknown_ids(engine):
    campaign = make_campaign(engine)
    ana, bea = make_profile(engine, "Ana"), make_profile(engine, "Bea")
    add_member(engine, campaign.id, ana.id, stage="confirmed")
    with session_scope(engine, write=True) as session:
        result = service.add_members(campaign.id, MembersIn(profile_ids=[ana.id, bea.id, bea.id]), session=session,
                                     actor=SYSTEM)
    assert result.already == [ana.id] and [m.profile_id for m in result.added] == [bea.id]
    with Session(engine) as session:
        assert service.member_of(campaign.id, ana.id, session=session).stage == "confirmed"
    with session_scope(engine) as session, pytest.raises(InvalidInput):
        service.add_members(campaign.id, MembersIn(profile_ids=[make_profile(engine, "Cai").id, 999_999]),
                            session=session, actor=SYSTEM)
    with Session(engine) as session:
        assert len(session.exec(select(CampaignMember)).all()) == 2  # nothing half-added


def test_a_declined_member_moves_only_when_reopened(engine):
    campaign = make_campaign(engine)
    declined = add_member(engine, campaign.id, make_profile(engine, "Ana").id, stage="declined")
    with session_scope(engine) as session, pytest.raises(InvalidInput) as caught:
        service.move_member(campaign.id, declined.id, StageIn(stage="contacted"), session=session, actor=SYSTEM)
    assert "stage" in caught.value.field_errors
    with session_scope(engine, write=True) as session:
        moved = service.move_member(campaign.id, declined.id, StageIn(stage="contacted", reopen=True), session=session,
                                    actor=SYSTEM)
    assert moved.stage == "contacted"
    event = events(engine, "campaign.member_stage")[-1]
    assert (event.before["stage"], event.after["stage"]) == ("declined", "contacted")


def test_an_archived_campaign_refuses_changes(engine):
    campaign = make_campaign(engine)
    ana = make_profile(engine, "Ana")
    kept = add_member(engine, campaign.id, ana.id)
    with session_scope(engine, write=True) as session:
        service.update_campaign(campaign.id, CampaignIn(name="X", status="archived"), session=session, actor=SYSTEM)
    attempts = [
        lambda s: service.add_member(campaign.id, MemberIn(profile_id=make_profile(engine, "Bea").id), session=s, actor=SYSTEM),
        lambda s: service.move_member(campaign.id, kept.id, StageIn(stage="confirmed"), session=s, actor=SYSTEM),
        lambda s: service.add_kpi(campaign.id, KpiIn(metric="reach", target=1), session=s, actor=SYSTEM),
        lambda s: service.add_task(campaign.id, TaskIn(title="T"), session=s, actor=SYSTEM),
        lambda s: service.log_for_campaign(campaign.id, ana.id, InteractionIn(kind="post"), session=s, actor=SYSTEM),
    ]
    for attempt in attempts:
        with session_scope(engine) as session, pytest.raises(InvalidInput) as caught:
            attempt(session)
        assert "archived" in caught.value.message
    with Session(engine) as session:
        assert session.get(CampaignMember, kept.id).stage == "candidate"


def test_overdue_tasks_are_open_ones_past_their_date(engine):
    campaign = make_campaign(engine)
    today = utcnow().date()
    late = add_task(engine, campaign.id, "Late", due_on=today - timedelta(days=1))
    add_task(engine, campaign.id, "Today", due_on=today)
    add_task(engine, campaign.id, "Undated")
    done = add_task(engine, campaign.id, "Late but done", due_on=today - timedelta(days=5))
    with session_scope(engine, write=True) as session:
        service.set_task_done(campaign.id, done.id, True, session=session, actor=SYSTEM)
    with Session(engine) as session:
        overdue = service.tasks(session=session, overdue_only=True)
        everything = service.tasks(session=session, campaign_id=campaign.id)
        widget = pages.overdue_tasks(session=session, user_id=None)
    assert [row.task.id for row in overdue] == [late.id]
    assert [row.task.title for row in everything] == ["Late", "Today", "Undated", "Late but done"]
    assert [row.overdue for row in everything] == [True, False, False, False]
    assert widget.total == 1


def test_completing_moves_participants_thanks_them_and_is_audited(engine):
    campaign = make_campaign(engine, "Observability week", status="active")
    live, confirmed, talking = (make_profile(engine, n) for n in ("Ana", "Bea", "Cai"))
    add_member(engine, campaign.id, live.id, stage="content_live")
    add_member(engine, campaign.id, confirmed.id, stage="confirmed")
    add_member(engine, campaign.id, talking.id, stage="negotiating")
    with session_scope(engine) as session, pytest.raises(InvalidInput):  # only participants can be thanked
        service.complete_campaign(campaign.id, session=session, actor=SYSTEM, thank=[talking.id])
    with session_scope(engine, write=True) as session:
        result = service.complete_campaign(campaign.id, session=session, actor=SYSTEM, thank=[live.id],
                                           message="Thanks a lot!")
    assert result.thanked == [live.id]
    with Session(engine) as session:
        stages = {m.profile_id: m.stage for m in session.exec(select(CampaignMember))}
        saved = session.get(Campaign, campaign.id)
        notes = session.exec(select(Interaction).where(Interaction.campaign_id == campaign.id,
                                                       Interaction.kind == "note")).all()
        thanked = session.exec(select(CampaignMember).where(col(CampaignMember.thanked_at).is_not(None))).all()
        audit_actions = [e.action for e in session.exec(select(AuditEvent).where(
            AuditEvent.object_type == "campaign", AuditEvent.object_id == campaign.id).order_by(col(AuditEvent.id)))]
    assert stages == {live.id: "completed", confirmed.id: "completed", talking.id: "negotiating"}
    assert saved.status == "completed" and saved.completed_at is not None
    assert [(n.profile_id, n.title, n.body) for n in notes] == [(live.id, "Thank-you: Observability week", "Thanks a lot!")]
    assert [m.profile_id for m in thanked] == [live.id]
    assert audit_actions[-3:] == ["campaign.member_stage", "campaign.member_stage", "campaign.complete"]
    assert events(engine, "campaign.complete")[-1].after == {"status": "completed", "thanked": [live.id]}
    with Session(engine) as session:  # the thank-you is on the person's timeline (their audit trail too)
        assert session.exec(select(AuditEvent).where(AuditEvent.action == "interaction.create",
                                                     AuditEvent.object_id == live.id)).first() is not None
