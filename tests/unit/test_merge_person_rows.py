"""A merge keeps what belongs to the merged person in other domains (their points ledger, badges,
campaign places) by moving it to the survivor, and an undo puts it back exactly."""

from __future__ import annotations

from sqlalchemy import select

from crm.audit.service import SYSTEM
from crm.campaigns import service as campaigns
from crm.campaigns.models import CampaignIn, CampaignMember, MemberIn, Stage
from crm.db import session_scope
from crm.merges import service as merges
from crm.recognition import ledger
from crm.recognition.models import AwardIn, Badge, BadgeAward, PointEntry
from tests.factories import make_profile


def _state(engine, *people):
    with session_scope(engine) as s:
        entries = {pid: sorted(e.amount for e in s.exec(select(PointEntry).where(PointEntry.profile_id == pid)).scalars())
                   for pid in people}
        badges = {pid: sorted(a.badge_id for a in s.exec(select(BadgeAward).where(BadgeAward.profile_id == pid)).scalars())
                  for pid in people}
        members = {pid: sorted((m.campaign_id, m.stage) for m in s.exec(
            select(CampaignMember).where(CampaignMember.profile_id == pid)).scalars()) for pid in people}
    return entries, badges, members


def test_merge_moves_ledger_badges_and_campaign_places_and_undo_restores_them(engine):
    a, b = make_profile(engine, "Ana Survivor").id, make_profile(engine, "Ana Merged").id
    with session_scope(engine, write=True) as s:
        ledger.award(AwardIn(profile_ids=[a], points=5, reason="talk"), session=s, actor=SYSTEM)
        ledger.award(AwardIn(profile_ids=[b], points=7, reason="post"), session=s, actor=SYSTEM)
        shared, own = Badge(name="Helper"), Badge(name="Speaker")
        s.add_all([shared, own])
        s.flush()
        s.add_all([BadgeAward(badge_id=shared.id, profile_id=a), BadgeAward(badge_id=shared.id, profile_id=b),
                   BadgeAward(badge_id=own.id, profile_id=b)])
        both = campaigns.create_campaign(CampaignIn(name="Both"), session=s, actor=SYSTEM)
        only_b = campaigns.create_campaign(CampaignIn(name="Only B"), session=s, actor=SYSTEM)
        campaigns.add_member(both.id, MemberIn(profile_id=a, stage=Stage.confirmed), session=s, actor=SYSTEM)
        campaigns.add_member(both.id, MemberIn(profile_id=b, stage=Stage.contacted), session=s, actor=SYSTEM)
        campaigns.add_member(only_b.id, MemberIn(profile_id=b, stage=Stage.shortlisted), session=s, actor=SYSTEM)
        ids = (shared.id, own.id, both.id, only_b.id)
    before = _state(engine, a, b)

    with session_scope(engine, write=True) as s:
        merge_id = merges.merge(merges.MergeIn(survivor_id=a, merged_id=b), session=s, actor=SYSTEM).id
    entries, badges, members = _state(engine, a, b)
    shared_id, own_id, both_id, only_b_id = ids
    assert entries[a] == [5, 7] and entries[b] == []  # nothing of the ledger lost with the merged person
    assert badges[a] == sorted([shared_id, own_id])  # the same badge twice becomes once
    assert members[a] == sorted([(both_id, "confirmed"), (only_b_id, "shortlisted")])  # the survivor's place wins
    with session_scope(engine, write=True) as s:
        assert ledger.balances([a], conn=s.connection())[a].current == 12

    with session_scope(engine, write=True) as s:
        merges.undo(merge_id, session=s, actor=SYSTEM)
    assert _state(engine, a, b) == before
