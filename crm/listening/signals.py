"""Signals routed to whoever can act: what a person told us (one or several mentions), of a type, for a
department, with an owner, a priority, a status and SLA due times.

- Routing: crm.listening.routing suggests the owner (who already knows the person) or the queue.
- SLA: targets per (type, priority), hours to first response and to resolution; the first response
  target is halved for people with high reach or high advocacy (the note says why). Due times are
  fixed when the signal opens and again when it reopens. A type without targets has no SLA, and
  so no breach.
- Statuses move new -> triaged -> in progress -> waiting -> resolved -> closed (resolving needs a
  note); every move is audited against ("signal", id). A resolved signal reopens when the person
  writes again (reopen_for_interactions, called for every new interaction in the caller's transaction).
- Closing the loop: an outreach logged to the person's timeline and/or a follow-up date."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, field_validator, model_validator
from pydantic import Field as PydField
from sqlalchemy import Connection, Table, and_, case, exists, func, insert, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from crm.accounts.models import WRITER_ROLES, User
from crm.audit import service as audit
from crm.audit.actions import AuditAction
from crm.audit.models import AuditEvent
from crm.audit.service import Actor
from crm.db import utcnow
from crm.errors import Conflict, InvalidInput, NotFound
from crm.i18n import gettext, ngettext
from crm.interactions.models import OUR_KINDS, Interaction, InteractionKind
from crm.listening import routing
from crm.listening.models import (
    OPEN_SIGNAL_STATUSES,
    Alert,
    Department,
    Signal,
    SignalItem,
    SignalPriority,
    SignalStatus,
    SignalType,
    SlaTarget,
)
from crm.profiles.models import Profile
from crm.schemas import OUT_CONFIG, DbId, InputModel

OPEN = sorted(s.value for s in OPEN_SIGNAL_STATUSES)
DEFAULT_DEPARTMENTS = ("Support", "Product", "Sales", "Marketing")
# Hours (first response, resolution) per priority, for complaints and support requests.
DEFAULT_SLA: dict[SignalPriority, tuple[float, float]] = {
    SignalPriority.urgent: (1, 8), SignalPriority.high: (4, 24), SignalPriority.normal: (24, 72),
    SignalPriority.low: (72, 240),
}
DEFAULT_SLA_TYPES = (SignalType.complaint, SignalType.support_request)
# The first response is halved for these people (scores, not tags).
HIGH_REACH = 10_000
HIGH_SCORE = 75.0
CHAMPION_LEVEL = 1
MAX_HOURS = 24 * 365
MAX_ITEMS = 100
REOPEN_CHUNK = 30_000  # ids in one IN (...): under SQLite's 32,766 and PostgreSQL's 65,535 parameters

# Where each status may go. Closed is the end; resolved may go back to in progress (or reopens by itself).
MOVES: dict[str, tuple[str, ...]] = {
    SignalStatus.new: ("triaged", "in_progress", "waiting", "resolved", "closed"),
    SignalStatus.triaged: ("in_progress", "waiting", "resolved", "closed"),
    SignalStatus.in_progress: ("triaged", "waiting", "resolved", "closed"),
    SignalStatus.waiting: ("in_progress", "resolved", "closed"),
    SignalStatus.resolved: ("in_progress", "closed"),
    SignalStatus.closed: (),
}


# ---- request and response schemas -----------------------------------------------------------


class SignalIn(InputModel):
    """Opening a signal. `owner_id` left out: the suggested owner (crm.listening.routing); null: the
    department's queue. `department_id` left out or null: the default department of the type."""

    type: SignalType
    title: str = PydField(min_length=1, max_length=300)
    summary: str = PydField(default="", max_length=5000)
    profile_id: DbId | None = PydField(default=None, description="The person; left out: the first interaction's")
    department_id: DbId | None = None
    owner_id: DbId | None = None
    priority: SignalPriority = SignalPriority.normal
    interaction_ids: list[DbId] = PydField(default_factory=list, max_length=MAX_ITEMS,
                                           description="The mentions or interactions it is about")
    alert_id: DbId | None = PydField(default=None, description="The alert it came from (marked acted on)")


class SignalPatch(InputModel):
    """Partial update: only the fields sent change (owner_id null: back to the queue)."""

    type: SignalType | None = None
    title: str | None = PydField(default=None, min_length=1, max_length=300)
    summary: str | None = PydField(default=None, max_length=5000)
    department_id: DbId | None = None
    owner_id: DbId | None = None
    priority: SignalPriority | None = None


class StatusIn(InputModel):
    status: SignalStatus
    note: str = PydField(default="", max_length=2000, description="Required when resolving: what was done")


class NoteIn(InputModel):
    text: str = PydField(min_length=1, max_length=2000)


class JoinIn(InputModel):
    interaction_ids: list[DbId] = PydField(min_length=1, max_length=MAX_ITEMS)


class CloseLoopIn(InputModel):
    """Tell the person (an outreach logged to their timeline) and/or set a follow-up date for the owner."""

    kind: Literal["outreach_email", "outreach_dm"] | None = None
    message: str = PydField(default="", max_length=5000)
    contact_anyway: bool = PydField(default=False, description="Log it even though the person may not be contacted")
    follow_up_on: date | None = None

    @model_validator(mode="after")
    def _something(self) -> CloseLoopIn:
        if self.kind is None and self.follow_up_on is None:
            raise ValueError(gettext("Choose how to tell them, or a follow-up date."))
        if self.kind is not None and not self.message:
            raise ValueError(gettext("Write the message to send."))
        return self


class DepartmentIn(InputModel):
    name: str = PydField(min_length=1, max_length=100)
    email: str = PydField(default="", max_length=320, description="The queue's address, if it has one")

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if value and ("@" not in value.strip("@") or " " in value):
            raise ValueError(gettext("Enter a valid e-mail address."))
        return value


class SlaTargetIn(InputModel):
    signal_type: SignalType
    priority: SignalPriority
    first_response_hours: float = PydField(gt=0, le=MAX_HOURS)
    resolution_hours: float = PydField(gt=0, le=MAX_HOURS)

    @model_validator(mode="after")
    def _order(self) -> SlaTargetIn:
        if self.first_response_hours > self.resolution_hours:
            raise ValueError(gettext("The first response cannot come after the resolution."))
        return self


class SlaTargetsIn(InputModel):
    """Every target (the whole table); a (type, priority) left out has no SLA."""

    targets: list[SlaTargetIn] = PydField(default_factory=list, max_length=len(SignalType) * len(SignalPriority))

    @model_validator(mode="after")
    def _unique(self) -> SlaTargetsIn:
        keys = [(t.signal_type, t.priority) for t in self.targets]
        if len(keys) != len(set(keys)):
            raise ValueError(gettext("Each type and priority can have one target only."))
        return self


class SignalOut(BaseModel):
    model_config = OUT_CONFIG

    id: int
    type: str
    title: str
    summary: str
    profile_id: int | None
    department_id: int | None
    owner_id: int | None
    priority: str
    status: str
    alert_id: int | None
    first_response_due: datetime | None
    resolution_due: datetime | None
    sla_note: str
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    resolution_note: str
    reopened_count: int
    loop_closed_at: datetime | None
    loop_interaction_id: int | None
    follow_up_on: date | None
    created_at: datetime
    updated_at: datetime
    interaction_ids: list[int] = PydField(default_factory=list)
    breached: bool = PydField(default=False, description="Open and past a due time")


class DepartmentOut(BaseModel):
    model_config = OUT_CONFIG

    id: int
    name: str
    email: str


class SlaTargetOut(BaseModel):
    model_config = OUT_CONFIG

    signal_type: str
    priority: str
    first_response_hours: float
    resolution_hours: float


class SuggestionOut(BaseModel):
    user_id: int | None
    user_name: str
    basis: str = PydField(description="owner | relationship | interaction | queue")
    reason: str


# ---- defaults ------------------------------------------------------------------------------------


def ensure_defaults(*, session: Session) -> bool:
    """The default departments and SLA targets on first use (never again once someone has edited them:
    an emptied table stays empty). True when something was created (the caller commits it)."""
    created = False
    if session.exec(select(Department.id).limit(1)).first() is None and not _edited(session, AuditAction.department_update):
        try:
            with session.begin_nested():
                for name in DEFAULT_DEPARTMENTS:
                    session.add(Department(name=name))
            created = True
        except IntegrityError:
            pass  # created by someone else a moment ago
    if session.exec(select(SlaTarget.id).limit(1)).first() is None and not _edited(session, AuditAction.sla_update):
        try:
            with session.begin_nested():
                for signal_type in DEFAULT_SLA_TYPES:
                    for priority, (first, resolution) in DEFAULT_SLA.items():
                        session.add(SlaTarget(signal_type=signal_type.value, priority=priority.value,
                                              first_response_hours=first, resolution_hours=resolution))
            created = True
        except IntegrityError:
            pass
    return created


def _edited(session: Session, action: AuditAction) -> bool:
    return session.exec(select(AuditEvent.id).where(AuditEvent.action == action).limit(1)).first() is not None


# ---- departments ---------------------------------------------------------------------------------


def departments(*, session: Session) -> list[Department]:
    return list(session.exec(select(Department).order_by(func.lower(Department.name), col(Department.id))))


def get_department(department_id: int, *, session: Session) -> Department:
    found = session.get(Department, department_id)
    if found is None:
        raise NotFound(gettext("There is no department with id %(id)s.") % {"id": department_id})
    return found


def _name_taken(name: str, department_id: int | None, *, session: Session) -> None:
    clash = session.exec(select(Department.id).where(func.lower(Department.name) == name.lower())).first()
    if clash is not None and clash != department_id:
        message = gettext("There is already a department called %(name)s.") % {"name": name}
        raise Conflict(message, field_errors={"name": message})


def create_department(data: DepartmentIn, *, session: Session, actor: Actor) -> Department:
    ensure_defaults(session=session)
    _name_taken(data.name, None, session=session)
    department = Department(name=data.name, email=data.email)
    try:
        with session.begin_nested():
            session.add(department)
    except IntegrityError:
        message = gettext("There is already a department called %(name)s.") % {"name": data.name}
        raise Conflict(message, field_errors={"name": message}) from None
    audit.record(session=session, actor=actor, action=AuditAction.department_update, object_type="department",
                 object_id=department.id, after=data.model_dump())
    return department


def update_department(department_id: int, data: DepartmentIn, *, session: Session, actor: Actor) -> Department:
    department = get_department(department_id, session=session)
    _name_taken(data.name, department_id, session=session)
    before = {"name": department.name, "email": department.email}
    department.name, department.email = data.name, data.email
    try:
        with session.begin_nested():
            session.add(department)
    except IntegrityError:
        message = gettext("There is already a department called %(name)s.") % {"name": data.name}
        raise Conflict(message, field_errors={"name": message}) from None
    audit.record(session=session, actor=actor, action=AuditAction.department_update, object_type="department",
                 object_id=department_id, before=before, after=data.model_dump())
    return department


def delete_department(department_id: int, *, session: Session, actor: Actor) -> str:
    """Refused while open signals sit in it (they would fall out of every queue); its closed and resolved
    signals stay, without a department."""
    department = get_department(department_id, session=session)
    name = department.name
    still_open = session.exec(select(func.count()).select_from(Signal).where(
        Signal.department_id == department_id, col(Signal.status).in_([st.value for st in OPEN_SIGNAL_STATUSES]))).one()
    if still_open:
        raise Conflict(ngettext("%(num)d open signal is in %(name)s: move it to another department first.",
                                "%(num)d open signals are in %(name)s: move them to another department first.",
                                still_open) % {"num": still_open, "name": name})
    session.execute(update(Signal).where(col(Signal.department_id) == department_id).values(department_id=None))
    session.delete(department)
    audit.record(session=session, actor=actor, action=AuditAction.department_update, object_type="department",
                 object_id=department_id, before={"name": name, "email": department.email}, after={"deleted": True})
    return name


def default_department_id(signal_type: str, *, session: Session) -> int | None:
    name = routing.DEFAULT_DEPARTMENT_OF_TYPE.get(signal_type)
    if not name:
        return None
    return session.exec(select(Department.id).where(func.lower(Department.name) == name.lower())).first()


# ---- SLA -----------------------------------------------------------------------------------------


def sla_targets(*, session: Session) -> list[SlaTarget]:
    return list(session.exec(select(SlaTarget).order_by(col(SlaTarget.signal_type), col(SlaTarget.priority))))


def save_sla_targets(data: SlaTargetsIn, *, session: Session, actor: Actor) -> list[SlaTarget]:
    """Replaces the whole table (audited sla_update). Signals keep the due times fixed when they opened."""
    ensure_defaults(session=session)
    before = [SlaTargetOut.model_validate(t).model_dump() for t in sla_targets(session=session)]
    session.execute(SlaTarget.__table__.delete())  # type: ignore[attr-defined]
    rows = [SlaTarget(signal_type=t.signal_type.value, priority=t.priority.value,
                      first_response_hours=t.first_response_hours, resolution_hours=t.resolution_hours)
            for t in data.targets]
    session.add_all(rows)
    session.flush()
    after = [SlaTargetOut.model_validate(t).model_dump() for t in rows]
    audit.record(session=session, actor=actor, action=AuditAction.sla_update, object_type="sla", object_id=None,
                 before={"targets": before}, after={"targets": after})
    return sla_targets(session=session)


@dataclass(frozen=True)
class DueTimes:
    first_response_due: datetime | None
    resolution_due: datetime | None
    note: str


def due_times(conn: Connection, signal_type: str, priority: str, profile_id: int | None, start: datetime) -> DueTimes:
    """The due times of a signal opened (or reopened) at `start`, from the target in force and the person."""
    T = SlaTarget.__table__  # type: ignore[attr-defined]
    targets = {row.priority: row for row in conn.execute(
        select(T.c.priority, T.c.first_response_hours, T.c.resolution_hours).where(T.c.signal_type == signal_type))}
    if not targets:
        return DueTimes(None, None, gettext("No SLA for this type."))
    target = targets.get(priority)
    if target is None:
        return DueTimes(None, None, gettext("No SLA for this type at this priority."))
    first = float(target.first_response_hours)
    reasons = []
    if profile_id:
        P = Profile.__table__  # type: ignore[attr-defined]
        person = conn.execute(select(P.c.level, P.c.score, P.c.reach).where(P.c.id == profile_id)).first()
        if person is not None:
            if person.level == CHAMPION_LEVEL:
                reasons.append(gettext("a champion (level 1)"))
            elif (person.score or 0) >= HIGH_SCORE:
                reasons.append(gettext("high advocacy (score %(score)d)") % {"score": int(person.score)})
            if (person.reach or 0) >= HIGH_REACH:
                reasons.append(gettext("high reach (%(reach)s followers)") % {"reach": f"{int(person.reach):,}"})
    note = ""
    if reasons:
        first /= 2
        note = (gettext("First response halved: %(reasons)s.") % {"reasons": ", ".join(reasons)})[:300]
    return DueTimes(start + timedelta(hours=first), start + timedelta(hours=float(target.resolution_hours)), note)


@dataclass(frozen=True)
class SlaState:
    has_sla: bool
    due: datetime | None  # the next due time: first response while none, then resolution
    due_kind: str  # first_response | resolution | ""
    breached: bool  # open and past a due time
    late_resolution: bool  # resolved after its due time
    seconds_left: float | None

    @property
    def words(self) -> str:
        """"due in 2 h", "overdue by 3 d"."""
        if self.seconds_left is None:
            return ""
        left = abs(self.seconds_left)
        if left >= 2 * 86400:
            n = int(left // 86400)
            amount = ngettext("%(num)d day", "%(num)d days", n) % {"num": n}
        elif left >= 3600:
            n = int(left // 3600)
            amount = ngettext("%(num)d h", "%(num)d h", n) % {"num": n}
        else:
            n = max(1, int(left // 60))
            amount = ngettext("%(num)d min", "%(num)d min", n) % {"num": n}
        return (gettext("overdue by %(time)s") if self.seconds_left < 0 else gettext("due in %(time)s")) % {"time": amount}


def sla_state(signal: Signal, now: datetime | None = None) -> SlaState:
    now = now or utcnow()
    has_sla = signal.resolution_due is not None or signal.first_response_due is not None
    is_open = signal.status in OPEN
    late = bool(signal.resolved_at and signal.resolution_due and signal.resolved_at > signal.resolution_due)
    if not has_sla or not is_open:
        return SlaState(has_sla, None, "", False, late, None)
    due: datetime | None
    if signal.first_response_at is None and signal.first_response_due is not None:
        due, kind = signal.first_response_due, "first_response"
    else:
        due, kind = signal.resolution_due, "resolution"
    first_late = signal.first_response_at is None and signal.first_response_due is not None and signal.first_response_due < now
    breached = first_late or (signal.resolution_due is not None and signal.resolution_due < now)
    if first_late:
        due, kind = signal.first_response_due, "first_response"
    return SlaState(True, due, kind, breached, late, (due - now).total_seconds() if due else None)


def _breached_sql(now: datetime) -> Any:
    return and_(col(Signal.status).in_(OPEN), or_(
        and_(col(Signal.first_response_at).is_(None), col(Signal.first_response_due).is_not(None),
             col(Signal.first_response_due) < now),
        and_(col(Signal.resolution_due).is_not(None), col(Signal.resolution_due) < now)))


def _next_due_sql() -> Any:
    return case((and_(col(Signal.first_response_at).is_(None), col(Signal.first_response_due).is_not(None)),
                 col(Signal.first_response_due)), else_=col(Signal.resolution_due))


# ---- opening -------------------------------------------------------------------------------------


def type_for(item: Interaction) -> SignalType:
    """What a mention most likely is: its kind first, then its tone."""
    if item.kind == InteractionKind.bug_report:
        return SignalType.bug_report
    if item.kind == InteractionKind.support_request:
        return SignalType.support_request
    if item.kind == InteractionKind.complaint or (item.sentiment is not None and item.sentiment < 0):
        return SignalType.complaint
    if item.sentiment is not None and item.sentiment > 0:
        return SignalType.praise
    return SignalType.product_feedback


def title_for(item: Interaction) -> str:
    text = (item.title or item.body or "").strip().splitlines()
    first = text[0].strip() if text else ""
    return first if len(first) <= 120 else first[:119].rstrip() + "…"


@dataclass
class Prefill:
    values: dict[str, Any]
    interactions: list[Interaction]
    person: Profile | None
    alert: Alert | None
    suggestion: routing.Suggestion


def _interactions(ids: Sequence[int], *, session: Session) -> list[Interaction]:
    if not ids:
        return []
    found = {i.id: i for i in session.exec(select(Interaction).where(col(Interaction.id).in_(list(ids))))}
    return [found[i] for i in ids if i in found]


def prefill(interaction_ids: Sequence[int], alert_id: int | None, profile_id: int | None, *, session: Session) -> Prefill:
    """The new-signal form filled from the first interaction (and the alert it came from)."""
    ids = list(dict.fromkeys(interaction_ids))[:MAX_ITEMS]
    alert = session.get(Alert, alert_id) if alert_id else None
    if alert is not None and not ids:
        ids = _alert_interactions(alert, session=session)
    items = _interactions(ids, session=session)
    first = items[0] if items else None
    person_id = profile_id or (first.profile_id if first else None)
    person = session.get(Profile, person_id) if person_id else None
    signal_type = type_for(first) if first else SignalType.complaint
    suggestion = routing.suggest_owner(person.id if person else None, session=session)
    values = {
        "type": signal_type.value,
        "title": title_for(first) if first else "",
        "summary": (first.body or "")[:5000] if first and first.title else "",
        "profile_id": str(person.id) if person else "",
        "department_id": "",  # "by type": the default department of the type chosen when it is saved
        "owner_id": str(suggestion.user_id or ""),
        "priority": SignalPriority.normal.value,
        "interaction_ids": ",".join(str(i.id) for i in items),
        "alert_id": str(alert.id) if alert else "",
    }
    return Prefill(values, items, person, alert, suggestion)


def _alert_interactions(alert: Alert, *, session: Session) -> list[int]:
    from crm.listening.models import Mention

    mention_ids = list(alert.mention_ids or [])[:MAX_ITEMS]
    if not mention_ids:
        return []
    rows = session.exec(select(Mention.interaction_id).where(col(Mention.id).in_(mention_ids))
                        .order_by(col(Mention.occurred_at)))
    return list(dict.fromkeys(rows))


def _check_refs(data: SignalIn | SignalPatch, *, session: Session) -> None:
    errors: dict[str, str] = {}
    sent = data.model_fields_set
    if "department_id" in sent and data.department_id is not None and session.get(Department, data.department_id) is None:
        errors["department_id"] = gettext("There is no department with that id.")
    if "owner_id" in sent and data.owner_id is not None:
        owner = session.get(User, data.owner_id)
        if owner is None or not owner.is_active:
            errors["owner_id"] = gettext("There is no active user with that id.")
        elif not owner.can_write:
            errors["owner_id"] = gettext("Viewers cannot work on signals: choose a manager or an admin.")
    if isinstance(data, SignalIn):
        if data.profile_id is not None and session.get(Profile, data.profile_id) is None:
            errors["profile_id"] = gettext("There is no person with that id.")
        if data.alert_id is not None and session.get(Alert, data.alert_id) is None:
            errors["alert_id"] = gettext("There is no alert with that id.")
        if data.interaction_ids:
            found = {i.id for i in _interactions(data.interaction_ids, session=session)}
            missing = [str(i) for i in data.interaction_ids if i not in found]
            if missing:
                errors["interaction_ids"] = gettext("No interaction has the id %(ids)s.") % {"ids": ", ".join(missing)}
    if errors:
        raise InvalidInput(gettext("Check the highlighted fields."), field_errors=errors)


def snapshot(signal: Signal) -> dict[str, Any]:
    data = signal.model_dump(include={"type", "title", "status", "priority", "department_id", "owner_id", "profile_id",
                                      "resolution_note", "reopened_count", "follow_up_on"})
    if data.get("follow_up_on") is not None:
        data["follow_up_on"] = data["follow_up_on"].isoformat()
    return data


def create_signal(data: SignalIn, *, session: Session, actor: Actor) -> Signal:
    ensure_defaults(session=session)
    _check_refs(data, session=session)
    items = _interactions(list(dict.fromkeys(data.interaction_ids)), session=session)
    profile_id = data.profile_id or (items[0].profile_id if items else None)
    owner_id = data.owner_id
    if "owner_id" not in data.model_fields_set:
        owner_id = routing.suggest_owner(profile_id, session=session).user_id
    department_id = data.department_id or default_department_id(data.type, session=session)
    now = utcnow()
    due = due_times(session.connection(), data.type.value, data.priority.value, profile_id, now)
    signal = Signal(type=data.type.value, title=data.title, summary=data.summary, profile_id=profile_id,
                    department_id=department_id, owner_id=owner_id, priority=data.priority.value,
                    alert_id=data.alert_id, first_response_due=due.first_response_due,
                    resolution_due=due.resolution_due, sla_note=due.note, created_by_id=actor.user_id,
                    created_at=now, updated_at=now)
    session.add(signal)
    session.flush()
    for item in items:
        session.add(SignalItem(signal_id=signal.id or 0, interaction_id=item.id or 0, reason="opened", added_at=now))
    audit.record(session=session, actor=actor, action=AuditAction.signal_create, object_type="signal",
                 object_id=signal.id, after=snapshot(signal) | {"interaction_ids": [i.id for i in items],
                                                                "alert_id": data.alert_id})
    if data.alert_id is not None:
        _mark_alert_acted(data.alert_id, session=session, actor=actor)
    session.flush()
    return signal


def _mark_alert_acted(alert_id: int, *, session: Session, actor: Actor) -> None:
    try:
        from crm.listening import alerts  # type: ignore[attr-defined, unused-ignore]

        mark_acted = alerts.mark_acted
    except (ImportError, AttributeError):
        return  # alerts are not there yet
    mark_acted(alert_id, session=session, actor=actor, user_id=actor.user_id)


# ---- reading -------------------------------------------------------------------------------------


def get_signal(signal_id: int, *, session: Session) -> Signal:
    found = session.get(Signal, signal_id)
    if found is None:
        raise NotFound(gettext("There is no signal with id %(id)s.") % {"id": signal_id})
    return found


def _locked(signal_id: int, *, session: Session) -> Signal:
    """The signal, re-read and locked until the transaction ends (PostgreSQL: FOR UPDATE; SQLite
    writers already run one at a time), so two moves at once see each other."""
    found = session.exec(select(Signal).where(col(Signal.id) == signal_id).with_for_update()
                         .execution_options(populate_existing=True)).first()
    if found is None:
        raise NotFound(gettext("There is no signal with id %(id)s.") % {"id": signal_id})
    return found


def item_ids(signal_ids: Sequence[int], *, session: Session) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {i: [] for i in signal_ids}
    if signal_ids:
        for sid, iid in session.exec(select(SignalItem.signal_id, SignalItem.interaction_id)
                                     .where(col(SignalItem.signal_id).in_(list(signal_ids)))
                                     .order_by(col(SignalItem.id))):
            found[sid].append(iid)
    return found


def out(signal: Signal, *, session: Session) -> SignalOut:
    ids = item_ids([signal.id or 0], session=session)[signal.id or 0]
    return SignalOut.model_validate({**signal.model_dump(), "interaction_ids": ids,
                                     "breached": sla_state(signal).breached})


@dataclass
class ItemRow:
    item: SignalItem
    interaction: Interaction
    author: str


@dataclass
class SignalDetail:
    signal: Signal
    items: list[ItemRow]
    person: Profile | None
    department: Department | None
    owner: User | None
    sla: SlaState
    history: list[AuditEvent]
    recent: list[Interaction]  # the person's recent interactions not yet joined
    moves: tuple[str, ...]
    loop_message: str
    contact_refusal: str | None
    users: dict[int, str] = field(default_factory=dict)


def loop_message(signal: Signal, person: Profile | None) -> str:
    name = person.display_name if person else ""
    text = gettext("Hi %(name)s, thanks for telling us about “%(title)s”. It is fixed: %(resolution)s") % {
        "name": name, "title": signal.title, "resolution": signal.resolution_note or "…"}
    return text[:5000]


def signal_detail(signal_id: int, *, session: Session) -> SignalDetail:
    from crm.interactions.log import contact_refusal

    signal = get_signal(signal_id, session=session)
    rows = session.exec(
        select(SignalItem, Interaction, Profile.display_name)
        .join(Interaction, col(Interaction.id) == SignalItem.interaction_id)
        .join(Profile, col(Profile.id) == Interaction.profile_id)
        .where(SignalItem.signal_id == signal_id).order_by(col(Interaction.occurred_at), col(SignalItem.id))
    ).all()
    items = [ItemRow(item, interaction, name) for item, interaction, name in rows]
    person = session.get(Profile, signal.profile_id) if signal.profile_id else None
    recent: list[Interaction] = []
    if person is not None:
        joined = [row.interaction.id for row in items]
        recent = list(session.exec(
            select(Interaction).where(Interaction.profile_id == person.id, col(Interaction.kind).not_in(list(OUR_KINDS)),
                                      col(Interaction.id).not_in(joined or [0]))
            .order_by(col(Interaction.occurred_at).desc(), col(Interaction.id).desc()).limit(10)))
    history = audit.events_for(session=session, object_type="signal", object_id=signal_id, limit=100)
    users = {u.id or 0: u.name for u in session.exec(select(User))}
    return SignalDetail(
        signal=signal, items=items, person=person,
        department=session.get(Department, signal.department_id) if signal.department_id else None,
        owner=session.get(User, signal.owner_id) if signal.owner_id else None,
        sla=sla_state(signal), history=history, recent=recent, moves=MOVES[SignalStatus(signal.status)],
        loop_message=loop_message(signal, person),
        contact_refusal=contact_refusal(person) if person else None, users=users,
    )


class SignalQuery(BaseModel):
    """The list's filters (pages read them forgivingly, the API strictly)."""

    status: str = PydField(default="open", pattern=r"^(open|all|new|triaged|in_progress|waiting|resolved|closed)$")
    type: SignalType | None = None
    department_id: DbId | None = None
    owner: str = PydField(default="", pattern=r"^(|me|none|[0-9]{1,9})$", description='"me", "none" (the queue) or a user id')
    priority: SignalPriority | None = None
    breached: bool = False
    profile_id: DbId | None = None
    q: str = PydField(default="", max_length=100)
    page: int = PydField(default=1, ge=1, le=100_000)
    per_page: int = PydField(default=25, ge=1, le=100)


@dataclass
class SignalRow:
    signal: Signal
    person: str
    department: str
    owner: str
    sla: SlaState


@dataclass
class SignalListing:
    rows: list[SignalRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def list_signals(params: SignalQuery, *, session: Session, user_id: int | None) -> SignalListing:
    """Sorted by what is due: open before done, breached first, then the nearest due time."""
    now = utcnow()
    query = select(Signal)
    if params.status == "open":
        query = query.where(col(Signal.status).in_(OPEN))
    elif params.status != "all":
        query = query.where(Signal.status == params.status)
    if params.type is not None:
        query = query.where(Signal.type == params.type.value)
    if params.department_id is not None:
        query = query.where(Signal.department_id == params.department_id)
    if params.owner == "me":
        query = query.where(Signal.owner_id == (user_id or 0))
    elif params.owner == "none":
        query = query.where(col(Signal.owner_id).is_(None))
    elif params.owner:
        query = query.where(Signal.owner_id == int(params.owner))
    if params.priority is not None:
        query = query.where(Signal.priority == params.priority.value)
    if params.breached:
        query = query.where(_breached_sql(now))
    if params.profile_id is not None:
        query = query.where(Signal.profile_id == params.profile_id)
    if words := params.q.replace("\x00", ""):  # PostgreSQL refuses NUL in text
        query = query.where(func.lower(Signal.title).contains(words.lower(), autoescape=True))
    total = int(session.exec(select(func.count()).select_from(query.subquery())).one())
    due = _next_due_sql()
    ordered = query.order_by(
        case((col(Signal.status).in_(OPEN), 0), else_=1), case((_breached_sql(now), 0), else_=1),
        case((due.is_(None), 1), else_=0), due, col(Signal.id).desc())
    page = min(params.page, max(1, -(-total // params.per_page)))
    signals = list(session.exec(ordered.offset((page - 1) * params.per_page).limit(params.per_page)))
    people = _names(Profile, [s.profile_id for s in signals], session=session)
    depts = _names(Department, [s.department_id for s in signals], session=session)
    owners = _names(User, [s.owner_id for s in signals], session=session)
    rows = [SignalRow(s, people.get(s.profile_id or 0, ""), depts.get(s.department_id or 0, ""),
                      owners.get(s.owner_id or 0, ""), sla_state(s, now)) for s in signals]
    return SignalListing(rows, total, page, params.per_page)


def _names(model: Any, ids: Sequence[int | None], *, session: Session) -> dict[int, str]:
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    name = model.display_name if model is Profile else model.name
    return {row[0]: row[1] for row in session.exec(select(model.id, name).where(col(model.id).in_(wanted)))}


def owners(*, session: Session) -> list[User]:
    """Who a signal can be assigned to: active users."""
    return list(session.exec(select(User).where(col(User.is_active).is_(True), col(User.role).in_(list(WRITER_ROLES)))
                             .order_by(col(User.name))))


@dataclass(frozen=True)
class WidgetCounts:
    mine: int
    mine_breached: int
    unassigned: int
    breached: int


def widget_counts(*, session: Session, user_id: int | None) -> WidgetCounts:
    now = utcnow()
    is_open = col(Signal.status).in_(OPEN)
    breached = _breached_sql(now)
    mine = col(Signal.owner_id) == (user_id or 0)
    row = session.exec(select(
        func.coalesce(func.sum(case((and_(is_open, mine), 1), else_=0)), 0),
        func.coalesce(func.sum(case((and_(breached, mine), 1), else_=0)), 0),
        func.coalesce(func.sum(case((and_(is_open, col(Signal.owner_id).is_(None)), 1), else_=0)), 0),
        func.coalesce(func.sum(case((breached, 1), else_=0)), 0),
    ).where(is_open)).one()
    return WidgetCounts(*(int(v) for v in row))


@dataclass(frozen=True)
class SignalSummary:
    opened: int
    resolved: int
    resolved_in_sla: int  # resolved by the due time, or without an SLA (which cannot be missed)
    breached_open: int  # open at `end` and past a due time then


def summary(start: datetime, end: datetime, *, session: Session) -> SignalSummary:
    """Signals for the report of [start, end)."""
    opened = session.exec(select(func.count()).select_from(Signal)
                          .where(col(Signal.created_at) >= start, col(Signal.created_at) < end)).one()
    in_period = and_(col(Signal.resolved_at).is_not(None), col(Signal.resolved_at) >= start, col(Signal.resolved_at) < end)
    in_sla = or_(col(Signal.resolution_due).is_(None), col(Signal.resolved_at) <= col(Signal.resolution_due))
    resolved, resolved_in_sla = session.exec(select(
        func.count(), func.coalesce(func.sum(case((in_sla, 1), else_=0)), 0)).select_from(Signal).where(in_period)).one()
    end = min(end, utcnow())  # a period not over yet: breached by now, not by its last day
    not_done = and_(col(Signal.created_at) < end,
                    or_(col(Signal.resolved_at).is_(None), col(Signal.resolved_at) >= end),
                    or_(col(Signal.closed_at).is_(None), col(Signal.closed_at) >= end))
    late = or_(
        and_(col(Signal.first_response_due) < end,
             or_(col(Signal.first_response_at).is_(None), col(Signal.first_response_at) > col(Signal.first_response_due))),
        col(Signal.resolution_due) < end)
    breached_open = session.exec(select(func.count()).select_from(Signal).where(not_done, late)).one()
    return SignalSummary(int(opened), int(resolved), int(resolved_in_sla), int(breached_open))


# ---- changes -------------------------------------------------------------------------------------


def update_signal(signal_id: int, data: SignalPatch, *, session: Session, actor: Actor) -> Signal:
    signal = _locked(signal_id, session=session)
    _check_refs(data, session=session)
    sent = data.model_fields_set
    for name in ("type", "title", "priority"):
        if name in sent and getattr(data, name) is None:
            raise InvalidInput(gettext("Some fields cannot be emptied."),
                               field_errors={name: gettext("This field cannot be null; leave it out to keep it.")})
    before = snapshot(signal)
    for name in sent:
        value = getattr(data, name)
        setattr(signal, name, value.value if hasattr(value, "value") else value)
    if ({"type", "priority"} & sent) and signal.status in OPEN and (
            signal.type != before["type"] or signal.priority != before["priority"]):
        # A new target: counted from the opening (from now if it reopened since).
        start = signal.created_at if not signal.reopened_count else utcnow()
        due = due_times(session.connection(), signal.type, signal.priority, signal.profile_id, start)
        signal.first_response_due, signal.resolution_due, signal.sla_note = (
            due.first_response_due, due.resolution_due, due.note)
    after = snapshot(signal)
    changed = [k for k in after if after[k] != before.get(k)]
    if changed:
        signal.updated_at = utcnow()
        session.add(signal)
        audit.record(session=session, actor=actor, action=AuditAction.signal_update, object_type="signal",
                     object_id=signal_id, before={k: before.get(k) for k in changed}, after={k: after[k] for k in changed})
    session.flush()
    return signal


def move(signal_id: int, data: StatusIn, *, session: Session, actor: Actor) -> Signal:
    """One status move. Two people resolving at once: the second is told it already was (409)."""
    signal = _locked(signal_id, session=session)
    target = data.status.value
    if signal.status == target:
        raise Conflict(gettext("The signal is already %(status)s.") % {"status": gettext(target.replace("_", " "))})
    if target not in MOVES[SignalStatus(signal.status)]:
        message = gettext("A signal that is %(now)s cannot move to %(status)s.") % {
            "now": gettext(signal.status.replace("_", " ")), "status": gettext(target.replace("_", " "))}
        raise InvalidInput(message, field_errors={"status": message})
    if target == SignalStatus.resolved and not data.note:
        message = gettext("Say how it was resolved.")
        raise InvalidInput(message, field_errors={"note": message})
    before = snapshot(signal) | {"status": signal.status}
    now = utcnow()
    if signal.first_response_at is None:
        signal.first_response_at = now
    signal.status = target
    if target == SignalStatus.resolved:
        signal.resolved_at, signal.resolution_note = now, data.note
    elif target == SignalStatus.closed:
        signal.closed_at = now
        if data.note and not signal.resolution_note:
            signal.resolution_note = data.note
    elif before["status"] == SignalStatus.resolved:
        signal.resolved_at = None  # taken up again by hand
    signal.updated_at = now
    session.add(signal)
    audit.record(session=session, actor=actor, action=AuditAction.signal_update, object_type="signal",
                 object_id=signal_id, before={"status": before["status"]},
                 after={"status": target} | ({"note": data.note} if data.note else {}))
    session.flush()
    return signal


def add_note(signal_id: int, data: NoteIn, *, session: Session, actor: Actor) -> Signal:
    """A note on the signal's history; the first one counts as the first response."""
    signal = _locked(signal_id, session=session)
    if signal.first_response_at is None:
        signal.first_response_at = utcnow()
    signal.updated_at = utcnow()
    session.add(signal)
    audit.record(session=session, actor=actor, action=AuditAction.signal_update, object_type="signal",
                 object_id=signal_id, after={"note": data.text})
    session.flush()
    return signal


def join(signal_id: int, data: JoinIn, *, session: Session, actor: Actor, reason: str = "joined") -> list[int]:
    """More mentions about the same thing; returns the ids newly joined (already joined ones are skipped)."""
    signal = _locked(signal_id, session=session)
    wanted = list(dict.fromkeys(data.interaction_ids))
    found = {i.id for i in _interactions(wanted, session=session)}
    missing = [str(i) for i in wanted if i not in found]
    if missing:
        message = gettext("No interaction has the id %(ids)s.") % {"ids": ", ".join(missing)}
        raise InvalidInput(message, field_errors={"interaction_ids": message})
    have = set(item_ids([signal_id], session=session)[signal_id])
    new = [i for i in wanted if i not in have]
    if not new:
        message = gettext("Those are already part of this signal.")
        raise InvalidInput(message, field_errors={"interaction_ids": message})
    if len(have) + len(new) > MAX_ITEMS * 10:
        raise InvalidInput(gettext("A signal holds at most %(n)d interactions.") % {"n": MAX_ITEMS * 10})
    now = utcnow()
    for interaction_id in new:
        session.add(SignalItem(signal_id=signal_id, interaction_id=interaction_id, reason=reason, added_at=now))
    if signal.profile_id is None:
        first = session.get(Interaction, new[0])
        signal.profile_id = first.profile_id if first else None
    signal.updated_at = now
    session.add(signal)
    audit.record(session=session, actor=actor, action=AuditAction.signal_join, object_type="signal",
                 object_id=signal_id, after={"interaction_ids": new})
    session.flush()
    return new


def close_loop(signal_id: int, data: CloseLoopIn, *, session: Session, actor: Actor) -> Signal:
    """Tell the person it was fixed (an outreach on their timeline, through the interaction log, so the
    refusal for people who may not be contacted applies) and/or set a follow-up date for the owner."""
    from crm.interactions.log import log_interaction
    from crm.interactions.models import InteractionIn

    signal = _locked(signal_id, session=session)
    if signal.status not in (SignalStatus.resolved, SignalStatus.closed):
        raise InvalidInput(gettext("Resolve the signal first, then tell the person."))
    if data.kind is not None:
        if signal.profile_id is None:
            raise InvalidInput(gettext("This signal has no person to tell."))
        if signal.loop_interaction_id is not None:
            raise Conflict(gettext("The person was already told (see their timeline)."))
    before = {"loop_interaction_id": signal.loop_interaction_id,
              "follow_up_on": signal.follow_up_on.isoformat() if signal.follow_up_on else None}
    interaction_id = None
    if data.kind is not None and signal.profile_id is not None:
        logged = log_interaction(signal.profile_id, InteractionIn(
            kind=InteractionKind(data.kind), channel="email" if data.kind == "outreach_email" else "",
            title=(gettext("About: %(title)s") % {"title": signal.title})[:300], body=data.message,
            contact_anyway=data.contact_anyway), session=session, actor=actor)
        interaction_id = logged.id
        signal.loop_interaction_id = interaction_id
    if data.follow_up_on is not None:
        signal.follow_up_on = data.follow_up_on
    signal.loop_closed_at = signal.loop_closed_at or utcnow()
    signal.updated_at = utcnow()
    session.add(signal)
    audit.record(session=session, actor=actor, action=AuditAction.signal_close_loop, object_type="signal",
                 object_id=signal_id, before=before,
                 after={"loop_interaction_id": signal.loop_interaction_id, "kind": data.kind,
                        "follow_up_on": data.follow_up_on.isoformat() if data.follow_up_on else None})
    session.flush()
    return signal


# ---- reopening when the person writes again -------------------------------------------------------


# A resolved problem reopens when its person writes to or about us again (a post, reply, review, complaint...)
# and it is not a happy message; not when they attend a meetup, give a talk or answer someone else.
REOPENING_TYPES = (SignalType.complaint.value, SignalType.support_request.value, SignalType.bug_report.value,
                   SignalType.product_feedback.value)
MESSAGE_KINDS = ("post", "mention", "reply", "review", "feedback", "complaint", "support_request", "bug_report")


def reopen_for_interactions(conn: Connection, interaction_ids: Sequence[int]) -> list[int]:
    """A resolved problem goes back to in progress when its person writes again (MESSAGE_KINDS, not
    positive, dated after it was resolved): the interaction joins it ("reopened"), the
    count goes up, the due times start again, and the reopen is audited (actor: system). Closed stays
    closed. Runs in the caller's transaction; one query per 30,000 ids finds the candidates. Returns the
    ids of the signals reopened."""
    ids = sorted({int(i) for i in interaction_ids if i})
    if not ids:
        return []
    S: Table = Signal.__table__  # type: ignore[attr-defined]
    X: Table = Interaction.__table__  # type: ignore[attr-defined]
    IT: Table = SignalItem.__table__  # type: ignore[attr-defined]
    ours = [k.value for k in OUR_KINDS]
    found: dict[int, Any] = {}
    joined: dict[int, list[int]] = {}
    for start in range(0, len(ids), REOPEN_CHUNK):
        chunk = ids[start:start + REOPEN_CHUNK]
        rows = conn.execute(
            sa_select(S.c.id, S.c.type, S.c.priority, S.c.profile_id, S.c.resolved_at, S.c.reopened_count,
                   X.c.id.label("interaction_id"))
            .join(X, and_(X.c.profile_id == S.c.profile_id, X.c.occurred_at > S.c.resolved_at))
            .where(S.c.status == SignalStatus.resolved.value, X.c.id.in_(chunk), X.c.kind.not_in(ours),
                   S.c.type.in_(REOPENING_TYPES), X.c.kind.in_(MESSAGE_KINDS),
                   or_(X.c.sentiment.is_(None), X.c.sentiment <= 0),
                   ~exists().where(IT.c.signal_id == S.c.id, IT.c.interaction_id == X.c.id))
            .order_by(S.c.id, X.c.occurred_at, X.c.id)
        ).all()
        for row in rows:
            found.setdefault(row.id, row)
            joined.setdefault(row.id, []).append(row.interaction_id)
    if not found:
        return []
    now = utcnow()
    conn.execute(insert(IT), [{"signal_id": sid, "interaction_id": iid, "reason": "reopened", "added_at": now}
                              for sid, iids in joined.items() for iid in dict.fromkeys(iids)])
    events = []
    for sid, row in found.items():
        due = due_times(conn, row.type, row.priority, row.profile_id, now)
        conn.execute(update(S).where(S.c.id == sid, S.c.status == SignalStatus.resolved.value).values(
            status=SignalStatus.in_progress.value, reopened_count=S.c.reopened_count + 1, resolved_at=None,
            loop_closed_at=None, loop_interaction_id=None, follow_up_on=None,  # to be told again once it is fixed
            first_response_at=None, first_response_due=due.first_response_due, resolution_due=due.resolution_due,
            sla_note=due.note, updated_at=now))
        events.append({
            "created_at": now, "actor_id": None, "subject": audit.SYSTEM.label, "action": AuditAction.signal_reopen.value,
            "object_type": "signal", "object_id": sid, "ip": "",
            "before": {"status": SignalStatus.resolved.value,
                       "resolved_at": row.resolved_at.isoformat() if row.resolved_at else None},
            "after": {"status": SignalStatus.in_progress.value, "reopened_count": (row.reopened_count or 0) + 1,
                      "interaction_ids": list(dict.fromkeys(joined[sid]))},
        })
    conn.execute(insert(AuditEvent.__table__), events)  # type: ignore[attr-defined]
    return list(found)
