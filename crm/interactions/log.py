"""Logging, editing and deleting interactions by hand (from a person's page or the API).

Every write refreshes the person's derived columns (crm.profiles.stats) and the edges derived from
interactions (crm.relationships.service), and is audited against the person ("profile", id), so the
audit events appear on their timeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from crm.accounts.models import Role, User
from crm.audit import service as audit
from crm.audit.actions import AuditAction
from crm.audit.models import AuditEvent
from crm.audit.service import Actor
from crm.campaigns.models import Campaign
from crm.db import serialize_writes, utcnow
from crm.errors import InvalidInput, NotFound, PermissionDenied
from crm.i18n import gettext
from crm.interactions.models import (
    OUTREACH_KINDS,
    Interaction,
    InteractionFields,
    InteractionIn,
    InteractionKind,
    InteractionPatch,
)
from crm.listening import hooks as listening
from crm.profiles import stats
from crm.profiles.models import Profile, ProfileStatus
from crm.profiles.service import get_profile
from crm.recognition import hooks, ledger
from crm.relationships.service import refresh_derived_edges

_FIELDS = tuple(InteractionFields.model_fields)
UNDO_WINDOW = timedelta(minutes=30)
# Who may change any entry; others (a writer role added later) only their own. Viewers none.
EDIT_ANY_ROLES = frozenset({Role.admin.value, Role.manager.value})


def get_interaction(interaction_id: int, *, session: Session, profile_id: int | None = None) -> Interaction:
    item = session.get(Interaction, interaction_id)
    if item is None or (profile_id is not None and item.profile_id != profile_id):
        raise NotFound(gettext("There is no interaction with id %(id)s.") % {"id": interaction_id})
    return item


def may_edit(item: Interaction, user: User | None) -> bool:
    """One's own entries, and any entry for managers and admins; viewers none."""
    if user is None or not user.can_write:
        return False
    return user.role in EDIT_ANY_ROLES or (item.created_by_id is not None and item.created_by_id == user.id)


def check_may_edit(item: Interaction, user: User | None) -> None:
    if not may_edit(item, user):
        raise PermissionDenied(gettext("You can only change the entries you logged yourself."))


def contact_refusal(profile: Profile) -> str | None:
    """Why outreach to this person needs confirmation, or None."""
    if profile.status == ProfileStatus.do_not_contact:
        return gettext("%(name)s is marked “do not contact”.") % {"name": profile.display_name}
    if not profile.may_contact:
        return gettext("%(name)s has not agreed to be contacted (consent: may contact = no).") % {
            "name": profile.display_name}
    return None


def snapshot(item: Interaction) -> dict[str, Any]:
    """What the audit log keeps of an interaction (enough to put a deleted one back)."""
    data = item.model_dump(include={"id", *_FIELDS, "source", "external_id", "created_by_id", "sentiment_source"})
    data["occurred_at"] = item.occurred_at.isoformat()
    return data


def _check(values: dict[str, Any], profile: Profile, *, confirmed: bool, session: Session) -> None:
    counterpart = values.get("counterpart_id")
    if counterpart is not None:
        if counterpart == profile.id:
            raise InvalidInput(gettext("Check the highlighted fields."),
                               field_errors={"counterpart_id": gettext("The other person cannot be this person.")})
        if session.get(Profile, counterpart) is None:
            raise InvalidInput(gettext("Check the highlighted fields."),
                               field_errors={"counterpart_id": gettext("There is no person with that id.")})
    campaign = values.get("campaign_id")
    if campaign is not None and session.get(Campaign, campaign) is None:
        raise InvalidInput(gettext("Check the highlighted fields."),
                           field_errors={"campaign_id": gettext("There is no campaign with that id.")})
    if values.get("kind") in OUTREACH_KINDS and not confirmed:
        reason = contact_refusal(profile)
        if reason:
            raise InvalidInput(reason, field_errors={"contact_anyway": reason})


def _after_write(session: Session, *profile_ids: int | None) -> None:
    ids = [pid for pid in profile_ids if pid]
    session.flush()
    stats.refresh(ids, session=session)
    refresh_derived_edges(session.connection(), ids)


# A patch's explicit null may only clear the fields whose column may be empty.
_CLEARABLE = frozenset({"sentiment", "counterpart_id", "campaign_id"})


def _values(data: InteractionIn | InteractionPatch, *, partial: bool) -> dict[str, Any]:
    sent = data.model_fields_set if partial else set(_FIELDS)
    values = {}
    for name in _FIELDS:
        if name not in sent:
            continue
        value = getattr(data, name)
        if value is None and partial and name not in _CLEARABLE:
            raise InvalidInput(gettext("Some fields cannot be emptied."),
                               field_errors={name: gettext("This field cannot be null; leave it out to keep it.")})
        if isinstance(value, InteractionKind):
            value = value.value
        elif isinstance(value, datetime):
            value = value.astimezone(UTC)  # stored and answered in UTC
        values[name] = value
    return values


def log_interaction(profile_id: int, data: InteractionIn, *, session: Session, actor: Actor) -> Interaction:
    profile = get_profile(profile_id, session=session)
    values = _values(data, partial=False)
    if values.get("occurred_at") is None:
        values["occurred_at"] = utcnow()
    _check(values, profile, confirmed=data.contact_anyway, session=session)
    item = Interaction(profile_id=profile_id, source="manual", created_by_id=actor.user_id, **values)
    session.add(item)
    _after_write(session, profile_id, item.counterpart_id)
    listening.after_interactions(session.connection(), [item.id or 0])
    hooks.after_interactions(session.connection(), [item.id or 0], actor_id=actor.user_id)
    audit.record(session=session, actor=actor, action=AuditAction.interaction_create, object_type="profile",
                 object_id=profile_id, after=snapshot(item))
    return item


def update_interaction(interaction_id: int, data: InteractionIn | InteractionPatch, *, session: Session, actor: Actor,
                       user: User | None, profile_id: int | None = None) -> Interaction:
    item = get_interaction(interaction_id, session=session, profile_id=profile_id)
    check_may_edit(item, user)
    profile = get_profile(item.profile_id, session=session)
    values = _values(data, partial=isinstance(data, InteractionPatch))
    if values.get("occurred_at", item.occurred_at) is None:
        values.pop("occurred_at")  # a time cannot be cleared
    if "kind" in values and values["kind"] is None:
        raise InvalidInput(gettext("Check the highlighted fields."),
                           field_errors={"kind": gettext("Choose one of the options.")})
    # Asked again only when the edit turns it into outreach or changes who it is with.
    check = {}
    if values.get("kind", item.kind) != item.kind:
        check["kind"] = values["kind"]
    if values.get("counterpart_id", item.counterpart_id) != item.counterpart_id:
        check["counterpart_id"] = values["counterpart_id"]
    if values.get("campaign_id", item.campaign_id) != item.campaign_id:
        check["campaign_id"] = values["campaign_id"]
    _check(check, profile, confirmed=bool(data.contact_anyway), session=session)
    before = snapshot(item)
    old_counterpart = item.counterpart_id
    if "sentiment" in values and values["sentiment"] != item.sentiment:
        item.sentiment_source = "corrected" if values["sentiment"] is not None else ""  # a person's label now
    for name, value in values.items():
        setattr(item, name, value)
    item.updated_at = utcnow()
    session.add(item)
    _after_write(session, item.profile_id, old_counterpart, item.counterpart_id)
    after = snapshot(item)
    if any(after[k] != before.get(k) for k in ("kind", "channel", "occurred_at")):  # what the points depend on
        ledger.revoke_for_interaction(session.connection(), item.id or 0, gettext("The interaction was edited."),
                                      actor_id=actor.user_id)
    listening.after_interactions(session.connection(), [item.id or 0])
    hooks.after_interactions(session.connection(), [item.id or 0], actor_id=actor.user_id)
    changed = [k for k in after if after[k] != before.get(k)]
    if changed:
        audit.record(session=session, actor=actor, action=AuditAction.interaction_update, object_type="profile",
                     object_id=item.profile_id, before={k: before.get(k) for k in changed} | {"id": item.id},
                     after={k: after[k] for k in changed} | {"id": item.id})
    return item


def delete_interaction(interaction_id: int, *, session: Session, actor: Actor, user: User | None,
                       profile_id: int | None = None) -> AuditEvent:
    """Deletes it and returns the audit event, whose `before` is enough to undo the delete."""
    item = get_interaction(interaction_id, session=session, profile_id=profile_id)
    check_may_edit(item, user)
    before = snapshot(item)
    owner, counterpart = item.profile_id, item.counterpart_id
    ledger.revoke_for_interaction(session.connection(), interaction_id, gettext("The interaction was deleted."),
                                  actor_id=actor.user_id)
    session.delete(item)
    _after_write(session, owner, counterpart)
    event = audit.record(session=session, actor=actor, action=AuditAction.interaction_delete, object_type="profile",
                         object_id=owner, before=before)
    session.flush()
    return event


def undo_delete(event_id: int, *, session: Session, actor: Actor, profile_id: int) -> Interaction:
    """Puts back an interaction deleted by this same user within UNDO_WINDOW (from the audit event)."""
    event = session.get(AuditEvent, event_id)
    if (event is None or event.action != AuditAction.interaction_delete or event.object_id != profile_id
            or event.actor_id is None or event.actor_id != actor.user_id or not event.before):
        raise NotFound(gettext("There is nothing to undo."))
    if utcnow() - event.created_at > UNDO_WINDOW:
        raise InvalidInput(gettext("It is too late to undo that delete."))
    # Two undos at once: the second waits here and then sees the first one's audit event.
    serialize_writes(session, "interaction-undo")
    # Any later interaction_create on this person recording this delete (the undo audits itself so).
    undone = session.exec(
        select(AuditEvent.after).where(
            AuditEvent.action == AuditAction.interaction_create, AuditEvent.object_type == "profile",
            AuditEvent.object_id == profile_id, col(AuditEvent.id) > event_id,
        )
    )
    if any((after or {}).get("restored_from") == event_id for after in undone):
        raise InvalidInput(gettext("That delete was already undone."))
    saved = dict(event.before)
    get_profile(profile_id, session=session)
    counterpart = saved.get("counterpart_id")
    if counterpart is not None and session.get(Profile, counterpart) is None:
        counterpart = None
    item = Interaction(
        profile_id=profile_id, kind=saved["kind"], channel=saved.get("channel", ""),
        occurred_at=datetime.fromisoformat(saved["occurred_at"]), title=saved.get("title", ""),
        body=saved.get("body", ""), url=saved.get("url", ""), reach=saved.get("reach", 0),
        engagements=saved.get("engagements", 0), sentiment=saved.get("sentiment"), counterpart_id=counterpart,
        sentiment_source=saved.get("sentiment_source", ""),
        source=saved.get("source", "manual"), external_id=saved.get("external_id"),
        created_by_id=saved.get("created_by_id"),
        campaign_id=saved.get("campaign_id") if session.get(Campaign, saved.get("campaign_id") or 0) else None,
    )
    session.add(item)
    _after_write(session, profile_id, counterpart)
    listening.after_interactions(session.connection(), [item.id or 0])
    hooks.after_interactions(session.connection(), [item.id or 0], actor_id=actor.user_id)
    audit.record(session=session, actor=actor, action=AuditAction.interaction_create, object_type="profile",
                 object_id=profile_id, after=snapshot(item) | {"restored_from": event_id})
    return item


def find_people(query: str, *, session: Session, exclude_id: int | None = None, limit: int = 8) -> list[Profile]:
    """People whose name (or handle, topic...) contains the words typed: the person picker."""
    words = stats.fold(query).split()[:5]
    if not words:
        return []
    statement = select(Profile)
    for word in words:
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement = statement.where(col(Profile.search_text).like(f"%{escaped}%", escape="\\"))
    if exclude_id is not None:
        statement = statement.where(Profile.id != exclude_id)
    return list(session.exec(statement.order_by(col(Profile.display_name), col(Profile.id)).limit(limit)))


def people_named(ids: list[int], *, session: Session) -> dict[int, str]:
    """id -> display name, for showing who was chosen in a form or named on an entry."""
    wanted = [pid for pid in ids if pid]
    if not wanted:
        return {}
    rows = session.exec(select(Profile.id, Profile.display_name).where(col(Profile.id).in_(wanted)))
    return {int(pid): name for pid, name in rows if pid is not None}
