"""The per-person export, and the key merge test: export two people, merge them, undo the merge,
export again and compare. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from crm.audit.models import AuditEvent
from crm.audit.service import SYSTEM, Actor
from crm.db import session_scope
from crm.errors import Conflict
from crm.exports.person import export_person, person_data
from crm.imports.models import ImportKey
from crm.interactions.models import Interaction, Relationship
from crm.merges import service as merges
from crm.merges.models import MergeRecord
from crm.profiles.models import Identity, Profile
from tests.factories import make_profile

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def _interaction(pid: int, kind: str, day: int, counterpart: int | None = None, **extra: Any) -> Interaction:
    return Interaction(profile_id=pid, kind=kind, occurred_at=T0.replace(day=day), counterpart_id=counterpart,
                       title=f"{kind} {day}", reach=10 * day, sentiment=0.5, **extra)


def _edge(source: int, target: int, kind: str, strength: float = 1.0, day: int = 1) -> Relationship:
    return Relationship(source_id=source, target_id=target, kind=kind, strength=strength,
                        first_seen=T0.replace(day=day), last_seen=T0.replace(day=day + 1))


def build_pair(engine: Engine) -> tuple[int, int, int]:
    """Lucía (survivor) and Lucia (to merge), with a third person both know, interactions both ways,
    relationships both ways, one edge between the two and one that duplicates an edge of Lucía."""
    lucia = make_profile(engine, "Lucía Gómez Marín", roles=["evangelist"], topics=["kubernetes"], location="Madrid",
                         bio="Kubernetes en español", language="es",
                         identities=[{"platform": "x", "handle": "@luciagm", "followers": 1200},
                                     {"platform": "email", "handle": "lucia@example.com"}])
    dup = make_profile(engine, "Lucia Gomez", roles=["moderator"], topics=["devops", "kubernetes"], location="Madrid, ES",
                       tags=["meetup"], identities=[{"platform": "github", "handle": "lgomez", "followers": 300},
                                                    {"platform": "discourse", "handle": "lucia_g", "followers": 40}])
    third = make_profile(engine, "Pedro Ruiz", identities=[{"platform": "x", "handle": "pruiz", "followers": 50}])
    a, b, c = lucia.id or 0, dup.id or 0, third.id or 0
    with session_scope(engine, write=True) as s:
        s.add_all([
            _interaction(a, "post", 2),
            _interaction(b, "forum_answer", 3, counterpart=c, source="discourse", external_id="p-1"),
            _interaction(b, "reply", 4, counterpart=a),
            _interaction(c, "mention", 5, counterpart=b),
            _interaction(a, "note", 6, counterpart=b),
            _interaction(b, "note", 7, counterpart=b),
        ])
        s.add_all([
            _edge(a, b, "knows"), _edge(b, a, "replies_to", 2.0),  # between the two: become self-loops
            _edge(b, c, "replies_to", 3.0, day=3), _edge(c, b, "mentions", day=5),  # move
            _edge(a, c, "knows", 1.0, day=10), _edge(b, c, "knows", 4.0, day=2),  # a duplicate of a -> c
        ])
    from crm.profiles import stats
    with session_scope(engine, write=True) as s:
        stats.refresh([a, b, c], session=s)
    return a, b, c


def _exports(engine: Engine, *ids: int) -> list[dict[str, Any]]:
    with Session(engine) as s:
        return [json.loads(json.dumps(person_data(pid, session=s))) for pid in ids]


def _without_audit(export: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in export.items() if k != "audit_events"}


ACTOR = Actor(user_id=None, label="test")


def test_export_holds_everything_in_a_stable_order(engine: Engine) -> None:
    a, b, c = build_pair(engine)
    first = _exports(engine, b)[0]
    assert first["profile"]["id"] == b and first["profile"]["display_name"] == "Lucia Gomez"
    assert [i["handle"] for i in first["identities"]] == ["lgomez", "lucia_g"]
    assert [i["kind"] for i in first["interactions"]] == ["forum_answer", "reply", "note"]
    assert [i["kind"] for i in first["interactions_as_counterpart"]] == ["mention", "note", "note"]
    assert {(r["source_id"], r["target_id"], r["kind"]) for r in first["relationships_outgoing"]} == {
        (b, a, "replies_to"), (b, c, "replies_to"), (b, c, "knows")}
    assert {(r["source_id"], r["kind"]) for r in first["relationships_incoming"]} == {(a, "knows"), (c, "mentions")}
    assert [e["action"] for e in first["audit_events"]] == ["profile.create"]
    assert _exports(engine, b)[0] == first  # the same twice


def test_export_person_is_audited(engine: Engine) -> None:
    a, _, _ = build_pair(engine)
    with session_scope(engine, write=True) as s:
        data = export_person(a, session=s, actor=SYSTEM)
    assert data["exported_at"] and data["profile"]["id"] == a
    with Session(engine) as s:
        actions = [e.action for e in s.exec(select(AuditEvent).where(AuditEvent.object_id == a))]
    assert actions[-1] == "profile.export"


def test_merge_then_undo_restores_both_exports_exactly(engine: Engine) -> None:
    a, b, c = build_pair(engine)
    before = _exports(engine, a, b, c)

    with session_scope(engine, write=True) as s:
        record = merges.merge(merges.MergeIn(survivor_id=a, merged_id=b, choices={"topics": "union", "tags": "merged",
                                                                                  "location": "survivor"}),
                              session=s, actor=ACTOR)
        merge_id = record.id or 0

    with Session(engine) as s:
        assert s.get(Profile, b) is None
        survivor = s.get(Profile, a)
        assert survivor is not None
        assert survivor.topics == ["kubernetes", "devops"] and survivor.tags == ["meetup"] and survivor.location == "Madrid"
        assert {i.handle for i in s.exec(select(Identity).where(Identity.profile_id == a))} == {
            "luciagm", "lucia@example.com", "lgomez", "lucia_g"}
        assert survivor.reach == 1200 + 300 + 40
        assert len(list(s.exec(select(Interaction).where(Interaction.profile_id == a)))) == 5
        edges = {(r.source_id, r.target_id, r.kind): r for r in s.exec(select(Relationship))}
        assert all(src != dst for src, dst, _ in edges)  # no self-loops
        assert set(edges) == {(a, c, "replies_to"), (c, a, "mentions"), (a, c, "knows")}
        absorbed = edges[(a, c, "knows")]
        assert absorbed.strength == 4.0 and absorbed.first_seen == T0.replace(day=2)
        assert s.exec(select(AuditEvent.action).where(AuditEvent.object_id == a)).all()[-1] == "merge.create"

    with session_scope(engine, write=True) as s:
        merges.undo(merge_id, session=s, actor=ACTOR)

    after = _exports(engine, a, b, c)
    for old, new in zip(before, after, strict=True):
        assert _without_audit(new) == _without_audit(old)
        # The audit log is append-only: everything from before is still there, then the merge and its undo.
        assert new["audit_events"][: len(old["audit_events"])] == old["audit_events"]
    assert [e["action"] for e in after[0]["audit_events"]][-2:] == ["merge.create", "merge.undo"]
    with Session(engine) as s:
        record = s.get(MergeRecord, merge_id)
        assert record is not None and record.undone_at is not None


def test_undo_refuses_when_a_moved_identity_was_deleted(engine: Engine) -> None:
    a, b, _ = build_pair(engine)
    with session_scope(engine, write=True) as s:
        merge_id = merges.merge(merges.MergeIn(survivor_id=a, merged_id=b), session=s, actor=ACTOR).id or 0
    with session_scope(engine, write=True) as s:
        s.delete(s.exec(select(Identity).where(Identity.handle == "lgomez")).one())
    with session_scope(engine, write=True) as s, pytest.raises(Conflict, match="1 identity moved by the merge"):
        merges.undo(merge_id, session=s, actor=ACTOR)
    with Session(engine) as s:
        assert s.get(Profile, b) is None


def test_undo_refuses_after_the_survivor_was_edited_and_twice(engine: Engine) -> None:
    a, b, _ = build_pair(engine)
    with session_scope(engine, write=True) as s:
        merge_id = merges.merge(merges.MergeIn(survivor_id=a, merged_id=b), session=s, actor=ACTOR).id or 0
    with session_scope(engine, write=True) as s:
        profile = s.get(Profile, a)
        assert profile is not None
        profile.bio = "changed"
        s.add(profile)
    with session_scope(engine, write=True) as s, pytest.raises(Conflict, match="bio"):
        merges.undo(merge_id, session=s, actor=ACTOR)
    with session_scope(engine, write=True) as s:
        profile = s.get(Profile, a)
        assert profile is not None
        profile.bio = "Kubernetes en español"
        s.add(profile)
    with session_scope(engine, write=True) as s:
        merges.undo(merge_id, session=s, actor=ACTOR)
    with session_scope(engine, write=True) as s, pytest.raises(Conflict, match="already undone"):
        merges.undo(merge_id, session=s, actor=ACTOR)


def _key_owner(engine: Engine, external_id: str) -> int | None:
    with Session(engine) as s:
        return s.exec(select(ImportKey.profile_id).where(ImportKey.source == "seed",
                                                         ImportKey.external_id == external_id)).one_or_none()


def test_merge_moves_import_keys_to_the_survivor_and_undo_moves_them_back(engine: Engine) -> None:
    a, b, c = build_pair(engine)
    with session_scope(engine, write=True) as s:
        s.add_all([ImportKey(source="seed", external_id="k1", profile_id=a),
                   ImportKey(source="seed", external_id="k2", profile_id=b)])
    before = _exports(engine, a, b, c)
    assert [k["external_id"] for k in before[1]["import_keys"]] == ["k2"]
    with session_scope(engine, write=True) as s:
        merge_id = merges.merge(merges.MergeIn(survivor_id=a, merged_id=b), session=s, actor=ACTOR).id or 0
    assert _key_owner(engine, "k1") == a and _key_owner(engine, "k2") == a  # a re-import finds the survivor
    assert [k["external_id"] for k in _exports(engine, a)[0]["import_keys"]] == ["k1", "k2"]
    with session_scope(engine, write=True) as s:
        merges.undo(merge_id, session=s, actor=ACTOR)
    assert _key_owner(engine, "k1") == a and _key_owner(engine, "k2") == b
    for old, new in zip(before, _exports(engine, a, b, c), strict=True):
        assert _without_audit(new) == _without_audit(old)


def test_undo_refuses_when_a_moved_import_key_was_deleted(engine: Engine) -> None:
    a, b, _ = build_pair(engine)
    with session_scope(engine, write=True) as s:
        s.add(ImportKey(source="seed", external_id="k2", profile_id=b))
    with session_scope(engine, write=True) as s:
        merge_id = merges.merge(merges.MergeIn(survivor_id=a, merged_id=b), session=s, actor=ACTOR).id or 0
    with session_scope(engine, write=True) as s:
        s.delete(s.exec(select(ImportKey)).one())
    with session_scope(engine, write=True) as s, pytest.raises(Conflict, match="1 import key moved by the merge"):
        merges.undo(merge_id, session=s, actor=ACTOR)


def _recognition_data(engine: Engine, a: int, b: int) -> None:
    """Points, a hold, a flag, badges (one both have), a redemption, thank-yous and campaign places."""
    from crm.campaigns import service as campaigns
    from crm.campaigns.models import CampaignIn, MemberIn, Stage
    from crm.recognition import ledger
    from crm.recognition import queue as recognition_queue
    from crm.recognition.models import AwardIn, Badge, BadgeAward, GamingFlag, PointHold, Redemption, Reward
    with session_scope(engine, write=True) as s:
        ledger.award(AwardIn(profile_ids=[a, b], points=20, reason="Launch week"), session=s, actor=ACTOR)
        recognition_queue.thank([b], "for the forum answers", session=s, actor=ACTOR)
        item = s.exec(select(Interaction).where(Interaction.profile_id == b, Interaction.kind == "forum_answer")).one()
        ledger.grant_for_interactions(s.connection(), [item.id or 0])
        s.add(PointHold(profile_id=b, amount=7, flag="burst", detail="a busy day", interaction_id=item.id))
        s.add(GamingFlag(profile_id=b, kind="ring", detail="with Pedro", related=[a]))
        shared, own = Badge(name="Helper"), Badge(name="Speaker")
        reward = Reward(name="T-shirt", category="swag", cost=10, stock=5)
        s.add_all([shared, own, reward])
        s.flush()
        s.add_all([BadgeAward(badge_id=shared.id or 0, profile_id=a), BadgeAward(badge_id=shared.id or 0, profile_id=b),
                   BadgeAward(badge_id=own.id or 0, profile_id=b, reason="Keynote")])
        s.add(Redemption(reward_id=reward.id or 0, profile_id=b, cost=10, shipping="Calle Mayor 1"))
        both = campaigns.create_campaign(CampaignIn(name="Both"), session=s, actor=ACTOR)
        campaigns.add_member(both.id or 0, MemberIn(profile_id=a, stage=Stage.confirmed), session=s, actor=ACTOR)
        campaigns.add_member(both.id or 0, MemberIn(profile_id=b, stage=Stage.contacted), session=s, actor=ACTOR)


def test_export_holds_recognition_and_campaign_places(engine: Engine) -> None:
    a, b, _ = build_pair(engine)
    _recognition_data(engine, a, b)
    data = _exports(engine, b)[0]
    assert sorted((e["kind"], e["amount"]) for e in data["point_entries"]) == [("awarded", 20), ("earned", 10)]
    assert [(h["flag"], h["amount"]) for h in data["point_holds"]] == [("burst", 7)]
    assert [(f["kind"], f["related"]) for f in data["gaming_flags"]] == [("ring", [a])]
    assert [w["reason"] for w in data["badge_awards"]] == ["", "Keynote"]
    assert [(r["cost"], r["shipping"]) for r in data["redemptions"]] == [(10, "Calle Mayor 1")]
    assert [(r["kind"], r["points"]) for r in data["recognitions"]] == [("points", 20), ("thanks", 0)]
    assert [m["stage"] for m in data["campaign_memberships"]] == ["contacted"]
    assert [i["title"] for i in data["interactions"] if i["kind"] == "note"][-1] == "Thank-you: for the forum answers"
    other = _exports(engine, a)[0]
    assert [(e["kind"], e["amount"]) for e in other["point_entries"]] == [("awarded", 20)]
    assert other["point_holds"] == [] and other["gaming_flags"] == [] and len(other["badge_awards"]) == 1


def test_merge_then_undo_restores_recognition_exactly(engine: Engine) -> None:
    a, b, c = build_pair(engine)
    _recognition_data(engine, a, b)
    before = _exports(engine, a, b, c)
    with session_scope(engine, write=True) as s:
        merge_id = merges.merge(merges.MergeIn(survivor_id=a, merged_id=b), session=s, actor=ACTOR).id or 0
    merged = _exports(engine, a)[0]
    assert len(merged["point_entries"]) == 3 and len(merged["redemptions"]) == 1
    assert len(merged["badge_awards"]) == 2  # the badge both had counts once
    assert len(merged["campaign_memberships"]) == 1
    with session_scope(engine, write=True) as s:
        merges.undo(merge_id, session=s, actor=ACTOR)
    for old, new in zip(before, _exports(engine, a, b, c), strict=True):
        assert _without_audit(new) == _without_audit(old)
