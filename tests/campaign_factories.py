"""Campaign test data built through the campaign service (helpers for tests/web/test_campaign*.py,
tests/web/test_tasks.py, tests/api/test_campaigns_api.py and tests/unit/test_campaigns_service.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from crm.audit.models import AuditEvent
from crm.audit.service import SYSTEM
from crm.campaigns import service
from crm.campaigns.models import Campaign, CampaignIn, CampaignMember, KpiIn, MemberIn, TaskIn
from crm.db import session_scope


def make_campaign(engine: Engine, name: str = "Observability week", **fields: Any) -> Campaign:
    with session_scope(engine, write=True) as session:
        return service.create_campaign(CampaignIn.model_validate({"name": name, **fields}), session=session, actor=SYSTEM)


def add_member(engine: Engine, campaign_id: int, profile_id: int, **fields: Any) -> CampaignMember:
    with session_scope(engine, write=True) as session:
        return service.add_member(campaign_id, MemberIn.model_validate({"profile_id": profile_id, **fields}),
                                  session=session, actor=SYSTEM)


def add_task(engine: Engine, campaign_id: int, title: str, **fields: Any) -> Any:
    with session_scope(engine, write=True) as session:
        return service.add_task(campaign_id, TaskIn.model_validate({"title": title, **fields}), session=session,
                                actor=SYSTEM)


def add_kpi(engine: Engine, campaign_id: int, **fields: Any) -> Any:
    with session_scope(engine, write=True) as session:
        return service.add_kpi(campaign_id, KpiIn.model_validate(fields), session=session, actor=SYSTEM)


def member(engine: Engine, member_id: int) -> CampaignMember | None:
    with Session(engine) as session:
        return session.get(CampaignMember, member_id)


def events(engine: Engine, action: str) -> list[AuditEvent]:
    with Session(engine) as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.id))))


HX = {"HX-Request": "true"}
