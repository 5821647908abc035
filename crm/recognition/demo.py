"""Recognition on top of the demo people (their points come from the import, under the default rules):
a few badges (automatic ones evaluated now, and a hand-given one awarded three months ago, so the
reward-effect page has something to measure), a rewards catalogue with redemptions at each step, some
thank-yous (so the "not yet thanked" queue is a to-do list, not everyone), and a small point-farming ring
for the anti-gaming scan to find. Everything goes through the services, as "system"."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, func, insert, select
from sqlmodel import Session, col

from crm.audit.service import SYSTEM
from crm.db import session_scope, utcnow
from crm.interactions.models import CONTRIBUTION_KINDS, Interaction, InteractionIn, InteractionKind
from crm.profiles.models import Profile
from crm.recognition import badges, gaming, ledger, rewards
from crm.recognition.models import Badge, BadgeAward, Recognition, RecognitionKind, RewardCategory

HERO_DAYS_AGO = 95


def _active_people(session: Session, since: datetime, until: datetime, limit: int) -> list[int]:
    """People with the most contributions in [since, until), team members left out."""
    kinds = sorted(k.value for k in CONTRIBUTION_KINDS)
    rows = session.execute(
        select(col(Interaction.profile_id), func.count()).join(Profile, col(Profile.id) == col(Interaction.profile_id))
        .where(col(Interaction.kind).in_(kinds), col(Interaction.occurred_at) >= since, col(Interaction.occurred_at) < until,
               col(Profile.is_team_member).is_(False))
        .group_by(col(Interaction.profile_id)).order_by(func.count().desc(), col(Interaction.profile_id)).limit(limit)).all()
    return [int(pid) for pid, _ in rows]


def _quiet_people(session: Session, count: int, skip: set[int]) -> list[int]:
    rows = session.execute(select(col(Profile.id)).where(col(Profile.level) == 4, col(Profile.is_team_member).is_(False))
                           .order_by(col(Profile.id))).scalars().all()
    return [int(pid) for pid in rows if pid not in skip][:count]


def seed_recognition(engine: Engine, *, now: datetime | None = None) -> bool:
    """Creates the demo recognition data unless there are badges already; whether it did."""
    now = now or utcnow()
    with session_scope(engine, write=True) as session:
        if session.execute(select(col(Badge.id)).limit(1)).first() is not None:
            return False
        for name, symbol, description, criteria in (
                ("First answer", "✎", "Answered a question on the forum.", badges.BadgeCriteria(kind="forum_answer", count=1)),
                ("Speaker", "♪", "Gave a talk about us.", badges.BadgeCriteria(kind="talk", count=1)),
                ("Regular", "☀", "Ten contributions in 90 days.", badges.BadgeCriteria(count=10, window_days=90))):
            badges.create_badge(badges.BadgeIn(name=name, symbol=symbol, description=description, criteria=criteria),
                                session=session, actor=SYSTEM)
        hero = badges.create_badge(badges.BadgeIn(name="Community hero", symbol="★", manual=True,
                                                  description="Thanked by the team for going out of their way."),
                                   session=session, actor=SYSTEM).badge

        # Three months ago: the hero badge for twenty of the people most active in the month before, with
        # a thank-you, as it would have been given then (the reward effect compares before and after).
        given = now - timedelta(days=HERO_DAYS_AGO)
        heroes = _active_people(session, given - timedelta(days=60), given, 40)[::2]
        conn = session.connection()
        if heroes:
            conn.execute(insert(BadgeAward.__table__), [  # type: ignore[attr-defined]
                {"badge_id": hero.id, "profile_id": pid, "reason": "Spring community push", "automatic": False,
                 "awarded_at": given} for pid in heroes])
            conn.execute(insert(Recognition.__table__), [  # type: ignore[attr-defined]
                {"profile_id": pid, "kind": RecognitionKind.badge.value, "note": "Community hero", "points": 0,
                 "badge_id": hero.id, "created_at": given} for pid in heroes])

        # This week: thank-yous to a third of the people who contributed lately.
        recent = _active_people(session, now - timedelta(days=30), now, 60)
        thanked = recent[::3]
        conn.execute(insert(Recognition.__table__), [  # type: ignore[attr-defined]
            {"profile_id": pid, "kind": RecognitionKind.thanks.value, "note": "Thanks for your help this month!",
             "points": 0, "created_at": now - timedelta(days=2)} for pid in thanked])

        catalogue = {}
        for name, category, cost, stock, description in (
                ("Altavoz T-shirt", RewardCategory.swag, 150, 40, "Organic cotton, sizes S–XXL."),
                ("Conference ticket", RewardCategory.experience, 1500, 3, "A ticket to this year's developer conference."),
                ("Donation to an open-source project", RewardCategory.donation, 300, None, "We give 30 € in your name."),
                ("Shout-out in the newsletter", RewardCategory.shout_out, 50, None, "A paragraph about your work.")):
            catalogue[name] = rewards.create_reward(rewards.RewardIn(
                name=name, category=category, cost=cost, stock=stock, description=description), session=session, actor=SYSTEM)
        balances = ledger.balances(recent, conn=conn)
        rich = [pid for pid in recent if balances[pid].current >= 200][:3]
        for index, pid in enumerate(rich):
            item = rewards.redeem(catalogue["Altavoz T-shirt"].id or 0, pid, session=session, actor=SYSTEM,
                                  shipping="Calle Mayor 1, Madrid" if index == 0 else "")
            if index < 2:
                rewards.approve(item.id or 0, session=session, actor=SYSTEM)
            if index == 0:
                rewards.fulfil(item.id or 0, tracking="PK-000123", session=session, actor=SYSTEM)

        # A ring: four quiet people replying to each other every few days, mostly to nobody else.
        ring = _quiet_people(session, 4, set(recent))
        if len(ring) == 4:
            from crm.interactions.log import log_interaction  # noqa: PLC0415  (the log imports recognition)

            for day in range(0, 21, 2):
                for i, pid in enumerate(ring):
                    log_interaction(pid, InteractionIn(
                        kind=InteractionKind.reply, channel="discourse", title="+1, great answer",
                        counterpart_id=ring[(i + 1 + (day // 2) % 3) % 4],  # always one of the other three
                        occurred_at=now - timedelta(days=day, hours=i)), session=session, actor=SYSTEM)
            gaming.scan(session=session, actor=SYSTEM, now=now)
    return True
