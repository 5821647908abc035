"""Opt-in public pages: the public points leaderboard and a person's shareable card, each at an
unguessable address (secrets.token_urlsafe(24): 192 random bits) that a writer can revoke.

Only people whose consent allows featuring (Profile.may_feature) appear, and only their names, badge
symbols and names, and points: never an e-mail address, a note, a handle or anything else. A card of
someone who withdrew consent answers "not found", as a revoked or unknown address does."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from pydantic import BaseModel, model_validator
from pydantic import Field as PydField
from sqlalchemy import Table, select, update
from sqlmodel import Session, col

from crm.audit import service as audit
from crm.audit.actions import AuditAction
from crm.audit.service import Actor
from crm.db import utcnow
from crm.errors import InvalidInput, NotFound
from crm.i18n import gettext
from crm.profiles.models import Profile
from crm.recognition import boards, ledger
from crm.recognition.models import PublicLink, PublicLinkKind
from crm.schemas import OUT_CONFIG, DbId, InputModel

L = cast(Table, PublicLink.__table__)  # type: ignore[attr-defined]
P = cast(Table, Profile.__table__)  # type: ignore[attr-defined]

TOKEN_BYTES = 24
PUBLIC_BOARD_SIZE = 50


class PublicLinkIn(InputModel):
    kind: PublicLinkKind
    profile_id: DbId | None = PydField(default=None, description="The person, for a card; none for the leaderboard")

    @model_validator(mode="after")
    def _person_for_cards(self) -> PublicLinkIn:
        if self.kind == PublicLinkKind.card and self.profile_id is None:
            raise ValueError(gettext("Choose the person whose card to share."))
        if self.kind == PublicLinkKind.leaderboard:
            self.profile_id = None
        return self


class PublicLinkOut(BaseModel):
    model_config = OUT_CONFIG

    id: int
    kind: PublicLinkKind
    profile_id: int | None
    token: str
    created_by_id: int | None
    created_at: datetime
    revoked_at: datetime | None


def path_of(link: PublicLink) -> str:
    return f"/public/{link.kind}/{link.token}"


def create_link(data: PublicLinkIn, *, session: Session, actor: Actor) -> PublicLink:
    name = ""
    if data.kind == PublicLinkKind.card:
        person = session.get(Profile, data.profile_id)
        if person is None:
            raise NotFound(gettext("There is no person with id %(id)s.") % {"id": data.profile_id})
        if not person.may_feature:
            message = gettext("%(name)s has not agreed to be featured publicly: record their consent first.") % {
                "name": person.display_name}
            raise InvalidInput(message, field_errors={"profile_id": message})
        name = person.display_name
    link = PublicLink(kind=data.kind.value, profile_id=data.profile_id, token=secrets.token_urlsafe(TOKEN_BYTES),
                      created_by_id=actor.user_id)
    session.add(link)
    session.flush()
    audit.record(session=session, actor=actor, action=AuditAction.recognition_public, object_type="public_link",
                 object_id=link.id, after={"kind": link.kind, "profile_id": link.profile_id, "name": name,
                                           "created": True})
    return link


def revoke_link(link_id: int, *, session: Session, actor: Actor) -> PublicLink:
    """The address stops working at once (and for good: a new link gets a new address)."""
    link = session.get(PublicLink, link_id)
    if link is None:
        raise NotFound(gettext("There is no public link with id %(id)s.") % {"id": link_id})
    if link.revoked_at is None:
        session.connection().execute(update(L).where(L.c.id == link_id, L.c.revoked_at.is_(None))
                                     .values(revoked_at=utcnow()))
        session.refresh(link)
        audit.record(session=session, actor=actor, action=AuditAction.recognition_public, object_type="public_link",
                     object_id=link.id, before={"kind": link.kind, "profile_id": link.profile_id},
                     after={"revoked": True})
    return link


@dataclass
class LinkRow:
    link: PublicLink
    name: str  # the person's, for a card
    may_feature: bool  # a card whose person withdrew consent shows nothing


def links(*, session: Session, include_revoked: bool = False) -> list[LinkRow]:
    query = (select(PublicLink, P.c.display_name, P.c.may_feature).outerjoin(P, P.c.id == PublicLink.profile_id)
             .order_by(col(PublicLink.created_at).desc(), col(PublicLink.id).desc()))
    if not include_revoked:
        query = query.where(col(PublicLink.revoked_at).is_(None))
    return [LinkRow(link, name or "", bool(feature) if link.profile_id else True)
            for link, name, feature in session.execute(query).all()]


def featured_people(*, session: Session, limit: int = 500) -> list[tuple[int, str]]:
    """People who may be featured (for choosing whose card to share)."""
    return [(pid, name) for pid, name in session.execute(
        select(P.c.id, P.c.display_name).where(P.c.may_feature.is_(True)).order_by(P.c.sort_name, P.c.id)
        .limit(limit)).all()]


def _live(token: str, kind: PublicLinkKind, *, session: Session) -> PublicLink:
    link = None
    if 0 < len(token) <= 64:
        link = session.execute(select(PublicLink).where(col(PublicLink.token) == token)).scalars().first()
    if link is None or link.kind != kind.value or link.revoked_at is not None:
        raise NotFound(gettext("There is no page at this address."))
    return link


def public_board(token: str, *, session: Session) -> boards.PointsBoard:
    _live(token, PublicLinkKind.leaderboard, session=session)
    return boards.public_leaderboard(session=session, limit=PUBLIC_BOARD_SIZE)


@dataclass
class PublicCard:
    name: str
    lifetime: int
    badges: list[tuple[str, str]]  # (symbol, name)


def public_card(token: str, *, session: Session) -> PublicCard:
    link = _live(token, PublicLinkKind.card, session=session)
    person = session.get(Profile, link.profile_id) if link.profile_id else None
    if person is None or not person.may_feature:
        raise NotFound(gettext("There is no page at this address."))
    pid = person.id or 0
    balance = ledger.balances([pid], conn=session.connection())[pid]
    return PublicCard(person.display_name, balance.lifetime, boards.badges_of([pid], session=session).get(pid, []))
