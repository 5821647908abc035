"""Two demo campaigns on top of the demo people: one running now (pipeline half-way, a task overdue,
some deliverables in) and one completed last quarter (deliverables, quotes, everyone thanked), so the
campaign pages, the report and the dashboard have something true to show from the first start.

People are chosen by topic and score from the loaded demo data, not by fixed ids, and everything goes
through the campaign service (so the audit log shows it, as "system")."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import Engine, Text, cast
from sqlmodel import Session, col, select

from crm.audit.service import SYSTEM
from crm.campaigns import service
from crm.campaigns.models import (
    Campaign,
    CampaignIn,
    CampaignStatus,
    KpiIn,
    KpiMetric,
    MemberIn,
    MemberPatch,
    QuoteIn,
    Stage,
    TaskIn,
)
from crm.db import session_scope, utcnow
from crm.interactions.models import InteractionIn, InteractionKind
from crm.profiles.models import Profile, ProfileStatus


def _people(session: Session, topic: str, count: int, skip: set[int]) -> list[Profile]:
    query = (select(Profile).where(cast(col(Profile.topics), Text).like(f'%"{topic}"%'),
                                   col(Profile.is_team_member).is_(False),
                                   Profile.status != ProfileStatus.do_not_contact.value)
             .order_by(col(Profile.score).desc(), col(Profile.id)))
    return [p for p in session.exec(query) if p.id not in skip][:count]


def _deliverable(session: Session, campaign_id: int, person: Profile, when: datetime, kind: InteractionKind,
                 title: str, reach: int, engagements: int, body: str = "") -> None:
    service.log_for_campaign(campaign_id, person.id or 0, InteractionIn(
        kind=kind, channel="blog" if kind == InteractionKind.article else "x", title=title, body=body,
        url=f"https://example.com/{campaign_id}/{person.id}/{int(when.timestamp())}", occurred_at=when,
        reach=reach, engagements=engagements, sentiment=0.8), session=session, actor=SYSTEM)


def seed_campaigns(engine: Engine, *, now: datetime | None = None) -> int:
    """Creates the demo campaigns unless there are campaigns already; how many were created."""
    now = now or utcnow()
    today = now.date()
    with session_scope(engine, write=True) as session:
        if session.exec(select(Campaign.id).limit(1)).first() is not None:
            return 0
        used: set[int] = set()

        # Completed last quarter: Kubernetes cost.
        done = service.create_campaign(CampaignIn(
            name="Kubernetes cost clinic", objective="Show platform teams how Nimbo cuts their cluster bill.",
            brief="A short write-up or talk about a real cost saving, with numbers.",
            topics=["kubernetes", "cloud cost"], keywords=["cost", "cluster"], status=CampaignStatus.active,
            starts_on=today - timedelta(days=100), ends_on=today - timedelta(days=70), budget=3000, currency="EUR",
            target_reach=60000), session=session, actor=SYSTEM)
        assert done.id is not None
        for metric, target, actual in ((KpiMetric.reach, 60000, None), (KpiMetric.engagements, 2500, None),
                                       (KpiMetric.signups, 80, 97)):
            service.add_kpi(done.id, KpiIn(metric=metric, target=target, actual=actual), session=session, actor=SYSTEM)
        people = _people(session, "kubernetes", 6, used)
        used |= {p.id for p in people if p.id}
        fees = [800, 600, 500, 400, None, None]
        for index, person in enumerate(people):
            stage = Stage.content_live if index < 4 else Stage.declined
            service.add_member(done.id, MemberIn(profile_id=person.id or 0, stage=stage, fee=fees[index]),
                               session=session, actor=SYSTEM)
        start = now - timedelta(days=98)
        for index, person in enumerate(people[:4]):
            _deliverable(session, done.id, person, start + timedelta(days=5 * index + 2), InteractionKind.article,
                         f"How we cut our cluster bill by {18 + 7 * index} %", 9000 + 4000 * index, 350 + 120 * index,
                         body="Right-sizing requests and spotting idle nodes paid for the tool in a month.")
            _deliverable(session, done.id, person, start + timedelta(days=5 * index + 9), InteractionKind.post,
                         "Thread: three cost leaks in every cluster", 4000 + 1500 * index, 180 + 40 * index)
        first = service.deliverables(done.id, session=session)
        if first:
            item, _ = first[-1]
            service.add_quote(done.id, QuoteIn(text="Right-sizing requests and spotting idle nodes paid for the "
                                               "tool in a month.", interaction_id=item.id), session=session, actor=SYSTEM)
        service.complete_campaign(done.id, session=session, actor=SYSTEM, thank=[p.id or 0 for p in people[:4]])

        # Running now: observability week.
        live = service.create_campaign(CampaignIn(
            name="Observability week", objective="Fifty teams trying Nimbo Alerts during observability week.",
            brief="Post about how you watch production: dashboards, alerts, on-call. Mention Nimbo Alerts if you use it.",
            topics=["observability", "devops"], keywords=["alerts", "dashboards", "on-call"],
            status=CampaignStatus.active, starts_on=today - timedelta(days=10), ends_on=today + timedelta(days=20),
            budget=5000, currency="EUR", target_reach=150000), session=session, actor=SYSTEM)
        assert live.id is not None
        for metric, target, actual, label in ((KpiMetric.reach, 150000, None, ""),
                                              (KpiMetric.engagements, 6000, None, ""),
                                              (KpiMetric.contributions, 20, None, ""),
                                              (KpiMetric.custom, 50, 12, "Teams on a trial")):
            service.add_kpi(live.id, KpiIn(metric=metric, target=target, actual=actual, label=label),
                            session=session, actor=SYSTEM)
        people = _people(session, "observability", 9, used)
        stages = [Stage.content_live, Stage.content_live, Stage.confirmed, Stage.negotiating, Stage.contacted,
                  Stage.contacted, Stage.shortlisted, Stage.candidate, Stage.declined]
        fees = [700, 500, 450, 600, None, None, None, None, None]
        members = []
        for person, stage, fee in zip(people, stages, fees, strict=False):
            members.append(service.add_member(live.id, MemberIn(profile_id=person.id or 0, stage=stage, fee=fee),
                                              session=session, actor=SYSTEM))
        for index, person in enumerate(people[:2]):
            _deliverable(session, live.id, person, now - timedelta(days=6 - 3 * index), InteractionKind.post,
                         "The three alerts I would keep if I could keep only three", 12000 + 8000 * index,
                         420 + 200 * index, body="Page on symptoms, not causes; everything else is a dashboard.")
        for person in people[4:6]:
            service.log_for_campaign(live.id, person.id or 0, InteractionIn(
                kind=InteractionKind.outreach_email, title="Observability week: would you join?",
                occurred_at=now - timedelta(days=8), contact_anyway=True), session=session, actor=SYSTEM)
        tasks: tuple[tuple[str, str, date, Profile | None], ...] = (
                ("Send the brief to everyone confirmed", "Brief the members", today - timedelta(days=2), None),
                ("Agree the fee", "Confirm ten members", today + timedelta(days=3), people[3] if len(people) > 3 else None),
                ("Follow up on the invitation", "Confirm ten members", today + timedelta(days=5),
                 people[4] if len(people) > 4 else None),
                ("Collect the links for the report", "Report to management", today + timedelta(days=21), None))
        for title, goal, due, about in tasks:
            service.add_task(live.id, TaskIn(title=title, goal=goal, due_on=due, profile_id=about.id if about else None),
                             session=session, actor=SYSTEM)
        if members:
            service.update_member(live.id, members[3].id or 0, MemberPatch(
                next_step="Send the contract", next_step_on=today + timedelta(days=2)), session=session, actor=SYSTEM)
    return 2
