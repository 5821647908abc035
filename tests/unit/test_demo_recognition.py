"""The demo recognition data: badges, a hand-given badge old enough for the reward effect to measure,
rewards with redemptions at each step, thank-yous, and a ring the anti-gaming scan flags."""

from __future__ import annotations

from sqlalchemy import func, select

from crm.campaigns.demo import seed_campaigns
from crm.db import session_scope, utcnow
from crm.imports.seed_loader import default_seed_dir, load_seed
from crm.recognition import effect, ledger
from crm.recognition.demo import seed_recognition
from crm.recognition.models import Badge, GamingFlag, PointEntry, Redemption


def test_demo_recognition_has_something_true_on_every_page(engine):
    load_seed(engine, default_seed_dir(), shift_to=utcnow())
    seed_campaigns(engine)
    assert seed_recognition(engine) is True
    assert seed_recognition(engine) is False  # once
    with session_scope(engine) as s:
        assert s.execute(select(func.count()).select_from(PointEntry)).scalar_one() > 1000  # the import earned points
        assert {b.name for b in s.execute(select(Badge)).scalars()} >= {"First answer", "Speaker", "Community hero"}
        assert {r.status for r in s.execute(select(Redemption)).scalars()} == {"requested", "approved", "fulfilled"}
        flags = s.execute(select(GamingFlag)).scalars().all()
        assert len(flags) == 4 and {f.kind for f in flags} == {"ring"}
        hero = next(r for r in effect.effects(session=s).rows if r.name == "Community hero")
        assert hero.effect.uplift is not None and hero.effect.recipients >= 10 and hero.effect.comparison >= 10
        everyone = s.execute(select(PointEntry.profile_id).distinct()).scalars().all()
        balances = ledger.balances(everyone, conn=s.connection())
        assert all(b.current >= 0 for b in balances.values())
