"""The demo campaigns: built from the demo people through the service, once."""

from __future__ import annotations

from sqlmodel import Session, select

from crm.audit.models import AuditEvent
from crm.campaigns import service
from crm.campaigns.demo import seed_campaigns
from crm.campaigns.models import Campaign, CampaignStatus, Stage
from crm.db import utcnow
from crm.imports.seed_loader import default_seed_dir, load_seed


def test_two_demo_campaigns_one_running_one_completed_and_only_once(engine):
    load_seed(engine, default_seed_dir(), shift_to=utcnow())
    assert seed_campaigns(engine) == 2
    assert seed_campaigns(engine) == 0  # there are campaigns now: nothing added
    with Session(engine) as session:
        campaigns = {c.name: c for c in session.exec(select(Campaign))}
        assert len(campaigns) == 2
        done, live = campaigns["Kubernetes cost clinic"], campaigns["Observability week"]
        assert done.status == CampaignStatus.completed and live.status == CampaignStatus.active
        finished = service.members(done.id, session=session)
        assert {r.member.stage for r in finished} == {Stage.completed, Stage.declined}
        assert all(r.member.thanked_at for r in finished if r.member.stage == Stage.completed)
        assert all("kubernetes" in r.profile.topics for r in finished)
        assert len(service.deliverables(done.id, session=session)) == 8 and service.quotes(done.id, session=session)
        running = service.members(live.id, session=session)
        assert len({r.member.stage for r in running}) >= 6 and all("observability" in r.profile.topics for r in running)
        assert not {r.profile.id for r in running} & {r.profile.id for r in finished}
        assert [t.task.title for t in service.tasks(session=session, overdue_only=True)] == [
            "Send the brief to everyone confirmed"]
        actions = {e.action for e in session.exec(select(AuditEvent).where(AuditEvent.object_type == "campaign"))}
        assert {"campaign.create", "campaign.member_add", "campaign.complete", "campaign.task"} <= actions
