"""HTML routes: the "not yet thanked" queue (/recognition) with one-click and bulk thank-you, points and
badges; a person's points history with reversals (/people/{id}/points); the point rules, their versions,
a new version, and re-scoring past interactions with a preview (/recognition/rules)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session

from crm.accounts import service as accounts
from crm.deps import DB, CurrentUser, IdPath, WriterUser, actor_for
from crm.errors import DomainError, InvalidInput, NotFound
from crm.i18n import gettext, ngettext
from crm.interactions.models import OUR_KINDS, InteractionKind
from crm.profiles.models import ProfileRole
from crm.profiles.service import get_profile
from crm.ranking.models import level_label
from crm.recognition import ledger, pages, rescore
from crm.recognition import queue as q
from crm.recognition.models import MAX_POINTS, AwardIn, EntryKind, PointEntry, PointRuleIn, PointRuleSetIn
from crm.templating import render
from crm.web.common import Form, checkbox, field_errors, input_errors, redirect, text
from crm.web.forms import forgiving

router = APIRouter()

ONE_CLICK_POINTS = 10
WIDGET_ROWS = 6
RULE_KINDS = [k.value for k in InteractionKind if k not in OUR_KINDS]
CHANNEL_ROWS = 3  # empty channel rows on the form, after the version's own


# ---- the queue --------------------------------------------------------------------------------


def _query(raw: Any) -> q.QueueQuery:
    return forgiving(q.QueueQuery, {k: v for k, v in raw.items() if isinstance(v, str) and v != ""})


def queue_url(query: q.QueueQuery, **changes: Any) -> str:
    values: dict[str, Any] = {"days": query.days, "role": query.role.value if query.role else "", "topic": query.topic,
                              "team": "true" if query.team else "", "page": query.page}
    values.update(changes)
    shown = {k: v for k, v in values.items() if v not in ("", None) and not (k == "page" and v == 1)}
    return "/recognition" + ("?" + urlencode(shown) if shown else "")


def _queue_context(db: Session, query: q.QueueQuery, **extra: Any) -> dict[str, Any]:
    return {"listing": q.queue(query, session=db), "query": query, "badges": pages.active_badges(session=db),
            "roles": [r.value for r in ProfileRole], "day_choices": q.DAY_CHOICES, "level_label": level_label,
            "queue_url": queue_url, "one_click_points": ONE_CLICK_POINTS, "notice": "", "errors": {}, **extra}


@router.get("/recognition")
def queue_page(request: Request, db: DB, user: CurrentUser) -> Response:
    query = _query(request.query_params)
    return render(request, "recognition/queue.html", _queue_context(db, query), block="queue")


def _profile_ids(form: Any) -> list[str]:
    return [value for value in form.getlist("profile_ids") if isinstance(value, str) and value.strip()]


def _after_action(request: Request, db: Session, user: Any, form: Any, message: str) -> Response:
    """Plain POST: back to the queue with a flash. htmx: the refreshed queue (or dashboard widget)."""
    query = _query(form)
    if request.headers.get("hx-request") == "true":
        if text(form, "from") == "dashboard":
            return render(request, "recognition/queue_widget.html", {**widget_context(db), "notice": message})
        return render(request, "recognition/queue.html", _queue_context(db, query, notice=message), block="queue")
    target = f"/people/{text(form, 'back_to')}/points" if text(form, "back_to").isdigit() else (
        "/" if text(form, "from") == "dashboard" else queue_url(query))
    return redirect(request, target, flash=message)


def _refused(request: Request, db: Session, form: Any, exc: ValidationError | DomainError) -> Response:
    db.rollback()
    errors = input_errors(exc)
    if isinstance(exc, ValidationError) and "profile_ids" in errors:
        errors["profile_ids"] = gettext("Tick at least one person.")
    message = errors.get("profile_ids") or errors.get("__all__") or next(iter(errors.values()), "")
    status = getattr(exc, "status_code", 422) if isinstance(exc, DomainError) else 422
    if text(form, "from") == "dashboard" and request.headers.get("hx-request") == "true":
        return render(request, "recognition/queue_widget.html", {**widget_context(db), "error": message},
                      status_code=status)
    context = _queue_context(db, _query(form), errors=errors, error=message)
    return render(request, "recognition/queue.html", context, block="queue", status_code=status)


@router.post("/recognition/thank")
def thank(request: Request, db: DB, user: WriterUser, form: Form) -> Response:
    try:
        data = q.ThankIn.model_validate({"profile_ids": _profile_ids(form), "note": text(form, "note")})
        count = q.thank(list(data.profile_ids), data.note, session=db, actor=actor_for(request, user))
    except (ValidationError, DomainError) as exc:
        return _refused(request, db, form, exc)
    db.commit()
    return _after_action(request, db, user, form, ngettext("Thanked %(num)d person; they left the queue.",
                                                          "Thanked %(num)d people; they left the queue.", count)
                         % {"num": count})


@router.post("/recognition/award-points")
def award_points(request: Request, db: DB, user: WriterUser, form: Form) -> Response:
    """Points, a badge, or both, to the ticked people (the badge select may be left on "no badge")."""
    try:
        data = q.RecogniseIn.model_validate({
            "profile_ids": _profile_ids(form), "points": text(form, "points").replace(",", "") or "0",
            "reason": text(form, "reason"), "badge_id": text(form, "with_badge") or None})
        done = q.recognise(data, session=db, actor=actor_for(request, user))
    except (ValidationError, DomainError) as exc:
        return _refused(request, db, form, exc)
    db.commit()
    if done.points and done.badge and done.badge_people < done.people:
        message = gettext("Awarded %(points)d points to %(n)d people, and the badge “%(badge)s” to %(m)d of them "
                          "(the others had it).") % {"points": done.points, "badge": done.badge, "n": done.people,
                                                     "m": done.badge_people}
    elif done.points and done.badge:
        message = gettext("Awarded %(points)d points and the badge “%(badge)s” to %(n)d people.") % {
            "points": done.points, "badge": done.badge, "n": done.people}
    elif done.badge:
        message = gettext("Badge “%(badge)s” awarded to %(n)d people.") % {"badge": done.badge, "n": done.badge_people}
    else:
        message = gettext("Awarded %(points)d points to %(n)d people.") % {"points": done.points, "n": done.people}
    return _after_action(request, db, user, form, message)


@router.post("/recognition/award-badge")
def award_badge(request: Request, db: DB, user: WriterUser, form: Form) -> Response:
    """One row's badge button (the bulk bar awards badges through award-points)."""
    try:
        if not text(form, "badge_id"):
            raise InvalidInput(gettext("Choose a badge."), field_errors={"badge_id": gettext("Choose a badge.")})
        data = q.RecogniseIn.model_validate({"profile_ids": _profile_ids(form), "reason": text(form, "reason"),
                                             "badge_id": text(form, "badge_id")})
        done = q.recognise(data, session=db, actor=actor_for(request, user))
    except (ValidationError, DomainError) as exc:
        return _refused(request, db, form, exc)
    db.commit()
    return _after_action(request, db, user, form, gettext("Badge “%(badge)s” awarded to %(n)d people.")
                         % {"badge": done.badge, "n": done.badge_people})


def widget_context(db: Session) -> dict[str, Any]:
    """The dashboard's main widget: the top of the queue (team members left out, last 30 days)."""
    return {"widget": q.queue(q.QueueQuery(per_page=WIDGET_ROWS), session=db), "level_label": level_label,
            "notice": "", "error": ""}


# ---- a person's points -----------------------------------------------------------------------


PER_PAGE = 25


@dataclass
class EntryRow:
    entry: PointEntry
    reversed_by: int | None
    who: str
    version: int | None

    @property
    def reversible(self) -> bool:
        return self.entry.kind in (EntryKind.earned, EntryKind.awarded) and self.reversed_by is None


def _points_context(db: Session, profile_id: int, page: int, **extra: Any) -> dict[str, Any]:
    profile = get_profile(profile_id, session=db)
    entries, total = ledger.history(profile_id, session=db, offset=(page - 1) * PER_PAGE, limit=PER_PAGE)
    ids = [e.id or 0 for e in entries]
    reversed_by = pages.reversed_by(ids, session=db)
    users = {u.id: u.name for u in accounts.list_users(session=db)}
    versions = {rs.id: rs.version for rs in ledger.rule_sets(db.connection())}
    rows = [EntryRow(e, reversed_by.get(e.id or 0), users.get(e.created_by_id, "") if e.created_by_id else "",
                     versions.get(e.rule_set_id) if e.rule_set_id else None) for e in entries]
    balance = ledger.balances([profile_id], conn=db.connection())[profile_id]
    return {"p": profile, "balance": balance, "rows": rows, "total": total, "page": page,
            "pages": max(1, -(-total // PER_PAGE)), "errors": {}, "values": {}, "error": "", **extra}


def _page_number(raw: str | None) -> int:
    return int(raw) if raw and raw.isdigit() and 0 < len(raw) < 7 and int(raw) > 0 else 1


@router.get("/people/{profile_id}/points")
def points_page(request: Request, db: DB, user: CurrentUser, profile_id: IdPath) -> Response:
    context = _points_context(db, profile_id, _page_number(request.query_params.get("page")))
    return render(request, "recognition/points.html", context, block="entries")


@router.post("/people/{profile_id}/points/award")
def award_to_person(request: Request, db: DB, user: WriterUser, profile_id: IdPath, form: Form) -> Response:
    values = {"points": text(form, "points"), "reason": text(form, "reason")}
    try:
        get_profile(profile_id, session=db)
        data = AwardIn.model_validate({"profile_ids": [profile_id], "points": values["points"].replace(",", "") or "0",
                                       "reason": values["reason"]})
        ledger.award(data, session=db, actor=actor_for(request, user))
    except ValidationError as exc:
        db.rollback()
        context = _points_context(db, profile_id, 1, errors=field_errors(exc), values=values)
        return render(request, "recognition/points.html", context, status_code=422)
    db.commit()
    return redirect(request, f"/people/{profile_id}/points",
                    flash=gettext("Awarded %(points)d points.") % {"points": data.points})


@router.post("/people/{profile_id}/points/{entry_id}/reverse")
def reverse_entry(request: Request, db: DB, user: WriterUser, profile_id: IdPath, entry_id: IdPath,
                  form: Form) -> Response:
    entry = db.get(PointEntry, entry_id)
    if entry is None or entry.profile_id != profile_id:
        raise NotFound(gettext("There is no ledger entry with id %(id)s.") % {"id": entry_id})
    reason = text(form, "reason")
    problem = ""
    if not checkbox(form, "confirm"):
        problem = gettext("Tick the box to confirm the reversal.")
    elif not reason:
        problem = gettext("Say why the points are reversed.")
    elif len(reason) > 300:
        problem = gettext("Use at most %(n)s characters.") % {"n": 300}
    if problem:
        context = _points_context(db, profile_id, 1, error=problem, failed_entry=entry_id)
        return render(request, "recognition/points.html", context, status_code=422)
    try:
        ledger.reverse(entry_id, reason, session=db, actor=actor_for(request, user))
    except DomainError as exc:
        db.rollback()
        context = _points_context(db, profile_id, 1, error=exc.message, failed_entry=entry_id)
        return render(request, "recognition/points.html", context, status_code=exc.status_code)
    db.commit()
    return redirect(request, f"/people/{profile_id}/points",
                    flash=gettext("Reversed %(points)d points.") % {"points": entry.amount})


# ---- point rules -------------------------------------------------------------------------------


@router.get("/recognition/rules")
def rules_page(request: Request, db: DB, user: CurrentUser) -> Response:
    versions, current = pages.rule_versions(session=db)
    users = {u.id: u.name for u in accounts.list_users(session=db)}
    return render(request, "recognition/rules.html", {"versions": versions, "current": current, "users": users})


def rule_form_values(rules: list[PointRuleIn]) -> dict[str, Any]:
    values: dict[str, Any] = {"start_date": "", "start_time": "", "note": ""}
    channel_rows = []
    for rule in rules:
        if rule.channel:
            channel_rows.append({"kind": rule.kind.value, "channel": rule.channel, "points": str(rule.points),
                                 "cap": str(rule.daily_cap or "")})
        else:
            values[f"points.{rule.kind.value}"] = str(rule.points)
            values[f"cap.{rule.kind.value}"] = str(rule.daily_cap or "")
    values["channels"] = channel_rows + [{"kind": "", "channel": "", "points": "", "cap": ""}] * CHANNEL_ROWS
    return values


def _rules_form(request: Request, values: dict[str, Any], errors: dict[str, str], status_code: int = 200) -> Response:
    return render(request, "recognition/rules_form.html", {"values": values, "errors": errors, "kinds": RULE_KINDS},
                  status_code=status_code)


@router.get("/recognition/rules/new")
def new_rules(request: Request, db: DB, user: WriterUser) -> Response:
    _, current = pages.rule_versions(session=db)
    values = rule_form_values(current.rules if current else [])
    return _rules_form(request, values, {})


def _number(typed: str, name: str, errors: dict[str, str], high: int, what: str) -> int | None:
    cleaned = typed.replace(",", "").replace(" ", "").replace("_", "")  # "1,000"; a decimal point is no separator here
    if not cleaned:
        return None
    if not cleaned.isdigit() or len(cleaned) > 9 or not 1 <= int(cleaned) <= high:
        errors[name] = what
        return None
    return int(cleaned)


def parse_rules_form(form: Any) -> tuple[dict[str, Any], PointRuleSetIn | None, dict[str, str]]:
    """(the values as typed, the new version or None, the message of each box that is wrong)."""
    errors: dict[str, str] = {}
    bad_points = gettext("Use 1 to 10,000 points, or leave it empty for no points.")
    bad_cap = gettext("Use a daily cap from 1 to %(max)s, or leave it empty for none.") % {"max": f"{MAX_POINTS:,}"}
    values: dict[str, Any] = {"start_date": text(form, "start_date"), "start_time": text(form, "start_time"),
                              "note": text(form, "note")}
    rules: list[dict[str, Any]] = []
    for kind in RULE_KINDS:
        points_name, cap_name = f"points.{kind}", f"cap.{kind}"
        values[points_name], values[cap_name] = text(form, points_name), text(form, cap_name)
        points = _number(values[points_name], points_name, errors, 10_000, bad_points)
        cap = _number(values[cap_name], cap_name, errors, MAX_POINTS, bad_cap)
        if points is not None:
            rules.append({"kind": kind, "points": points, "daily_cap": cap})
        elif values[cap_name] and points_name not in errors:
            errors[cap_name] = gettext("A cap needs points.")
    channels: list[dict[str, str]] = []
    kinds, names, points_typed, caps = (form.getlist(k) for k in ("ch_kind", "ch_channel", "ch_points", "ch_cap"))
    for index, (kind, channel, points_text, cap_text) in enumerate(zip(kinds, names, points_typed, caps, strict=False)):
        row = {"kind": str(kind).strip(), "channel": str(channel).strip(), "points": str(points_text).strip(),
               "cap": str(cap_text).strip()}
        channels.append(row)
        if not any(row.values()):
            continue
        if row["kind"] not in RULE_KINDS:
            errors[f"ch.{index}"] = gettext("Choose the kind for this channel rule.")
            continue
        if not row["channel"] or len(row["channel"]) > 30:
            errors[f"ch.{index}"] = gettext("Name the channel (at most 30 characters), like x or discourse.")
            continue
        points = _number(row["points"], f"ch.{index}", errors, 10_000, bad_points)
        if points is None:
            errors.setdefault(f"ch.{index}", bad_points)
            continue
        cap = _number(row["cap"], f"ch.{index}", errors, MAX_POINTS, bad_cap)
        rules.append({"kind": row["kind"], "channel": row["channel"], "points": points, "daily_cap": cap})
    values["channels"] = channels + [{"kind": "", "channel": "", "points": "", "cap": ""}] * max(
        0, CHANNEL_ROWS - sum(1 for c in channels if not any(c.values())))
    starts_at = None
    if values["start_date"] or values["start_time"]:
        try:
            day = date.fromisoformat(values["start_date"]) if values["start_date"] else datetime.now(UTC).date()
            moment = time.fromisoformat(values["start_time"]) if values["start_time"] else time.min
            starts_at = datetime.combine(day, moment, tzinfo=UTC)
        except ValueError:
            errors["start_date"] = gettext("Enter a date like 2026-03-31 and a time like 09:00.")
    if errors:
        return values, None, errors
    try:
        data = PointRuleSetIn.model_validate({"starts_at": starts_at, "rules": rules, "note": values["note"]})
    except ValidationError as exc:
        found = field_errors(exc)
        for key, message in found.items():
            name = "start_date" if key == "starts_at" else "note" if key == "note" else "__all__"
            errors.setdefault(name, message)
        return values, None, errors
    if not data.rules:
        return values, None, {"__all__": gettext("Give points to at least one kind.")}
    return values, data, {}


@router.post("/recognition/rules")
def create_rules(request: Request, db: DB, user: WriterUser, form: Form) -> Response:
    values, data, errors = parse_rules_form(form)
    if data is None:
        return _rules_form(request, values, errors, status_code=422)
    try:
        created = ledger.create_rule_set(data, session=db, actor=actor_for(request, user))
    except DomainError as exc:
        db.rollback()
        return _rules_form(request, values, {"__all__": exc.message}, status_code=exc.status_code)
    db.commit()
    return redirect(request, "/recognition/rules",
                    flash=gettext("Version %(version)d saved. It applies to interactions from its start; re-score "
                                  "past ones if you want them to count under it.") % {"version": created.version})


def _since(raw: str) -> tuple[str, date | None, str]:
    if not raw:
        return raw, None, ""
    try:
        return raw, rescore.RescoreIn.model_validate({"since": raw}).since, ""
    except ValidationError:
        return raw, None, gettext("Enter a date like 2026-03-31.")


@router.get("/recognition/rules/rescore")
def rescore_page(request: Request, db: DB, user: WriterUser) -> Response:
    typed, since, error = _since(request.query_params.get("since", "").strip())
    result = rescore.compute(since, conn=db.connection()) if since else None
    context = {"since": typed, "result": result, "error": error, "shown": 200}
    return render(request, "recognition/rules_rescore.html", context, block="preview",
                  status_code=422 if error else 200)


@router.post("/recognition/rules/rescore/apply")
def rescore_apply(request: Request, db: DB, user: WriterUser, form: Form) -> Response:
    typed, since, error = _since(text(form, "since"))
    if since is None or not checkbox(form, "confirm"):
        context = {"since": typed, "result": rescore.compute(since, conn=db.connection()) if since else None,
                   "error": error or (gettext("Tick the box to confirm.") if since else gettext("Choose a date.")),
                   "shown": 200}
        return render(request, "recognition/rules_rescore.html", context, status_code=422)
    result = rescore.apply(rescore.RescoreIn(since=since), session=db, actor=actor_for(request, user))
    db.commit()
    return redirect(request, "/recognition/rules",
                    flash=gettext("Re-scored %(n)d interactions of %(people)d people: %(delta)+d points.")
                    % {"n": len(result.changes), "people": len(result.people), "delta": result.delta})

