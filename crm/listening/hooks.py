"""What listening does when interactions arrive (logged, edited, restored or imported), in the caller's
transaction: match them against the tracked terms (mentions, estimated sentiment), and reopen resolved
signals whose person wrote again. One entry point, so the interaction log and the importer cannot drift
apart."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from crm.listening import match, signals


def after_interactions(conn: Connection, interaction_ids: Sequence[int]) -> None:
    match.after_interactions(conn, interaction_ids)
    signals.reopen_for_interactions(conn, interaction_ids)
