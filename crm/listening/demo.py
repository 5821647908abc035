"""Listening on top of the demo people, so the radar, alerts, signals and the report have something true to
show from the first start: topics for the brand, its products and a competitor (matched against the demo
history), a few competitor posts, and this morning's burst of complaints about Nimbo Dashboards — from a
champion with a modest audience and a stranger with a large one, among others. Alert rules are evaluated
on it, signals are open, one resolved with the loop closed, and last month's report has a judgement and
quotes. Written through the services (the audit log shows "system")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from crm.audit.service import SYSTEM
from crm.db import session_scope, utcnow
from crm.interactions import log
from crm.interactions.models import InteractionIn, InteractionKind
from crm.jobs import service as jobs
from crm.listening import match
from crm.listening.models import Topic, TopicKind
from crm.profiles.models import Profile

TOPICS: tuple[tuple[str, TopicKind, list[str], list[str]], ...] = (
    ("Nimbo", TopicKind.brand, ["Nimbo"], ["Nimbo Summit"]),
    ("Nimbo Dashboards", TopicKind.product, ["Nimbo Dashboards", "dashboard*"], []),
    ("Nimbo Traces", TopicKind.product, ["Nimbo Traces", "tracing"], []),
    ("Nimbo Pipelines", TopicKind.product, ["Nimbo Pipelines"], []),
    ("Nimbo Alerts", TopicKind.product, ["Nimbo Alerts"], []),
    ("Grafana", TopicKind.competitor, ["Grafana"], []),
)

COMPETITOR_POSTS = (
    ("Moved our dashboards from Nimbo to Grafana", "Grafana's panels were quicker to set up for our team.", -0.2),
    ("Grafana vs Nimbo Dashboards for a small team", "Both are fine; Grafana has more plugins, Nimbo better alerts.", 0.1),
    ("Probé Grafana esta semana", "Me gustó, pero echo de menos las alertas de Nimbo.", 0.2),
    ("Grafana Loki for logs, Nimbo Traces for traces", "Our stack this year, and why.", 0.4),
)

# (title, body, kind, sentiment or None: the word list estimates it)
BURST: tuple[tuple[str, str, InteractionKind, float | None], ...] = (
    ("Nimbo Dashboards down again", "The dashboards have been failing to load all morning. Terrible timing.",
     InteractionKind.complaint, -0.7),
    ("Nimbo Dashboards keep timing out", "Every dashboard times out after the update. Frustrating.", InteractionKind.post, None),
    ("Los dashboards de Nimbo no cargan", "Llevamos toda la mañana sin dashboards. Un fallo terrible.",
     InteractionKind.post, None),
    ("Is anyone else seeing broken Nimbo Dashboards?", "Blank panels since 8am.", InteractionKind.post, -0.5),
    ("Nimbo Dashboards outage", "Our on-call cannot see anything. Really bad.", InteractionKind.complaint, -0.8),
    ("Dashboards broken after the update", "Rolled back our agent, still broken.", InteractionKind.post, None),
    ("Nimbo Dashboards: useless today", "Paying customer here, this is unacceptable.", InteractionKind.complaint, -0.9),
    ("Dashboard panels empty", "Nimbo status page says all green. It is not.", InteractionKind.post, -0.6),
    ("Otra caída de Nimbo Dashboards", "Nadie responde en soporte. Pésimo.", InteractionKind.complaint, None),
    ("Nimbo Dashboards slow and failing", "Half the panels fail to render.", InteractionKind.post, None),
)


def _people(session: Session) -> tuple[Profile | None, Profile | None, list[Profile]]:
    """A champion with a modest audience, a stranger with a large one, and others for the rest."""
    outside = col(Profile.is_team_member).is_(False)
    champion = session.exec(select(Profile).where(col(Profile.level) == 1, outside, col(Profile.reach) > 0)
                            .order_by(col(Profile.reach), col(Profile.id))).first()
    stranger = session.exec(select(Profile).where(col(Profile.level) == 4, outside)
                            .order_by(col(Profile.reach).desc(), col(Profile.id))).first()
    others = list(session.exec(select(Profile).where(outside, col(Profile.level).in_([2, 3]))
                               .order_by(col(Profile.id)).limit(12)))
    return champion, stranger, others


def seed_listening(engine: Engine, *, now: datetime | None = None) -> bool:
    """Creates the demo listening data unless there are topics already; whether it did."""
    now = now or utcnow()
    with session_scope(engine) as session:
        if session.exec(select(func.count()).select_from(Topic)).one():
            return False
    with session_scope(engine, write=True) as session:
        topics = [Topic(name=name, kind=kind.value, terms=terms, exclusions=exclusions)
                  for name, kind, terms, exclusions in TOPICS]
        session.add_all(topics)
        session.flush()
        for topic in topics:
            match.enqueue_listen(topic.id or 0, session=session)
    jobs.run_pending(engine)  # the demo history's mentions
    with session_scope(engine, write=True) as session:
        champion, stranger, others = _people(session)
        for i, (title, body, sentiment) in enumerate(COMPETITOR_POSTS):
            person = others[i % len(others)] if others else None
            if person is None:
                break
            log.log_interaction(person.id or 0, InteractionIn(
                kind=InteractionKind.post, channel="x", title=title, body=body, sentiment=sentiment, reach=800 + 300 * i,
                url=f"https://x.example/demo/grafana/{i}", occurred_at=now - timedelta(days=3 + 6 * i)),
                session=session, actor=SYSTEM)
        authors = [p for p in (champion, stranger, *others) if p is not None]
        for i, (title, body, kind, said) in enumerate(BURST):
            if not authors:
                break
            person = authors[i % len(authors)]
            reach = 250_000 if person is stranger else 600 + 150 * i
            log.log_interaction(person.id or 0, InteractionIn(
                kind=kind, channel="x" if i % 3 else "reddit", title=title, body=body, sentiment=said, reach=reach,
                url=f"https://x.example/demo/burst/{i}", occurred_at=now - timedelta(hours=1 + 1.5 * i)),
                session=session, actor=SYSTEM)
    _rules_and_alerts(engine, now)
    _signals(engine, now)
    _report(engine, now)
    return True


def _rules_and_alerts(engine: Engine, now: datetime) -> None:
    """Two rules, evaluated over the last three days as the worker would have: the burst fires."""
    from crm.listening import alerts

    with session_scope(engine, write=True) as session:
        dashboards = session.exec(select(Topic).where(Topic.name == "Nimbo Dashboards")).one()
        rules = [
            alerts.AlertRuleIn(name="Complaints about Nimbo Dashboards", topic_id=dashboards.id, negative_only=True,
                               min_count=4, max_p=0.01, window_hours=24, baseline_days=14, cooldown_hours=24),
            alerts.AlertRuleIn(name="Any topic: volume spike", topic_id=None, min_count=10, max_p=0.001,
                               window_hours=24, baseline_days=14, cooldown_hours=48, digest=True),
        ]
        created = [alerts.create_rule(data, session=session, actor=SYSTEM, allow_private=False)[0] for data in rules]
        for rule in created:
            rule.evaluated_through = now - timedelta(days=3)
            session.add(rule)
    alerts.evaluate_due(engine, now=now)


def _signals(engine: Engine, now: datetime) -> None:
    """The burst's worst complaint open and routed to Support; an older complaint resolved, the loop closed."""
    from crm.interactions.models import Interaction
    from crm.listening import signals
    from crm.listening.models import SignalPriority, SignalStatus, SignalType

    with session_scope(engine, write=True) as session:
        signals.ensure_defaults(session=session)
        burst = session.exec(select(Interaction).where(col(Interaction.url).startswith("https://x.example/demo/burst/"))
                             .order_by(col(Interaction.sentiment))).all()
        if burst:
            signals.create_signal(signals.SignalIn(
                type=SignalType.complaint, title="Nimbo Dashboards failing to load", priority=SignalPriority.urgent,
                summary="A burst of complaints this morning; a champion among them.",
                interaction_ids=[i.id or 0 for i in burst[:3]]), session=session, actor=SYSTEM)
        older = session.exec(select(Interaction).where(Interaction.kind == InteractionKind.complaint.value,
                                                       col(Interaction.occurred_at) < now - timedelta(days=20))
                             .order_by(col(Interaction.occurred_at).desc()).limit(2)).all()
        for n, item in enumerate(older):
            signal = signals.create_signal(signals.SignalIn(
                type=SignalType.complaint, title=(item.title or "Complaint")[:300], interaction_ids=[item.id or 0],
                priority=SignalPriority.normal), session=session, actor=SYSTEM)
            signals.move(signal.id or 0, signals.StatusIn(status=SignalStatus.in_progress), session=session, actor=SYSTEM)
            if n:  # the second one stays in progress
                continue
            signals.move(signal.id or 0, signals.StatusIn(status=SignalStatus.resolved, note="Fixed in the next release."),
                         session=session, actor=SYSTEM)
            person = session.get(Profile, item.profile_id)
            if person is not None and person.may_contact and person.status != "do_not_contact":
                loop = signals.CloseLoopIn(kind="outreach_email", message="Thanks for telling us: it is fixed now.")
            else:
                loop = signals.CloseLoopIn(follow_up_on=(now + timedelta(days=7)).date())
            signals.close_loop(signal.id or 0, loop, session=session, actor=SYSTEM)


def _report(engine: Engine, now: datetime) -> None:
    """Last month's judgement and five quotes: the most reached positive mentions of the month."""
    from crm.interactions.models import Interaction
    from crm.listening import report
    from crm.listening.models import Mention, ReportPeriod

    period = report.last_complete(ReportPeriod.month, now.date())
    start, end = period.bounds(UTC)
    with session_scope(engine, write=True) as session:
        quoted = session.exec(select(Interaction.id).where(
            col(Interaction.id).in_(select(Mention.interaction_id)), col(Interaction.sentiment) > 0.3,
            col(Interaction.occurred_at) >= start, col(Interaction.occurred_at) < end)
            .order_by(col(Interaction.reach).desc()).limit(5)).all()
        report.update(period, report.ReportIn(
            judgement="A good month: more people talking about Nimbo, mostly kindly; Dashboards needs care.",
            quote_ids=[int(i or 0) for i in quoted]), session=session, actor=SYSTEM)
