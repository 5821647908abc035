"""Who should act on a signal (crm.listening.routing): the profile owner, else the team member who knows
the person best (strongest relationship, else their latest conversation), mapped to a user by an e-mail
identity; else the department's queue."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from crm.accounts.models import User
from crm.audit.service import SYSTEM
from crm.db import session_scope, utcnow
from crm.interactions import log
from crm.interactions.models import InteractionIn, Relationship
from crm.listening import routing
from tests.factories import make_profile, make_user


def _teammate(engine, name: str, email: str) -> int:
    return make_profile(engine, name, is_team_member=True,
                        identities=[{"platform": "email", "handle": email.upper()}]).id or 0


def _edge(engine, source: int, target: int, kind: str, strength: float) -> None:
    with session_scope(engine, write=True) as s:
        s.add(Relationship(source_id=source, target_id=target, kind=kind, strength=strength))


def _suggest(engine, profile_id: int | None) -> routing.Suggestion:
    with Session(engine) as s:
        return routing.suggest_owner(profile_id, session=s)


def test_the_profile_owner_comes_first(engine):
    zoe = make_user(engine, "zoe@example.com", name="Zoe")
    person = make_profile(engine, owner_id=zoe.id).id
    mia = make_user(engine, "mia@example.com", name="Mia")
    _edge(engine, _teammate(engine, "Mia (team)", mia.email), person, "collaborates", 0.99)
    found = _suggest(engine, person)
    assert (found.user_id, found.basis, found.reason) == (zoe.id, "owner", "Zoe owns this profile")


def test_an_inactive_owner_is_passed_over_for_the_strongest_team_relationship(engine):
    old = make_user(engine, "old@example.com", name="Old")
    with session_scope(engine, write=True) as s:
        user = s.get(User, old.id)
        assert user is not None
        user.is_active = False
    person = make_profile(engine, owner_id=old.id).id
    zoe = make_user(engine, "zoe@example.com", name="Zoe")
    mia = make_user(engine, "mia@example.com", name="Mia")
    _edge(engine, person, _teammate(engine, "Mia (team)", mia.email), "knows", 0.4)
    _edge(engine, _teammate(engine, "Zoe (team)", zoe.email), person, "collaborates", 0.9)  # either direction
    stranger = make_profile(engine, "Not team").id
    _edge(engine, stranger, person, "collaborates", 5.0)  # not a team member: ignored
    found = _suggest(engine, person)
    assert found.user_id == zoe.id and found.basis == "relationship"
    assert found.reason == "Zoe knows them best: collaborates, strength 0.9"


def test_a_team_profile_without_a_matching_user_is_skipped(engine):
    person = make_profile(engine).id
    ghost = _teammate(engine, "Left the company", "gone@example.com")  # no such user
    mia = make_user(engine, "mia@example.com", name="Mia")
    _edge(engine, ghost, person, "collaborates", 0.9)
    _edge(engine, person, _teammate(engine, "Mia (team)", mia.email), "knows", 0.2)
    assert _suggest(engine, person).user_id == mia.id


def test_else_the_latest_conversation_with_the_team(engine):
    person = make_profile(engine).id
    zoe = make_user(engine, "zoe@example.com", name="Zoe")
    mia = make_user(engine, "mia@example.com", name="Mia")
    zoe_p, mia_p = _teammate(engine, "Zoe (team)", zoe.email), _teammate(engine, "Mia (team)", mia.email)
    with session_scope(engine, write=True) as s:
        for who, days in ((zoe_p, 10), (mia_p, 2)):
            log.log_interaction(person, InteractionIn(kind="reply", counterpart_id=who,
                                                      occurred_at=utcnow() - timedelta(days=days)), session=s, actor=SYSTEM)
    # Logging with a counterpart derives edges; drop them so only the conversations speak.
    with session_scope(engine, write=True) as s:
        for edge in s.exec(select(Relationship)).all():
            s.delete(edge)
    found = _suggest(engine, person)
    assert found.user_id == mia.id and found.basis == "interaction"


def test_nobody_knows_them_so_the_queue(engine):
    person = make_profile(engine).id
    assert _suggest(engine, person).basis == "queue"
    assert _suggest(engine, None).user_id is None
    assert _suggest(engine, 999_999).basis == "queue"


def test_default_departments_per_type():
    assert routing.DEFAULT_DEPARTMENT_OF_TYPE == {
        "complaint": "Support", "support_request": "Support", "bug_report": "Product", "product_feedback": "Product",
        "sales_lead": "Sales", "praise": "Marketing"}
