"""Who should act on a signal: the teammate who already knows the person.

In order: the person's profile owner (an active user); else the team member who knows them best (the
strongest relationship between the person and a team-member profile, else the team member they last
had an interaction with), mapped to a user by an `email` identity whose handle is the user's e-mail;
else nobody, and the signal waits in its department's queue."""

from __future__ import annotations

from dataclasses import dataclass

from babel.numbers import format_decimal
from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from crm.accounts.models import WRITER_ROLES, User
from crm.i18n import current_locale, gettext
from crm.interactions.models import Interaction, Relationship
from crm.listening.models import SignalType
from crm.profiles.models import Identity, Platform, Profile

# Where a signal of each type goes when nobody chose a department (by the default departments' names).
DEFAULT_DEPARTMENT_OF_TYPE: dict[str, str] = {
    SignalType.complaint: "Support",
    SignalType.support_request: "Support",
    SignalType.bug_report: "Product",
    SignalType.product_feedback: "Product",
    SignalType.sales_lead: "Sales",
    SignalType.praise: "Marketing",
}


@dataclass(frozen=True)
class Suggestion:
    user_id: int | None  # None: the department's queue
    user_name: str
    basis: str  # owner | relationship | interaction | queue
    reason: str  # said on the form: "Zoe owns this profile"


def _team_users(team_profile_ids: list[int], *, session: Session) -> dict[int, User]:
    """Team-member profile id -> the active user whose e-mail is one of its `email` identities."""
    if not team_profile_ids:
        return {}
    rows = session.exec(
        select(Identity.profile_id, User)
        .join(User, func.lower(User.email) == Identity.handle_key)
        .where(Identity.platform == Platform.email.value, col(Identity.profile_id).in_(team_profile_ids),
               col(User.is_active).is_(True), col(User.role).in_(list(WRITER_ROLES)))  # viewers cannot act on it
        .order_by(col(User.id))
    ).all()
    found: dict[int, User] = {}
    for profile_id, user in rows:
        found.setdefault(profile_id, user)
    return found


def suggest_owner(profile_id: int | None, *, session: Session) -> Suggestion:
    queue = Suggestion(None, "", "queue", gettext("Nobody on the team knows them yet: it waits in the department's queue."))
    profile = session.get(Profile, profile_id) if profile_id else None
    if profile is None:
        return queue
    if profile.owner_id is not None:
        owner = session.get(User, profile.owner_id)
        if owner is not None and owner.can_write:
            return Suggestion(owner.id, owner.name, "owner", gettext("%(name)s owns this profile") % {"name": owner.name})
    # The strongest relationship with a team member, whichever way the edge points.
    edges = session.exec(
        select(Relationship.source_id, Relationship.target_id, Relationship.kind, Relationship.strength)
        .join(Profile, or_(
            (col(Profile.id) == Relationship.target_id) & (Relationship.source_id == profile.id),
            (col(Profile.id) == Relationship.source_id) & (Relationship.target_id == profile.id)))
        .where(col(Profile.is_team_member).is_(True), col(Profile.id) != profile.id)
        .order_by(col(Relationship.strength).desc(), col(Relationship.id))
        .limit(50)
    ).all()
    team_of_edges = [t if s == profile.id else s for s, t, _k, _w in edges]
    users = _team_users(team_of_edges, session=session)
    for (_s, _t, kind, strength), team_id in zip(edges, team_of_edges, strict=True):
        user = users.get(team_id)
        if user is not None:
            return Suggestion(user.id, user.name, "relationship",
                              gettext("%(name)s knows them best: %(kind)s, strength %(strength)s")
                              % {"name": user.name, "kind": gettext(kind.replace("_", " ")),
                                 "strength": format_decimal(round(strength, 2), locale=current_locale.get())})
    # Else whoever on the team they last had an interaction with (either side of it).
    recent = session.exec(
        select(Interaction.profile_id, Interaction.counterpart_id, Interaction.occurred_at)
        .join(Profile, or_(
            (col(Profile.id) == Interaction.counterpart_id) & (Interaction.profile_id == profile.id),
            (col(Profile.id) == Interaction.profile_id) & (Interaction.counterpart_id == profile.id)))
        .where(col(Profile.is_team_member).is_(True))
        .order_by(col(Interaction.occurred_at).desc(), col(Interaction.id).desc())
        .limit(50)
    ).all()
    team_of_talks: list[int] = [(c if p == profile.id else p) or 0 for p, c, _at in recent]
    users = _team_users([t for t in team_of_talks if t], session=session)
    for team_id in team_of_talks:
        user = users.get(team_id)
        if user is not None:
            return Suggestion(user.id, user.name, "interaction",
                              gettext("%(name)s knows them best: their most recent conversation with the team")
                              % {"name": user.name})
    return queue
