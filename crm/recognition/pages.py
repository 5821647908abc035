"""Small reads the queue, points and rules pages and their API need (the web and API layers build no
queries themselves): the active badges to offer, which entries were reversed, and the rule versions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from crm.db import utcnow
from crm.recognition import ledger
from crm.recognition.models import Badge, PointEntry, PointRuleIn, PointRuleSet


def active_badges(*, session: Session) -> list[Badge]:
    return list(session.exec(select(Badge).where(col(Badge.active).is_(True)).order_by(col(Badge.name))))


def reversed_by(entry_ids: Sequence[int], *, session: Session) -> dict[int, int]:
    """entry id -> the id of the entry that reverses it, for those reversed."""
    if not entry_ids:
        return {}
    rows = session.exec(select(PointEntry.id, PointEntry.reverses_id)
                        .where(col(PointEntry.reverses_id).in_(list(entry_ids))))
    return {reverses: rid for rid, reverses in rows if reverses is not None and rid is not None}


@dataclass
class VersionRow:
    rule_set: PointRuleSet
    in_force: bool
    upcoming: bool
    rules: list[PointRuleIn]


def rule_versions(*, session: Session, now: datetime | None = None) -> tuple[list[VersionRow], VersionRow | None]:
    """Every version of the point rules, newest start first, and the one in force now."""
    ledger.ensure_rules(session.connection())
    now = now or utcnow()
    sets = list(session.exec(select(PointRuleSet).order_by(col(PointRuleSet.starts_at), col(PointRuleSet.id))))
    current = None
    for rule_set in sets:
        if rule_set.starts_at <= now:
            current = rule_set
    rows = [VersionRow(rs, rs is current, rs.starts_at > now, [PointRuleIn.model_validate(r) for r in rs.rules])
            for rs in sets]
    rows.sort(key=lambda r: (r.rule_set.starts_at, r.rule_set.id or 0), reverse=True)
    return rows, next((r for r in rows if r.in_force), None)
