"""The stored, derived columns of a profile: reach, contributions, last activity and search text.

They are computed here and nowhere else, from identities and interactions, so that lists can filter
and sort 100,000 people through an index. Every write that changes a person's identities or
interactions calls `refresh` for the people it touched (bulk work calls it once per batch)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, bindparam, case, func, select, type_coerce, update
from sqlmodel import Session

from crm.db import UTCDateTime
from crm.interactions.models import CONTRIBUTION_KINDS, OUR_KINDS, Interaction
from crm.profiles.models import Identity, Profile

_CONTRIBUTIONS = sorted(k.value for k in CONTRIBUTION_KINDS)
_OURS = sorted(k.value for k in OUR_KINDS)
_BATCH = 500
DERIVED = ("reach", "contribution_count", "last_activity_at", "search_text", "sort_name")
# Core columns: this runs on plain connections too (migrations, bulk loads).
_identity = Identity.__table__.c  # type: ignore[attr-defined]
_interaction = Interaction.__table__.c  # type: ignore[attr-defined]
_profile = Profile.__table__  # type: ignore[attr-defined]


def fold(text: str) -> str:
    """Lower case without accents, so "Lucia Gomez" finds "Lucía Gómez" (search and duplicates)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def sort_name_of(display_name: str) -> str:
    """What the list sorts names by: folded, so accents and case do not decide the order."""
    return " ".join(fold(display_name).split())[:200]


def search_text_of(profile: dict[str, Any], handles: Iterable[str]) -> str:
    """One folded line with everything search looks at: names, handles, bio, topics, tags, location."""
    parts = [
        profile.get("display_name") or "",
        " ".join(handles),
        " ".join(profile.get("topics") or []),
        " ".join(profile.get("tags") or []),
        profile.get("location") or "",
        profile.get("bio") or "",
    ]
    return fold(" | ".join(part for part in parts if part))


def refresh(profile_ids: Iterable[int], *, session: Session) -> None:
    """Recompute the derived columns of these people (inside the caller's transaction)."""
    refresh_on_connection(session.connection(), profile_ids)


def refresh_on_connection(conn: Connection, profile_ids: Iterable[int], *, columns: Iterable[str] = DERIVED) -> None:
    """`columns`: which derived columns to compute. A migration names those that exist at its revision,
    so that a later migration adding a derived column does not break it."""
    ids = sorted({int(pid) for pid in profile_ids if pid})
    wanted = tuple(name for name in DERIVED if name in set(columns))
    for start in range(0, len(ids), _BATCH):
        _refresh_batch(conn, ids[start : start + _BATCH], wanted)


def _refresh_batch(conn: Connection, ids: list[int], wanted: tuple[str, ...]) -> None:
    i, x, p = _identity, _interaction, _profile.c
    reach: dict[int, Any] = dict(conn.execute(  # type: ignore[arg-type]
        select(i.profile_id, func.sum(i.followers)).where(i.profile_id.in_(ids)).group_by(i.profile_id)
    ).all())
    handles: dict[int, list[str]] = {}
    for pid, handle in conn.execute(select(i.profile_id, i.handle).where(i.profile_id.in_(ids))):
        handles.setdefault(pid, []).append(handle)
    # One pass over the people's interactions, read through the (profile_id, occurred_at) index.
    counted = case((x.kind.in_(_CONTRIBUTIONS), 1), else_=0)
    theirs = type_coerce(case((x.kind.not_in(_OURS), x.occurred_at), else_=None), UTCDateTime())
    activity = {pid: (n, latest) for pid, n, latest in conn.execute(
        select(x.profile_id, func.sum(counted), func.max(theirs)).where(x.profile_id.in_(ids)).group_by(x.profile_id))}
    changed = []
    columns = (p.id, p.display_name, p.topics, p.tags, p.location, p.bio, *(p[name] for name in wanted))
    for row in conn.execute(select(*columns).where(p.id.in_(ids))).mappings():
        pid = row["id"]
        n, latest = activity.get(pid, (0, None))
        every = {
            "reach": int(reach.get(pid) or 0),
            "contribution_count": int(n or 0),
            "last_activity_at": latest,
            "search_text": search_text_of(dict(row), handles.get(pid, [])),
            "sort_name": sort_name_of(row["display_name"]),
        }
        values = {name: every[name] for name in wanted}
        # Only rows that change are written: an unchanged search text would churn the search index.
        if any(row[name] != value for name, value in values.items()):
            changed.append({"pid": pid, **values})
    if changed:
        statement = (
            update(_profile).where(_profile.c.id == bindparam("pid"))
            .values(**{name: bindparam(name) for name in wanted})
        )
        conn.execute(statement.execution_options(synchronize_session=False), changed)


def refresh_all(conn: Connection, *, columns: Iterable[str] = DERIVED) -> None:
    """Every profile: after a migration or a bulk load that bypassed the services."""
    ids = [pid for (pid,) in conn.execute(select(_profile.c.id))]
    refresh_on_connection(conn, ids, columns=columns)
