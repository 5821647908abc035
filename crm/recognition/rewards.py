"""The rewards catalogue and redemptions: requested → approved → fulfilled, or rejected (the points come
back as a refund entry and the item goes back into stock).

Consistency under concurrency. A redemption checks the reward (active, in stock) and the person's
current balance, then writes a `spent` entry and takes one item from stock, all in the caller's
transaction. Two requests must never both take the last item or both spend the same points:

* SQLite: writers run one at a time (the session is bound to `crm.db.write_bind`, BEGIN IMMEDIATE), so
  the checks and the writes of one redemption cannot interleave with another's.
* PostgreSQL: a transaction-level advisory lock per person (`crm.db.serialize_writes`) makes the
  balance check and the spend of one person run one at a time, and the reward row is locked
  (SELECT … FOR UPDATE) before its stock is read. The locks are always taken in that order (person,
  then reward), so two redemptions cannot deadlock.
* Everywhere, the stock is taken with a conditional UPDATE (… WHERE stock >= 1) whose row count is
  checked: the final guard, backed by the table's CHECK (stock >= 0).

A refusal is a domain error (409 when the reward ran out or is no longer offered, 422 when the
balance does not cover the cost), never a server error.

"First redemption": the person has no approved or fulfilled redemption yet (a rejected or still
pending one does not count), so until somebody has approved one of theirs, each needs approval."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from pydantic import BaseModel, field_validator
from pydantic import Field as PydField
from sqlalchemy import Connection, Table, func, select, update
from sqlmodel import Session, col

from crm.audit import service as audit
from crm.audit.actions import AuditAction
from crm.audit.service import Actor
from crm.db import serialize_writes, utcnow
from crm.errors import Conflict, InvalidInput, NotFound
from crm.i18n import gettext
from crm.profiles.models import Profile
from crm.recognition import ledger
from crm.recognition.gaming import open_flags
from crm.recognition.models import (
    EntryKind,
    PointEntry,
    Recognition,
    RecognitionKind,
    Redemption,
    RedemptionStatus,
    Reward,
    RewardCategory,
)
from crm.schemas import OUT_CONFIG, DbId, InputModel, all_optional

R = cast(Table, Reward.__table__)  # type: ignore[attr-defined]
RD = cast(Table, Redemption.__table__)  # type: ignore[attr-defined]
P = cast(Table, Profile.__table__)  # type: ignore[attr-defined]

MAX_COST = 1_000_000
MAX_STOCK = 1_000_000


# ---- schemas -------------------------------------------------------------------------------------


class RewardIn(InputModel):
    """A reward of the catalogue. Leave the stock out (or empty) for an unlimited one."""

    name: str = PydField(min_length=1, max_length=200)
    category: RewardCategory
    description: str = PydField(default="", max_length=2000)
    cost: int = PydField(ge=1, le=MAX_COST, description="Cost in points (1..1,000,000)")
    stock: int | None = PydField(default=None, le=MAX_STOCK,
                                 description="Items left (0 or more); null: unlimited")
    active: bool = PydField(default=True, description="Offered: people can redeem it")

    @field_validator("stock", mode="before")
    @classmethod
    def _empty_is_unlimited(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("stock")
    @classmethod
    def _not_negative(cls, value: int | None) -> int | None:
        if value is not None and value < 0:
            raise ValueError(gettext("Stock cannot be negative: enter 0 or more, or leave it empty for unlimited."))
        return value


RewardPatch = all_optional(RewardIn, "RewardPatch", "Only the fields sent change; send stock null for unlimited.")


class RewardOut(BaseModel):
    model_config = OUT_CONFIG

    id: int
    name: str
    category: RewardCategory
    description: str
    cost: int
    stock: int | None = PydField(description="Items left; null: unlimited")
    active: bool
    created_at: datetime


class RedemptionIn(InputModel):
    """Redeem a reward for a person: their points pay for it."""

    reward_id: DbId
    profile_id: DbId
    shipping: str = PydField(default="", max_length=1000, description="Where to send it, if it is sent")


class RedeemForm(InputModel):
    """The redeem form of the rewards page (the reward is in the address)."""

    profile_id: DbId
    shipping: str = PydField(default="", max_length=1000)


class DecisionIn(InputModel):
    note: str = PydField(default="", max_length=1000, description="Why; shown in the redemption's history")


class FulfilIn(InputModel):
    tracking: str = PydField(default="", max_length=300, description="Tracking number or how it was delivered")
    note: str = PydField(default="", max_length=1000)


class RedemptionOut(BaseModel):
    model_config = OUT_CONFIG

    id: int
    reward_id: int
    profile_id: int
    cost: int
    status: RedemptionStatus
    needs_approval: bool
    why_approval: str
    shipping: str
    tracking: str
    note: str
    requested_by_id: int | None
    decided_by_id: int | None
    created_at: datetime
    decided_at: datetime | None
    fulfilled_at: datetime | None


# ---- the catalogue -----------------------------------------------------------------------------


@dataclass
class RewardCard:
    reward: Reward
    redeemed: int  # redemptions that are not rejected
    waiting: int  # requested, waiting for a decision


def catalogue(*, session: Session, include_inactive: bool = False) -> list[RewardCard]:
    """The rewards, cheapest first, with how often each was redeemed."""
    query = select(Reward).order_by(col(Reward.active).desc(), col(Reward.cost), col(Reward.id))
    if not include_inactive:
        query = query.where(col(Reward.active).is_(True))
    rewards = list(session.execute(query).scalars())
    counts: dict[int, tuple[int, int]] = {}
    if rewards:
        live = func.count().filter(RD.c.status != RedemptionStatus.rejected.value)
        waiting = func.count().filter(RD.c.status == RedemptionStatus.requested.value)
        for rid, n_live, n_waiting in session.execute(
                select(RD.c.reward_id, live, waiting).where(RD.c.reward_id.in_([r.id for r in rewards]))
                .group_by(RD.c.reward_id)):
            counts[rid] = (int(n_live), int(n_waiting))
    return [RewardCard(r, *counts.get(r.id or 0, (0, 0))) for r in rewards]


def get_reward(reward_id: int, *, session: Session) -> Reward:
    reward = session.get(Reward, reward_id)
    if reward is None:
        raise NotFound(gettext("There is no reward with id %(id)s.") % {"id": reward_id})
    return reward


def _reward_state(reward: Reward) -> dict[str, Any]:
    return {"name": reward.name, "category": reward.category, "description": reward.description, "cost": reward.cost,
            "stock": reward.stock, "active": reward.active}


def create_reward(data: RewardIn, *, session: Session, actor: Actor) -> Reward:
    reward = Reward(name=data.name, category=data.category.value, description=data.description, cost=data.cost,
                    stock=data.stock, active=data.active)
    session.add(reward)
    session.flush()
    audit.record(session=session, actor=actor, action=AuditAction.reward_create, object_type="reward",
                 object_id=reward.id, after=_reward_state(reward))
    return reward


def _locked_reward(reward_id: int, *, session: Session) -> Reward:
    """The reward, read again from the database and (on PostgreSQL) locked until the transaction ends."""
    reward = session.execute(select(Reward).where(col(Reward.id) == reward_id).with_for_update()
                             .execution_options(populate_existing=True)).scalars().first()
    if reward is None:
        raise NotFound(gettext("There is no reward with id %(id)s.") % {"id": reward_id})
    return reward


def update_reward(reward_id: int, data: RewardIn, *, session: Session, actor: Actor) -> Reward:
    """Change the fields sent (all of them for a RewardIn; those set for a RewardPatch)."""
    reward = _locked_reward(reward_id, session=session)
    before = _reward_state(reward)
    for name in data.model_fields_set:
        value = getattr(data, name)
        if name == "category" and value is not None:
            value = value.value
        if value is None and name != "stock":
            continue  # a patch's null means "leave it", except for stock (null: unlimited)
        setattr(reward, name, value)
    session.add(reward)
    session.flush()
    after = _reward_state(reward)
    if after != before:
        audit.record(session=session, actor=actor, action=AuditAction.reward_update, object_type="reward",
                     object_id=reward.id, before=before, after=after)
    return reward


def set_active(reward_id: int, active: bool, *, session: Session, actor: Actor) -> Reward:
    """Withdraw a reward from the catalogue (or offer it again). Past redemptions are kept."""
    patch = RewardPatch.model_validate({"active": active})
    return update_reward(reward_id, patch, session=session, actor=actor)


# ---- redemptions -------------------------------------------------------------------------------


def _approval(profile_id: int, *, conn: Connection) -> str:
    """Why this person's redemption needs approval ('' when it does not)."""
    flags = open_flags([profile_id], conn=conn)  # open or confirmed anti-gaming flags
    if profile_id in flags:
        return gettext("Flagged for review (%(flag)s).") % {"flag": flags[profile_id]}
    approved_before = conn.execute(select(RD.c.id).where(
        RD.c.profile_id == profile_id,
        RD.c.status.in_((RedemptionStatus.approved.value, RedemptionStatus.fulfilled.value))).limit(1)).first()
    if approved_before is None:
        return gettext("First redemption.")
    return ""


def redeem(reward_id: int, profile_id: int, *, session: Session, actor: Actor, shipping: str = "") -> Redemption:
    """Spend a person's points on a reward (see the module's notes on concurrency). Approved at once
    unless it is the person's first redemption or the person is flagged."""
    person = session.get(Profile, profile_id)
    if person is None:
        raise NotFound(gettext("There is no person with id %(id)s.") % {"id": profile_id})
    serialize_writes(session, f"redeem-person-{profile_id}")  # before the reward's lock: always this order
    reward = _locked_reward(reward_id, session=session)
    if not reward.active:
        raise Conflict(gettext("“%(name)s” is no longer offered.") % {"name": reward.name})
    if reward.stock is not None and reward.stock < 1:
        raise Conflict(gettext("“%(name)s” is out of stock.") % {"name": reward.name})
    conn = session.connection()
    balance = ledger.balances([profile_id], conn=conn)[profile_id].current
    if balance < reward.cost:
        message = gettext("%(person)s has %(balance)s points; “%(name)s” costs %(cost)s.") % {
            "person": person.display_name, "balance": balance, "name": reward.name, "cost": reward.cost}
        raise InvalidInput(message, field_errors={"profile_id": message})
    if reward.stock is not None:
        taken = conn.execute(update(R).where(R.c.id == reward.id, R.c.stock >= 1).values(stock=R.c.stock - 1))
        if taken.rowcount != 1:  # the final guard: somebody took the last one in between
            raise Conflict(gettext("“%(name)s” is out of stock.") % {"name": reward.name})
        session.expire(reward, ["stock"])
    why = _approval(profile_id, conn=conn)
    now = utcnow()
    redemption = Redemption(reward_id=reward.id or 0, profile_id=profile_id, cost=reward.cost,
                            status=(RedemptionStatus.requested if why else RedemptionStatus.approved).value,
                            needs_approval=bool(why), why_approval=why, shipping=shipping[:1000],
                            requested_by_id=actor.user_id, decided_at=None if why else now)
    session.add(redemption)
    session.flush()
    session.add(PointEntry(profile_id=profile_id, amount=-reward.cost, kind=EntryKind.spent.value,
                           reason=reward.name[:300], redemption_id=redemption.id, created_by_id=actor.user_id))
    session.flush()  # spending one's own points is no thank-you: recognition is recorded when it is fulfilled
    audit.record(session=session, actor=actor, action=AuditAction.redemption_request, object_type="profile",
                 object_id=profile_id, after={"redemption": redemption.id, "reward": reward.id, "name": reward.name,
                                              "cost": reward.cost, "status": redemption.status,
                                              "why_approval": why})
    return redemption


def _locked_redemption(redemption_id: int, *, session: Session) -> Redemption:
    redemption = session.execute(select(Redemption).where(col(Redemption.id) == redemption_id).with_for_update()
                                 .execution_options(populate_existing=True)).scalars().first()
    if redemption is None:
        raise NotFound(gettext("There is no redemption with id %(id)s.") % {"id": redemption_id})
    return redemption


def _move(redemption: Redemption, allowed: tuple[RedemptionStatus, ...], values: dict[str, Any], *,
          session: Session) -> None:
    """Change the status only if it is still one of `allowed` (two decisions at once: one wins)."""
    moved = session.connection().execute(update(RD).where(
        RD.c.id == redemption.id, RD.c.status.in_([s.value for s in allowed])).values(**values))
    if moved.rowcount != 1:
        session.refresh(redemption)
        raise Conflict(gettext("This redemption is %(status)s already.") % {
            "status": gettext(redemption.status.capitalize()).lower()})
    session.refresh(redemption)


def approve(redemption_id: int, note: str = "", *, session: Session, actor: Actor) -> Redemption:
    redemption = _locked_redemption(redemption_id, session=session)
    if redemption.status != RedemptionStatus.requested.value:
        raise Conflict(gettext("Only a requested redemption can be approved."))
    if ledger.balances([redemption.profile_id], conn=session.connection())[redemption.profile_id].current < 0:
        raise Conflict(gettext("Points were taken back since this was requested and the balance is below zero: "
                               "reject it (the points come back) or award points first."))
    _move(redemption, (RedemptionStatus.requested,), {
        "status": RedemptionStatus.approved.value, "decided_by_id": actor.user_id, "decided_at": utcnow(),
        "note": note[:1000] or redemption.note}, session=session)
    audit.record(session=session, actor=actor, action=AuditAction.redemption_decide, object_type="profile",
                 object_id=redemption.profile_id, before={"redemption": redemption.id, "status": "requested"},
                 after={"redemption": redemption.id, "status": "approved", "note": note})
    return redemption


def reject(redemption_id: int, note: str = "", *, session: Session, actor: Actor) -> Redemption:
    """Refused (requested or approved, not yet fulfilled): the points come back as a refund entry and
    the item goes back into stock."""
    redemption = _locked_redemption(redemption_id, session=session)
    before = redemption.status
    if before not in (RedemptionStatus.requested.value, RedemptionStatus.approved.value):
        raise Conflict(gettext("A fulfilled or rejected redemption cannot be rejected."))
    _move(redemption, (RedemptionStatus.requested, RedemptionStatus.approved), {
        "status": RedemptionStatus.rejected.value, "decided_by_id": actor.user_id, "decided_at": utcnow(),
        "note": note[:1000] or redemption.note}, session=session)
    conn = session.connection()
    conn.execute(update(R).where(R.c.id == redemption.reward_id, R.c.stock.is_not(None))
                 .values(stock=R.c.stock + 1))
    reward = session.get(Reward, redemption.reward_id)
    if reward is not None:
        session.expire(reward, ["stock"])
    session.add(PointEntry(profile_id=redemption.profile_id, amount=redemption.cost, kind=EntryKind.refund.value,
                           reason=(note or gettext("Redemption rejected"))[:300], redemption_id=redemption.id,
                           created_by_id=actor.user_id))
    session.flush()
    audit.record(session=session, actor=actor, action=AuditAction.redemption_decide, object_type="profile",
                 object_id=redemption.profile_id, before={"redemption": redemption.id, "status": before},
                 after={"redemption": redemption.id, "status": "rejected", "refund": redemption.cost, "note": note})
    return redemption


def fulfil(redemption_id: int, tracking: str = "", note: str = "", *, session: Session, actor: Actor) -> Redemption:
    """Sent or handed over: only an approved redemption."""
    redemption = _locked_redemption(redemption_id, session=session)
    if redemption.status != RedemptionStatus.approved.value:
        raise Conflict(gettext("Approve the redemption before marking it fulfilled.")
                       if redemption.status == RedemptionStatus.requested.value
                       else gettext("Only an approved redemption can be fulfilled."))
    _move(redemption, (RedemptionStatus.approved,), {
        "status": RedemptionStatus.fulfilled.value, "fulfilled_at": utcnow(), "tracking": tracking[:300],
        "note": note[:1000] or redemption.note}, session=session)
    reward = session.get(Reward, redemption.reward_id)
    session.add(Recognition(profile_id=redemption.profile_id, kind=RecognitionKind.reward.value,
                            note=(reward.name if reward else "")[:1000], created_by_id=actor.user_id))
    audit.record(session=session, actor=actor, action=AuditAction.redemption_fulfil, object_type="profile",
                 object_id=redemption.profile_id, before={"redemption": redemption.id, "status": "approved"},
                 after={"redemption": redemption.id, "status": "fulfilled", "tracking": tracking, "note": note})
    return redemption


# ---- the queue -----------------------------------------------------------------------------------


@dataclass
class RedemptionRow:
    redemption: Redemption
    reward_name: str
    reward_category: str
    person: str
    balance: int  # the person's current balance


@dataclass
class RedemptionListing:
    rows: list[RedemptionRow]
    total: int
    page: int
    per_page: int
    counts: dict[str, int]  # redemptions by status (for the filter's labels)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


def redemptions(*, session: Session, status: RedemptionStatus | None = None, profile_id: int | None = None,
                page: int = 1, per_page: int = 50) -> RedemptionListing:
    """Redemptions, oldest first (the queue is worked from the oldest request)."""
    where = []
    if status is not None:
        where.append(col(Redemption.status) == status.value)
    if profile_id is not None:
        where.append(col(Redemption.profile_id) == profile_id)
    total = int(session.execute(select(func.count()).select_from(Redemption).where(*where)).scalar_one())
    page = max(1, min(page, max(1, math.ceil(total / per_page))))
    rows = session.execute(
        select(Redemption, R.c.name, R.c.category, P.c.display_name)
        .join(R, R.c.id == Redemption.reward_id).join(P, P.c.id == Redemption.profile_id)
        .where(*where).order_by(col(Redemption.created_at), col(Redemption.id))
        .offset((page - 1) * per_page).limit(per_page)).all()
    people = sorted({row[0].profile_id for row in rows})
    balances = ledger.balances(people, conn=session.connection()) if people else {}
    count_where = [RD.c.profile_id == profile_id] if profile_id is not None else []
    counts = {s.value: 0 for s in RedemptionStatus}
    for value, n in session.execute(select(RD.c.status, func.count()).where(*count_where)
                                    .group_by(RD.c.status)):
        counts[value] = int(n)
    return RedemptionListing(
        [RedemptionRow(r, name, category, person, balances[r.profile_id].current) for r, name, category, person in rows],
        total, page, per_page, counts)


def get_redemption(redemption_id: int, *, session: Session) -> Redemption:
    redemption = session.get(Redemption, redemption_id)
    if redemption is None:
        raise NotFound(gettext("There is no redemption with id %(id)s.") % {"id": redemption_id})
    return redemption


def redemption_row(redemption_id: int, *, session: Session) -> RedemptionRow:
    redemption = get_redemption(redemption_id, session=session)
    reward = get_reward(redemption.reward_id, session=session)
    person = session.get(Profile, redemption.profile_id)
    balance = ledger.balances([redemption.profile_id], conn=session.connection())[redemption.profile_id].current
    return RedemptionRow(redemption, reward.name, reward.category, person.display_name if person else "", balance)


@dataclass
class Redeemer:
    """The person a reward is being redeemed for, as the rewards page shows them."""

    profile_id: int
    name: str
    balance: int
    needs_approval: str  # why their redemption will need approval, or ''


def redeemer(profile_id: int, *, session: Session) -> Redeemer:
    person = session.get(Profile, profile_id)
    if person is None:
        raise NotFound(gettext("There is no person with id %(id)s.") % {"id": profile_id})
    conn = session.connection()
    return Redeemer(profile_id, person.display_name, ledger.balances([profile_id], conn=conn)[profile_id].current,
                    _approval(profile_id, conn=conn))


def find_people(words: str, *, session: Session, limit: int = 8) -> list[Redeemer]:
    """People whose name contains these words, with their balances (for the rewards page's picker)."""
    words = words.strip()[:100]
    if not words:
        return []
    pattern = "%" + words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = session.execute(select(P.c.id, P.c.display_name).where(P.c.display_name.ilike(pattern, escape="\\"))
                           .order_by(P.c.sort_name, P.c.id).limit(limit)).all()
    balances = ledger.balances([pid for pid, _ in rows], conn=session.connection())
    return [Redeemer(pid, name, balances[pid].current, "") for pid, name in rows]
