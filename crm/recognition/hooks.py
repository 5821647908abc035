"""What recognition does when interactions arrive (logged by hand, restored, edited or imported): points
under the rules in force, then the automatic badges of the people concerned. One entry point, so the
interaction log and the importer cannot drift apart."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Table, select

from crm.interactions.models import Interaction
from crm.recognition import badges, ledger

X: Table = Interaction.__table__  # type: ignore[attr-defined]


def after_interactions(conn: Connection, interaction_ids: Sequence[int], *, actor_id: int | None = None) -> None:
    ids = sorted(set(interaction_ids))
    if not ids:
        return
    ledger.grant_for_interactions(conn, ids, actor_id=actor_id)
    people: set[int] = set()
    for start in range(0, len(ids), 500):
        people |= set(conn.execute(select(X.c.profile_id).where(X.c.id.in_(ids[start:start + 500]))).scalars())
    badges.evaluate(conn, sorted(people))
