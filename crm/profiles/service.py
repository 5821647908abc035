"""Profiles and identities: create, update, delete, and the checks that go with them."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from crm.accounts.models import User
from crm.audit import service as audit
from crm.audit.actions import AuditAction
from crm.audit.service import Actor
from crm.db import utcnow
from crm.errors import Conflict, InvalidInput, NotFound
from crm.i18n import gettext
from crm.interactions.models import Interaction, Relationship
from crm.interactions.timeline import count_interactions
from crm.profiles import stats
from crm.profiles.models import (
    Identity,
    IdentityFields,
    IdentityIn,
    Profile,
    ProfileFields,
    ProfileIn,
    ProfilePatch,
    normalise_handle,
    profile_snapshot,
    stored_values,
)
from crm.recognition.models import PublicLink
from crm.relationships.service import count_relationships


def get_profile(profile_id: int, *, session: Session, for_update: bool = False) -> Profile:
    """`for_update` locks the row (PostgreSQL) so that a concurrent edit or delete waits, then sees the outcome."""
    profile = session.get(Profile, profile_id, with_for_update=for_update, populate_existing=for_update)
    if profile is None:
        raise NotFound(gettext("There is no person with id %(id)d.") % {"id": profile_id})
    return profile


def identities_of(profile_id: int, *, session: Session) -> list[Identity]:
    query = select(Identity).where(Identity.profile_id == profile_id).order_by(col(Identity.followers).desc())
    return list(session.exec(query))


def reach_of(identities: list[Identity]) -> int:
    return sum(i.followers for i in identities)


def _check_identities(identities: list[IdentityIn], *, session: Session, profile_id: int | None) -> None:
    """Each (platform, handle) belongs to one person: say which field clashes and with whom."""
    errors: dict[str, str] = {}
    seen: dict[tuple[str, str], int] = {}
    for index, identity in enumerate(identities):
        key = (identity.platform.value, normalise_handle(identity.platform, identity.handle))
        if key in seen:
            errors[f"identities.{index}.handle"] = gettext("listed twice (also row %(row)d)") % {"row": seen[key] + 1}
            continue
        seen[key] = index
        clash = session.exec(
            select(Identity, Profile.display_name)
            .join(Profile, col(Profile.id) == Identity.profile_id)
            .where(Identity.platform == key[0], Identity.handle_key == key[1])
        ).first()
        if clash is not None and clash[0].profile_id != profile_id:
            errors[f"identities.{index}.handle"] = (
                gettext("%(platform)s handle %(handle)s already belongs to %(name)s (#%(id)d)")
                % {"platform": identity.platform.value, "handle": identity.handle, "name": clash[1], "id": clash[0].profile_id}
            )
    if errors:
        raise InvalidInput(gettext("Some identities belong to someone else."), field_errors=errors)


def _check_owner(owner_id: int | None, *, session: Session) -> None:
    if owner_id is not None and session.get(User, owner_id) is None:
        raise InvalidInput(gettext("That owner does not exist."), field_errors={"owner_id": gettext("no such user")})


# A patch's explicit null clears only the fields that may be empty: those whose default is None.
_CLEARABLE = frozenset(name for name, field in ProfileFields.model_fields.items() if field.default is None)


def _profile_values(data: ProfileIn | ProfilePatch, *, partial: bool) -> dict[str, Any]:
    """The profile's columns from a request: every field, or only those a patch sent."""
    names = [name for name in ProfileFields.model_fields if not partial or name in data.model_fields_set]
    return stored_values(data, names)


def _sync_identities(profile: Profile, wanted: list[IdentityIn], *, session: Session) -> None:
    """Replace the profile's identities with `wanted`. Rows that stay keep their sync dates and any
    field the request left out (the HTML form shows only some)."""
    existing = {(i.platform, i.handle_key): i for i in identities_of(profile.id or 0, session=session)}
    keys = [(item.platform.value, normalise_handle(item.platform, item.handle)) for item in wanted]
    stale = [row.id for key, row in existing.items() if key not in keys]
    if stale:
        session.execute(delete(Identity).where(col(Identity.id).in_(stale)))
    session.flush()  # so that a failing flush below is about the identity it adds
    for index, (item, key) in enumerate(zip(wanted, keys, strict=True)):
        row = existing.get(key)
        if row is None:
            values = stored_values(item, IdentityFields.model_fields)
            session.add(Identity(profile_id=profile.id or 0, handle_key=key[1], **values))
            _flush_new_identity(item, index, session=session)
        else:
            for name, value in stored_values(item, item.model_fields_set).items():
                setattr(row, name, value)
            if not row.url and item.url:  # built from the handle: fills a blank, never replaces a stored link
                row.url = item.url
            row.updated_at = utcnow()
    session.flush()


def _flush_new_identity(item: IdentityIn, index: int, *, session: Session) -> None:
    """Another request may have saved the same handle since _check_identities looked (PostgreSQL
    lets both pass the check): the unique index decides, and the loser gets a 409 on that row."""
    try:
        session.flush()
    except IntegrityError:
        message = gettext("%(platform)s handle %(handle)s was saved for someone else a moment ago.") % {
            "platform": item.platform.value, "handle": item.handle}
        raise Conflict(gettext("Some identities belong to someone else."),
                       field_errors={f"identities.{index}.handle": message}) from None


def create_profile(data: ProfileIn, *, session: Session, actor: Actor) -> Profile:
    """A new person. Without an owner in the request (`owner_id` left out, not sent as null), the
    user who adds them looks after them."""
    _check_identities(data.identities, session=session, profile_id=None)
    values = _profile_values(data, partial=False)
    if "owner_id" not in data.model_fields_set and actor.user_id is not None:
        values["owner_id"] = actor.user_id
    _check_owner(values["owner_id"], session=session)
    profile = Profile(**values)
    session.add(profile)
    session.flush()
    _sync_identities(profile, data.identities, session=session)
    stats.refresh([profile.id or 0], session=session)
    session.refresh(profile)
    audit.record(session=session, actor=actor, action=AuditAction.profile_create, object_type="profile", object_id=profile.id,
                 after=profile_snapshot(profile, identities_of(profile.id or 0, session=session)))
    return profile


def update_profile(profile_id: int, data: ProfileIn | ProfilePatch, *, session: Session, actor: Actor) -> Profile:
    profile = get_profile(profile_id, session=session, for_update=True)
    partial = isinstance(data, ProfilePatch)
    before = profile_snapshot(profile, identities_of(profile_id, session=session))
    if data.identities is not None:
        _check_identities(data.identities, session=session, profile_id=profile_id)
    values = _profile_values(data, partial=partial)
    if "owner_id" in values:
        _check_owner(values["owner_id"], session=session)
    for name, value in values.items():
        if value is None and name not in _CLEARABLE:
            continue
        setattr(profile, name, value)
    profile.updated_at = utcnow()
    if data.identities is not None:
        _sync_identities(profile, data.identities, session=session)
    session.flush()
    stats.refresh([profile_id], session=session)
    session.refresh(profile)
    after = profile_snapshot(profile, identities_of(profile_id, session=session))
    changed_before = {k: v for k, v in before.items() if after.get(k) != v}
    changed_after = {k: v for k, v in after.items() if before.get(k) != v}
    if changed_after:
        audit.record(session=session, actor=actor, action=AuditAction.profile_update, object_type="profile", object_id=profile_id,
                     before=changed_before, after=changed_after)
    if before.get("may_feature") and not profile.may_feature:  # consent withdrawn: their public cards end for good
        link = PublicLink.__table__  # type: ignore[attr-defined]
        session.execute(update(link).where(link.c.profile_id == profile_id, link.c.revoked_at.is_(None))
                        .values(revoked_at=utcnow()))
    return profile


@dataclass(frozen=True)
class DeletionImpact:
    identities: int
    interactions: int
    relationships: int


def deletion_impact(profile_id: int, *, session: Session) -> DeletionImpact:
    get_profile(profile_id, session=session)
    count = func.count()
    return DeletionImpact(
        identities=int(session.exec(select(count).select_from(Identity).where(Identity.profile_id == profile_id)).one()),
        interactions=count_interactions(profile_id, session=session),
        relationships=count_relationships(profile_id, session=session),
    )


def delete_profile(profile_id: int, *, session: Session, actor: Actor) -> str:
    """Deletes the person with their identities, interactions and relationships; returns the name."""
    profile = get_profile(profile_id, session=session, for_update=True)
    before = profile_snapshot(profile, identities_of(profile_id, session=session))
    name = profile.display_name
    # Explicit deletes rather than relying on ON DELETE CASCADE alone, so it is the same on every backend.
    session.execute(delete(Identity).where(col(Identity.profile_id) == profile_id))
    session.execute(delete(Interaction).where(col(Interaction.profile_id) == profile_id))
    session.execute(
        delete(Relationship).where(or_(col(Relationship.source_id) == profile_id, col(Relationship.target_id) == profile_id))
    )
    session.delete(profile)
    audit.record(session=session, actor=actor, action=AuditAction.profile_delete, object_type="profile", object_id=profile_id,
                 before=before)
    return name


def owners(*, session: Session) -> list[User]:
    return list(session.exec(select(User).where(User.is_active == True).order_by(User.name)))  # noqa: E712


def counts_by_status(*, session: Session) -> dict[str, int]:
    rows = session.exec(select(Profile.status, func.count()).group_by(Profile.status))  # type: ignore[call-overload]
    result: dict[str, int] = defaultdict(int)
    for status, count in rows:
        result[status] = int(count)
    return dict(result)
