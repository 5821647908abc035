"""Undo of "remove from campaign": the removal's audit event keeps the member's stage, fee, notes and
next step, and putting them back adds the person again with those values."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, col, select

from crm.audit.actions import AuditAction
from crm.audit.models import AuditEvent
from crm.audit.service import Actor
from crm.campaigns import service
from crm.campaigns.models import CampaignMember, MemberIn, MemberPatch, Stage
from crm.errors import NotFound
from crm.i18n import gettext
from crm.profiles.models import Profile


def last_removal(campaign_id: int, member_id: int, *, session: Session) -> int | None:
    """The audit event of the member's removal (just made, in this session), for the undo button."""
    session.flush()
    events = session.exec(select(AuditEvent).where(
        AuditEvent.action == AuditAction.campaign_member_remove, AuditEvent.object_type == "campaign",
        AuditEvent.object_id == campaign_id).order_by(col(AuditEvent.id).desc()).limit(20))
    return next((event.id for event in events if (event.before or {}).get("id") == member_id), None)


def _removal(campaign_id: int, event_id: int, *, session: Session) -> AuditEvent:
    event = session.get(AuditEvent, event_id)
    if (event is None or event.action != AuditAction.campaign_member_remove or event.object_type != "campaign"
            or event.object_id != campaign_id or not (event.before or {}).get("profile_id")):
        raise NotFound(gettext("There is nothing to undo."))
    return event


def removed_name(campaign_id: int, event_id: int, *, session: Session) -> str | None:
    """Who was removed (for the undo banner), or None when the event is not a removal from this
    campaign or the person is back already."""
    try:
        event = _removal(campaign_id, event_id, session=session)
    except NotFound:
        return None
    profile_id = int((event.before or {})["profile_id"])
    if service.member_of(campaign_id, profile_id, session=session) is not None:
        return None
    profile = session.get(Profile, profile_id)
    return profile.display_name if profile else None


def restore_member(campaign_id: int, event_id: int, *, session: Session, actor: Actor) -> CampaignMember:
    """Adds the removed person back at their stage with their fee, notes and next step. Someone who is
    back already is refused (409), like any second add."""
    saved = dict(_removal(campaign_id, event_id, session=session).before or {})
    stage = str(saved.get("stage") or "")
    member = service.add_member(campaign_id, MemberIn(
        profile_id=int(saved["profile_id"]), stage=Stage(stage) if stage in Stage.__members__ else Stage.candidate,
        fee=saved.get("fee"), notes=str(saved.get("notes") or "")[:5000]), session=session, actor=actor)
    if saved.get("next_step") or saved.get("next_step_on"):
        service.update_member(campaign_id, member.id or 0, MemberPatch(
            next_step=str(saved.get("next_step") or "")[:300],
            next_step_on=date.fromisoformat(saved["next_step_on"]) if saved.get("next_step_on") else None),
            session=session, actor=actor)
    return member
