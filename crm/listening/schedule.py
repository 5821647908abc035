"""The listening tick: what the job workers do every minute without anyone asking (beside rank_tick).

It evaluates the alert rules that are due (crm.listening.alerts), makes the daily digests of the day that
ended, queues the `deliver` job when deliveries are due (new ones, and retries whose wait is over), and
sends the management reports that are due (crm.listening.report). Each step is guarded: one failing is
logged and does not stop the others."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import Engine

from crm.settings import Settings

log = logging.getLogger("crm.listening")


def listening_tick(engine: Engine, settings: Settings) -> Callable[[], object]:
    def _evaluate() -> object:
        from crm.listening.alerts import evaluate_due

        return evaluate_due(engine)

    def _digests() -> object:
        from crm.listening.delivery import make_digests

        return make_digests(engine)

    def _deliver() -> object:
        from crm.listening.delivery import queue_if_due

        return queue_if_due(engine)

    def _reports() -> object:
        from crm.listening.report import send_due

        return send_due(engine, settings)

    steps: tuple[tuple[str, Callable[[], object]], ...] = (
        ("evaluate", _evaluate), ("digests", _digests), ("deliver", _deliver), ("reports", _reports))

    def _tick() -> dict[str, object]:
        out: dict[str, object] = {}
        for name, step in steps:
            try:
                out[name] = step()
            except Exception as exc:  # noqa: BLE001 (one step failing must not stop the others)
                log.exception("listening tick: %s failed", name)
                out[name] = exc
        return out

    return _tick


def combined_tick(*ticks: Callable[[], object]) -> Callable[[], object]:
    """One tick that runs several in order (the in-process worker takes one), each guarded."""

    def _tick() -> list[object]:
        out: list[object] = []
        for tick in ticks:
            try:
                out.append(tick())
            except Exception as exc:  # noqa: BLE001
                log.exception("a periodic tick failed")
                out.append(exc)
        return out

    return _tick
