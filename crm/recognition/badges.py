"""Badges: criteria (what a person must do to earn one), automatic evaluation, awards by hand, revoking,
and each person's progress toward the badges they have not earned yet.

Choices, written down:

- **Criteria** count a person's interactions: of one kind, or any contribution
  (crm.interactions.models.CONTRIBUTION_KINDS); in the last `window_days` days counted back from the
  moment of evaluation (none: all time); with a sentiment of at least `min_sentiment` (interactions
  whose sentiment is unknown do not count when a minimum is set); linked to a campaign; and with a
  **topic**: the interaction's *person* has the topic (the same topic tags as the people list's filter
  and the per-topic leaderboards), not words in the title or body, which would be noisy and read
  differently on SQLite and PostgreSQL.
- **Automatic awards** (BadgeAward.automatic) are not "recognition by us": they add no Recognition
  row (a machine badge is not a thank-you, so the person stays in the "not yet thanked" queue) and no
  audit event per person (nobody did anything; the award row keeps when). Awards **by hand** add a
  Recognition row (kind badge) and an audit event on the person.
- A person holds a badge once (unique badge + person; inserts use ON CONFLICT DO NOTHING, so a repeat,
  a retry or two evaluations at once award nothing twice).
- **Editing criteria does not take badges back**: holders keep them. A revoked badge whose criteria the
  person still meets comes back at their next contribution (switch the badge off to stop that).
- Evaluation is one grouped query per badge (per 500 people), never one per person.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from babel.numbers import format_decimal
from pydantic import Field as PydField
from pydantic import field_validator
from sqlalchemy import Connection, Table, Text, func, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from crm.accounts.models import User
from crm.audit import service as audit
from crm.audit.actions import AuditAction
from crm.audit.service import Actor
from crm.campaigns.models import Campaign
from crm.db import utcnow
from crm.errors import Conflict, InvalidInput, NotFound
from crm.i18n import current_locale, gettext, ngettext
from crm.interactions.models import CONTRIBUTION_KINDS, OUR_KINDS, Interaction, InteractionKind
from crm.profiles.models import Profile
from crm.recognition import ledger
from crm.recognition import rules as pure
from crm.recognition.models import Badge, BadgeAward, PointEntry, Recognition, RecognitionKind
from crm.schemas import DbId, InputModel, all_optional

BA = cast(Table, BadgeAward.__table__)  # type: ignore[attr-defined]
B = cast(Table, Badge.__table__)  # type: ignore[attr-defined]
X = cast(Table, Interaction.__table__)  # type: ignore[attr-defined]
P = cast(Table, Profile.__table__)  # type: ignore[attr-defined]
CHUNK = 500
MAX_COUNT = 10_000
MAX_PER_DAY = 10  # contributions a day a badge may ask for: more would be a criterion nobody meets
MAX_WINDOW = 3650
MAX_PEOPLE = 500  # people in one award by hand
PANEL_ENTRIES = 5  # ledger entries on a person's recognition panel


# ---- schemas -----------------------------------------------------------------------------------


def _one_symbol(value: str) -> bool:
    """One character or one emoji (which may be several code points: a skin tone, a flag, a ZWJ family)."""
    clusters = 0
    joined = regional = False
    for char in value:
        code = ord(char)
        glue = (unicodedata.category(char).startswith("M") or code in (0x200D, 0x20E3) or 0xFE00 <= code <= 0xFE0F
                or 0x1F3FB <= code <= 0x1F3FF or 0xE0020 <= code <= 0xE007F)
        is_regional = 0x1F1E6 <= code <= 0x1F1FF
        if glue or joined or (is_regional and regional):
            regional = False if is_regional else regional
        else:
            clusters += 1
            regional = is_regional
        joined = code == 0x200D
    return clusters == 1


class BadgeCriteria(InputModel):
    """What earns an automatic badge: `count` interactions that match every condition given."""

    kind: InteractionKind | None = PydField(default=None, description="One contribution kind; left out: any contribution")
    count: int = PydField(description="How many (1..10,000)", json_schema_extra={"minimum": 1, "maximum": MAX_COUNT})
    window_days: int | None = PydField(default=None, description="In the last N days (1..3650); left out: all time",
                                       json_schema_extra={"minimum": 1, "maximum": MAX_WINDOW})
    min_sentiment: float | None = PydField(
        default=None, description="Only interactions with at least this sentiment (-1..1); unknown sentiment does not count",
        json_schema_extra={"minimum": -1, "maximum": 1})
    topic: str = PydField(default="", max_length=50, description="Only people who have this topic")
    campaign_id: DbId | None = PydField(default=None, description="Only interactions linked to this campaign")

    @field_validator("kind")
    @classmethod
    def _a_contribution(cls, value: InteractionKind | None) -> InteractionKind | None:
        if value in OUR_KINDS:
            raise ValueError(gettext("Outreach and notes are what we do, not what a person contributes: "
                                     "a badge cannot count them."))
        return value

    @field_validator("count")
    @classmethod
    def _count(cls, value: int) -> int:
        if value < 1:
            raise ValueError(gettext("Ask for at least 1: a badge for nothing would go to everyone."))
        if value > MAX_COUNT:
            raise ValueError(gettext("At most 10,000."))
        return value

    @field_validator("window_days")
    @classmethod
    def _window(cls, value: int | None, info: Any) -> int | None:
        if value is not None and not 1 <= value <= MAX_WINDOW:
            raise ValueError(gettext("Between 1 and 3650 days (ten years), or empty for all time."))
        count = info.data.get("count")
        if value is not None and isinstance(count, int) and count > MAX_PER_DAY * value:
            raise ValueError(gettext("%(count)s in %(days)s days is more than %(most)s a day: nobody could earn it. "
                                     "Give more days or ask for fewer.")
                             % {"count": count, "days": value, "most": MAX_PER_DAY})
        return value

    @field_validator("min_sentiment")
    @classmethod
    def _sentiment(cls, value: float | None) -> float | None:
        if value is not None and not -1 <= value <= 1:
            raise ValueError(gettext("Sentiment goes from -1 (negative) to 1 (positive): nothing could reach more."))
        return value

    @field_validator("topic")
    @classmethod
    def _topic(cls, value: str) -> str:
        return " ".join(value.split()).lower()  # topics are stored like this (crm.profiles.models)


class BadgeIn(InputModel):
    """A badge: automatic (with criteria) or manual (awarded by hand only, no criteria)."""

    name: str = PydField(min_length=1, max_length=100)
    description: str = PydField(default="", max_length=1000)
    symbol: str = PydField(default="★", min_length=1, max_length=8, description="One emoji or character")
    manual: bool = PydField(default=False, description="Awarded by hand only")
    criteria: BadgeCriteria | None = PydField(default=None, description="Required unless manual")
    active: bool = PydField(default=True, description="Switched off: not evaluated, not awarded")

    @field_validator("symbol")
    @classmethod
    def _symbol(cls, value: str | None) -> str | None:
        if value is not None and not _one_symbol(value):  # None: a partial update that leaves it out
            raise ValueError(gettext("Use one emoji or one character, like ★ or 🏆."))
        return value


_PATCH_DOC = "Partial update: only the fields sent change. Holders keep their badge whatever changes."
if TYPE_CHECKING:
    BadgePatch = BadgeIn
else:
    BadgePatch = all_optional(BadgeIn, "BadgePatch", _PATCH_DOC)


class BadgeAwardIn(InputModel):
    profile_ids: list[DbId] = PydField(min_length=1, max_length=MAX_PEOPLE)
    reason: str = PydField(default="", max_length=300)


# ---- criteria in words and checks --------------------------------------------------------------


def kind_words(kind: str | None) -> str:
    """"forum answer", or "contribution" for any: said after a count and "×" (10 × forum answer)."""
    if not kind:
        return gettext("contribution")
    return gettext(kind.replace("_", " ").capitalize()).lower()


def describe(criteria: dict[str, Any] | None, campaigns: dict[int, str] | None = None) -> str:
    """The criteria in words: "10 × Forum answer · in 90 days · sentiment ≥ 0.5 · topic rust"."""
    if not criteria:
        return gettext("Awarded by hand")
    c = BadgeCriteria.model_validate(criteria)
    parts = [f"{format_decimal(c.count, locale=current_locale.get())} × {kind_words(c.kind.value if c.kind else None)}"]
    if c.window_days:
        parts.append(ngettext("in the last %(num)d day", "in the last %(num)d days", c.window_days) % {"num": c.window_days})
    else:
        parts.append(gettext("all time"))
    if c.min_sentiment is not None:
        parts.append(gettext("sentiment at least %(value)s") % {
            "value": format_decimal(c.min_sentiment, locale=current_locale.get())})
    if c.topic:
        parts.append(gettext("people with the topic “%(topic)s”") % {"topic": c.topic})
    if c.campaign_id:
        name = (campaigns or {}).get(c.campaign_id) or f"#{c.campaign_id}"
        parts.append(gettext("in the campaign %(name)s") % {"name": name})
    return " · ".join(parts)


def _earning_kinds(conn: Connection) -> set[str]:
    """Kinds the point rules in force today give points for."""
    ledger.ensure_rules(conn)
    now = pure.rule_set_for(utcnow(), ledger.rule_sets(conn))
    return {key.split("@")[0] for key in (now.rules if now else {})}


def check_criteria(criteria: BadgeCriteria, *, session: Session) -> None:
    """Refuses criteria that can never be met, with a message on the field at fault."""
    problems: dict[str, str] = {}
    kind = criteria.kind
    if kind is not None and kind not in CONTRIBUTION_KINDS and kind.value not in _earning_kinds(session.connection()):
        problems["kind"] = gettext("“%(kind)s” is not a contribution and earns no points: choose a contribution, "
                                   "or make the badge manual.") % {"kind": kind_words(kind.value)}
    if criteria.campaign_id is not None and session.get(Campaign, criteria.campaign_id) is None:
        problems["campaign_id"] = gettext("There is no campaign with id %(id)s.") % {"id": criteria.campaign_id}
    if problems:
        raise InvalidInput(gettext("These criteria could never be met."),
                           field_errors={f"criteria.{name}": message for name, message in problems.items()})


def _check_shape(manual: bool, criteria: dict[str, Any] | None) -> None:
    if manual and criteria:
        raise InvalidInput(gettext("A manual badge has no criteria: remove them, or make the badge automatic."),
                           field_errors={"criteria": gettext("A manual badge has no criteria.")})
    if not manual and not criteria:
        raise InvalidInput(gettext("Give the criteria that earn the badge, or make it manual."),
                           field_errors={"criteria": gettext("Give the criteria, or make the badge manual.")})


# ---- reading -----------------------------------------------------------------------------------


@dataclass
class BadgeRow:
    badge: Badge
    holders: int
    words: str  # the criteria in words


def campaign_names(*, session: Session) -> dict[int, str]:
    return {int(cid): name for cid, name in session.execute(select(col(Campaign.id), col(Campaign.name))
                                                            .order_by(col(Campaign.name)))}


def get_badge(badge_id: int, *, session: Session) -> Badge:
    badge = session.get(Badge, badge_id)
    if badge is None:
        raise NotFound(gettext("There is no badge with id %(id)s.") % {"id": badge_id})
    return badge


def holder_counts(badge_ids: Sequence[int], *, conn: Connection) -> dict[int, int]:
    if not badge_ids:
        return {}
    rows = conn.execute(select(BA.c.badge_id, func.count()).where(BA.c.badge_id.in_(list(badge_ids)))
                        .group_by(BA.c.badge_id))
    return {int(bid): int(n) for bid, n in rows}


def list_badges(*, session: Session, active: bool | None = None) -> list[BadgeRow]:
    query = select(Badge).order_by(col(Badge.active).desc(), col(Badge.name), col(Badge.id))
    if active is not None:
        query = query.where(col(Badge.active) == active)
    badges = list(session.execute(query).scalars())
    counts = holder_counts([b.id or 0 for b in badges], conn=session.connection())
    names = campaign_names(session=session) if any(b.criteria.get("campaign_id") for b in badges) else {}
    return [BadgeRow(b, counts.get(b.id or 0, 0), describe(b.criteria, names)) for b in badges]


@dataclass
class Holder:
    award: BadgeAward
    name: str
    awarded_by: str  # who gave it by hand ("" for automatic awards)


@dataclass
class HolderPage:
    items: list[Holder]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def holders(badge_id: int, *, session: Session, page: int = 1, per_page: int = 25) -> HolderPage:
    get_badge(badge_id, session=session)
    conn = session.connection()
    total = int(conn.execute(select(func.count()).select_from(BA).where(BA.c.badge_id == badge_id)).scalar_one())
    page = max(1, min(page, max(1, -(-total // per_page))))
    rows = session.execute(
        select(BadgeAward, col(Profile.display_name), col(User.name))
        .join(Profile, col(Profile.id) == col(BadgeAward.profile_id))
        .outerjoin(User, col(User.id) == col(BadgeAward.awarded_by_id))
        .where(col(BadgeAward.badge_id) == badge_id)
        .order_by(col(BadgeAward.awarded_at).desc(), col(BadgeAward.id).desc())
        .offset((page - 1) * per_page).limit(per_page)).all()
    return HolderPage([Holder(award, name, by or "") for award, name, by in rows], total, page, per_page)


# ---- creating and editing ----------------------------------------------------------------------


@dataclass
class Saved:
    badge: Badge
    awarded: int  # people who earned it at once (evaluation of everyone)


def _name_taken(name: str, *, session: Session, other_than: int | None = None) -> bool:
    query = select(col(Badge.id)).where(func.lower(col(Badge.name)) == name.lower())
    if other_than is not None:
        query = query.where(col(Badge.id) != other_than)
    return session.execute(query.limit(1)).first() is not None


def _taken(name: str) -> Conflict:
    message = gettext("There is a badge called “%(name)s” already: choose another name.") % {"name": name}
    return Conflict(message, field_errors={"name": message})


def _snapshot(badge: Badge) -> dict[str, Any]:
    return {"name": badge.name, "description": badge.description, "symbol": badge.symbol, "manual": badge.manual,
            "criteria": badge.criteria, "active": badge.active}


def _flush_unique(session: Session, badge: Badge) -> None:
    try:
        with session.begin_nested():
            session.add(badge)
            session.flush()
    except IntegrityError:
        raise _taken(badge.name) from None


def create_badge(data: BadgeIn, *, session: Session, actor: Actor) -> Saved:
    """A new badge; an automatic one is evaluated for everyone at once (those who qualify earn it)."""
    criteria = data.criteria.model_dump(mode="json") if data.criteria else None
    _check_shape(data.manual, criteria)
    if data.criteria:
        check_criteria(data.criteria, session=session)
    if _name_taken(data.name, session=session):
        raise _taken(data.name)
    badge = Badge(name=data.name, description=data.description, symbol=data.symbol, manual=data.manual,
                  criteria=criteria or {}, active=data.active, created_by_id=actor.user_id)
    _flush_unique(session, badge)
    audit.record(session=session, actor=actor, action=AuditAction.badge_create, object_type="badge",
                 object_id=badge.id, after=_snapshot(badge))
    awarded = evaluate_badge(badge, session.connection()) if badge.active and not badge.manual else 0
    return Saved(badge, awarded)


def update_badge(badge_id: int, data: BadgeIn, *, session: Session, actor: Actor) -> Saved:
    """Changes the fields sent (`data.model_fields_set`; a BadgePatch or a whole BadgeIn). Holders keep
    their badge whatever changes; if the badge is automatic and active after the change, everyone is
    evaluated again (new criteria can be met by more people)."""
    badge = get_badge(badge_id, session=session)
    before = _snapshot(badge)
    sent = data.model_fields_set
    values = {name: getattr(data, name) for name in sent}
    if None in (values.get(name, "") for name in ("name", "symbol", "manual", "active")):
        missing = [name for name in ("name", "symbol", "manual", "active") if name in values and values[name] is None]
        raise InvalidInput(gettext("These fields cannot be empty: %(fields)s.") % {"fields": ", ".join(missing)},
                           field_errors={name: gettext("This field is required.") for name in missing})
    manual = values.get("manual", badge.manual)
    if "criteria" in sent:
        criteria = data.criteria.model_dump(mode="json") if data.criteria else None
    elif "manual" in sent and manual:
        criteria = None  # made manual: its old criteria go
    else:
        criteria = badge.criteria or None
    _check_shape(manual, criteria)
    if data.criteria and "criteria" in sent:
        check_criteria(data.criteria, session=session)
    name = values.get("name", badge.name)
    if name != badge.name and _name_taken(name, session=session, other_than=badge_id):
        raise _taken(name)
    badge.name, badge.manual, badge.criteria = name, manual, criteria or {}
    for attr in ("description", "symbol", "active"):
        if attr in values and values[attr] is not None:
            setattr(badge, attr, values[attr])
    _flush_unique(session, badge)
    after = _snapshot(badge)
    if after == before:
        return Saved(badge, 0)
    audit.record(session=session, actor=actor, action=AuditAction.badge_update, object_type="badge",
                 object_id=badge.id, before=before, after=after)
    changed = before["criteria"] != after["criteria"] or (after["active"] and not before["active"])
    awarded = evaluate_badge(badge, session.connection()) if changed and badge.active and not badge.manual else 0
    return Saved(badge, awarded)


# ---- automatic evaluation ----------------------------------------------------------------------


def _matching(criteria: BadgeCriteria, now: datetime) -> list[Any]:
    """Conditions on the interaction table (and the profile table, for a topic)."""
    kinds = [criteria.kind.value] if criteria.kind else sorted(k.value for k in CONTRIBUTION_KINDS)
    where: list[Any] = [X.c.kind.in_(kinds)]
    if criteria.window_days:
        where.append(X.c.occurred_at >= now - timedelta(days=criteria.window_days))
    if criteria.min_sentiment is not None:
        where.append(X.c.sentiment >= criteria.min_sentiment)
    if criteria.campaign_id is not None:
        where.append(X.c.campaign_id == criteria.campaign_id)
    if criteria.topic:
        # Topics are a JSON list: match the element as JSON text, as the people list does.
        escaped = json.dumps(criteria.topic).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(X.c.profile_id.in_(select(P.c.id).where(
            sql_cast(P.c.topics, Text).like(f"%{escaped}%", escape="\\"))))
    return where


def _counts(conn: Connection, criteria: BadgeCriteria, people: Sequence[int] | None, *, now: datetime,
            at_least: int | None = None, exclude_badge: int | None = None) -> dict[int, int]:
    """Matching interactions per person (one grouped query per chunk of people; None: everyone),
    only people with at least `at_least`, leaving out holders of `exclude_badge`."""
    where = _matching(criteria, now)
    if exclude_badge is not None:
        where.append(~X.c.profile_id.in_(select(BA.c.profile_id).where(BA.c.badge_id == exclude_badge)))
    query = select(X.c.profile_id, func.count()).where(*where).group_by(X.c.profile_id)
    if at_least is not None:
        query = query.having(func.count() >= at_least)
    found: dict[int, int] = {}
    if people is None:
        return {int(pid): int(n) for pid, n in conn.execute(query)}
    for start in range(0, len(people), CHUNK):
        chunk = list(people[start:start + CHUNK])
        found.update({int(pid): int(n) for pid, n in conn.execute(query.where(X.c.profile_id.in_(chunk)))})
    return found


def _insert_awards(conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
    """Awards added (ids); a person who holds the badge already is skipped, even if their award is being
    added by someone else at this very moment."""
    if not rows:
        return []
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = (dialect_insert(BA).on_conflict_do_nothing(index_elements=["badge_id", "profile_id"])
                 .returning(BA.c.id))
    added: list[int] = []
    for start in range(0, len(rows), CHUNK):
        added.extend(int(aid) for (aid,) in conn.execute(statement, rows[start:start + CHUNK]))
    return added


def evaluate_badge(badge: Badge, conn: Connection, profile_ids: Sequence[int] | None = None) -> int:
    """Awards one automatic badge to those of `profile_ids` (None: everyone) who meet its criteria now
    and do not hold it. How many earned it."""
    if badge.manual or not badge.active or not badge.criteria:
        return 0
    criteria = BadgeCriteria.model_validate(badge.criteria)
    now = utcnow()
    qualified = _counts(conn, criteria, profile_ids, now=now, at_least=criteria.count, exclude_badge=badge.id)
    rows = [{"badge_id": badge.id, "profile_id": pid, "reason": "", "automatic": True, "awarded_by_id": None,
             "awarded_at": now} for pid in sorted(qualified)]
    return len(_insert_awards(conn, rows))


def evaluate(conn: Connection, profile_ids: Iterable[int]) -> int:
    """After new interactions: every active automatic badge, for these people. Awards added."""
    people = sorted({int(pid) for pid in profile_ids if pid})
    if not people:
        return 0
    rows = conn.execute(select(B).where(B.c.active == True, B.c.manual == False)).all()  # noqa: E712
    total = 0
    for row in rows:
        badge = Badge(id=row.id, name=row.name, manual=row.manual, criteria=row.criteria or {}, active=row.active)
        total += evaluate_badge(badge, conn, people)
    return total


def evaluate_everyone(badge_id: int, *, session: Session) -> int:
    """The button on a badge's page: everyone who meets the criteria now earns it."""
    badge = get_badge(badge_id, session=session)
    if badge.manual:
        raise InvalidInput(gettext("A manual badge is only awarded by hand."))
    if not badge.active:
        raise InvalidInput(gettext("This badge is switched off: switch it on first."))
    return evaluate_badge(badge, session.connection())


# ---- by hand -----------------------------------------------------------------------------------


def _check_people(profile_ids: Sequence[int], *, session: Session) -> list[int]:
    wanted = list(dict.fromkeys(int(pid) for pid in profile_ids))
    if not wanted:
        message = gettext("Choose at least one person.")
        raise InvalidInput(message, field_errors={"profile_ids": message})
    if len(wanted) > MAX_PEOPLE:
        message = gettext("At most %(n)s people at a time.") % {"n": MAX_PEOPLE}
        raise InvalidInput(message, field_errors={"profile_ids": message})
    found = {int(pid) for (pid,) in session.execute(select(col(Profile.id)).where(col(Profile.id).in_(wanted)))}
    missing = [pid for pid in wanted if pid not in found]
    if missing:
        message = gettext("There is no person with id %(ids)s.") % {"ids": ", ".join(map(str, missing[:10]))}
        raise InvalidInput(message, field_errors={"profile_ids": message})
    return wanted


def award_badge(badge_id: int, profile_ids: list[int], *, session: Session, actor: Actor, reason: str = ""
                ) -> list[BadgeAward]:
    """Awards by hand (any active badge, manual or automatic). People who hold it already are skipped;
    each new holder gets a Recognition row (kind badge: they leave the "not yet thanked" queue) and an
    audit event on their page. The awards added."""
    badge = get_badge(badge_id, session=session)
    if not badge.active:
        raise InvalidInput(gettext("“%(name)s” is switched off: switch it on before awarding it.") % {"name": badge.name})
    people = _check_people(profile_ids, session=session)
    reason = reason.strip()[:300]
    now = utcnow()
    rows = [{"badge_id": badge_id, "profile_id": pid, "reason": reason, "automatic": False,
             "awarded_by_id": actor.user_id, "awarded_at": now} for pid in people]
    added = _insert_awards(session.connection(), rows)
    if not added:
        return []
    awards = sorted(session.execute(select(BadgeAward).where(col(BadgeAward.id).in_(added))).scalars(),
                    key=lambda a: people.index(a.profile_id))
    session.add_all([Recognition(profile_id=a.profile_id, kind=RecognitionKind.badge.value, note=reason,
                                 badge_id=badge_id, created_by_id=actor.user_id) for a in awards])
    for award in awards:
        audit.record(session=session, actor=actor, action=AuditAction.badge_award, object_type="profile",
                     object_id=award.profile_id,
                     after={"badge_id": badge_id, "badge": badge.name, "symbol": badge.symbol, "reason": reason})
    session.flush()
    return awards


def revoke_badge(badge_id: int, profile_id: int, *, session: Session, actor: Actor, reason: str = "") -> BadgeAward:
    """Takes a badge back from one person (audited). The Recognition row stays: it happened. An automatic
    badge comes back with the person's next contribution if they still meet its criteria."""
    badge = get_badge(badge_id, session=session)
    award = session.execute(select(BadgeAward).where(col(BadgeAward.badge_id) == badge_id,
                                                     col(BadgeAward.profile_id) == profile_id)).scalar_one_or_none()
    if award is None:
        raise NotFound(gettext("This person does not hold “%(name)s”.") % {"name": badge.name})
    audit.record(session=session, actor=actor, action=AuditAction.badge_revoke, object_type="profile",
                 object_id=profile_id,
                 before={"badge_id": badge_id, "badge": badge.name, "symbol": badge.symbol,
                         "awarded_at": award.awarded_at.isoformat(), "automatic": award.automatic,
                         "reason": award.reason},
                 after={"reason": reason.strip()[:300]} if reason.strip() else None)
    session.delete(award)
    session.flush()
    return award


def holds(badge_id: int, profile_id: int, *, session: Session) -> BadgeAward | None:
    return session.execute(select(BadgeAward).where(col(BadgeAward.badge_id) == badge_id,
                                                    col(BadgeAward.profile_id) == profile_id)).scalar_one_or_none()


# ---- a person's badges and progress ------------------------------------------------------------


@dataclass
class Earned:
    badge: Badge
    award: BadgeAward


@dataclass
class Progress:
    badge: Badge
    count: int  # matching interactions so far (in the window)
    needed: int
    words: str

    @property
    def ratio(self) -> float:
        return min(1.0, self.count / self.needed) if self.needed else 1.0

    @property
    def missing(self) -> int:
        return max(0, self.needed - self.count)


def earned(profile_id: int, *, session: Session) -> list[Earned]:
    rows = session.execute(select(BadgeAward, Badge).join(Badge, col(Badge.id) == col(BadgeAward.badge_id))
                           .where(col(BadgeAward.profile_id) == profile_id)
                           .order_by(col(BadgeAward.awarded_at).desc(), col(BadgeAward.id).desc())).all()
    return [Earned(badge, award) for award, badge in rows]


def progress(profile_id: int, *, session: Session) -> list[Progress]:
    """For each active automatic badge the person does not hold: how far they are (closest first)."""
    conn = session.connection()
    held = {int(bid) for (bid,) in conn.execute(select(BA.c.badge_id).where(BA.c.profile_id == profile_id))}
    badges = [b for b in session.execute(select(Badge).where(col(Badge.active) == True, col(Badge.manual) == False)  # noqa: E712
                                         .order_by(col(Badge.name))).scalars() if b.id not in held and b.criteria]
    names = campaign_names(session=session) if any(b.criteria.get("campaign_id") for b in badges) else {}
    now = utcnow()
    out = []
    for badge in badges:
        criteria = BadgeCriteria.model_validate(badge.criteria)
        count = _counts(conn, criteria, [profile_id], now=now).get(profile_id, 0)
        out.append(Progress(badge, count, criteria.count, describe(badge.criteria, names)))
    return sorted(out, key=lambda p: (-p.ratio, p.missing, p.badge.name))


@dataclass
class RecognitionPanel:
    """The recognition panel on a person's page."""

    profile_id: int
    balance: ledger.Balance
    earned: list[Earned]
    progress: list[Progress]
    entries: list[PointEntry] = field(default_factory=list)
    entry_total: int = 0


def panel(profile_id: int, *, session: Session) -> RecognitionPanel:
    balance = ledger.balances([profile_id], conn=session.connection())[profile_id]
    entries, total = ledger.history(profile_id, session=session, limit=PANEL_ENTRIES)
    return RecognitionPanel(profile_id, balance, earned(profile_id, session=session),
                            progress(profile_id, session=session), entries, total)


def active_badges(*, session: Session) -> list[Badge]:
    """Badges that can be awarded by hand now (for pickers elsewhere: the queue, the person page)."""
    return list(session.execute(select(Badge).where(col(Badge.active) == True).order_by(col(Badge.name))).scalars())  # noqa: E712

