"""HTML routes: the review of held points and flagged people (anti-gaming), and the reward-effect page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from crm.deps import DB, CurrentUser, IdPath, WriterUser, actor_for
from crm.errors import InvalidInput
from crm.i18n import gettext, ngettext
from crm.recognition import effect, gaming
from crm.recognition.models import FlagStatus, HoldStatus
from crm.templating import render
from crm.web.common import Form, redirect

router = APIRouter()

PER_PAGE = 50
REVIEW = "/recognition/review"
HOLD_STATUSES = tuple(s.value for s in HoldStatus)


def _page(value: int) -> int:
    return max(1, min(value, 100_000))


@router.get("/recognition/review")
def review_page(request: Request, db: DB, user: CurrentUser, status: str = "pending", page: int = 1,
                flags_page: int = 1, part: str = "") -> Response:
    """Held points waiting for a decision (or decided ones) and the people flagged as possible gaming."""
    if status not in HOLD_STATUSES:
        status = HoldStatus.pending.value
    context = {
        "status": status,
        "statuses": HOLD_STATUSES,
        "holds": gaming.holds(session=db, status=status, page=_page(page), per_page=PER_PAGE),
        "flags": gaming.flags(session=db, page=_page(flags_page), per_page=PER_PAGE),
        "tab": "review",
    }
    block = "flags" if part == "flags" else "holds"
    return render(request, "recognition/review.html", context, block=block)


def _hold_ids(form: Form) -> list[int]:
    try:
        return gaming.HoldDecisionIn.model_validate({"hold_ids": form.getlist("hold_id")}).hold_ids
    except ValidationError:
        raise InvalidInput(gettext("Choose the held points to decide (up to %(n)s at a time).") % {
            "n": gaming.MAX_BULK}) from None


def _decided(request: Request, count: int, granted: bool) -> Response:
    if count:
        message = (ngettext("%(num)d grant approved: its points are in the ledger.",
                            "%(num)d grants approved: their points are in the ledger.", count) if granted
                   else ngettext("%(num)d grant rejected: no points were added.",
                                 "%(num)d grants rejected: no points were added.", count)) % {"num": count}
        return redirect(request, REVIEW, flash=message)
    return redirect(request, REVIEW, flash=gettext("Nothing changed: those points were reviewed already."), kind="error")


def _bulk(request: Request, db: DB, user: WriterUser, form: Form, granted: bool) -> Response:
    try:
        ids = _hold_ids(form)
    except InvalidInput as exc:
        return redirect(request, REVIEW, flash=exc.message, kind="error")
    decide = gaming.grant_holds if granted else gaming.reject_holds
    done = decide(ids, session=db, actor=actor_for(request, user))
    db.commit()
    return _decided(request, len(done), granted)


@router.post("/recognition/review/holds/grant")
def grant_selected(request: Request, db: DB, user: WriterUser, form: Form) -> Response:
    return _bulk(request, db, user, form, True)


@router.post("/recognition/review/holds/reject")
def reject_selected(request: Request, db: DB, user: WriterUser, form: Form) -> Response:
    return _bulk(request, db, user, form, False)


@router.post("/recognition/review/holds/{hold_id}/grant")
def grant_one(request: Request, db: DB, user: WriterUser, hold_id: IdPath) -> Response:
    gaming.get_hold(hold_id, session=db)
    done = gaming.grant_holds([hold_id], session=db, actor=actor_for(request, user))
    db.commit()
    return _decided(request, len(done), True)


@router.post("/recognition/review/holds/{hold_id}/reject")
def reject_one(request: Request, db: DB, user: WriterUser, hold_id: IdPath) -> Response:
    gaming.get_hold(hold_id, session=db)
    done = gaming.reject_holds([hold_id], session=db, actor=actor_for(request, user))
    db.commit()
    return _decided(request, len(done), False)


@router.post("/recognition/review/flags/{flag_id}/clear")
def clear_flag(request: Request, db: DB, user: WriterUser, flag_id: IdPath) -> Response:
    flag = gaming.decide_flag(flag_id, FlagStatus.cleared, session=db, actor=actor_for(request, user))
    db.commit()
    return redirect(request, REVIEW, flash=gettext("Flag cleared: new points for #%(id)s are granted again.") % {
        "id": flag.profile_id})


@router.post("/recognition/review/flags/{flag_id}/confirm")
def confirm_flag(request: Request, db: DB, user: WriterUser, flag_id: IdPath) -> Response:
    flag = gaming.decide_flag(flag_id, FlagStatus.confirmed, session=db, actor=actor_for(request, user))
    db.commit()
    return redirect(request, REVIEW, flash=gettext(
        "Gaming confirmed: points for #%(id)s stay held until someone grants them.") % {"id": flag.profile_id})


@router.post("/recognition/review/scan")
def scan_now(request: Request, db: DB, user: WriterUser) -> Response:
    result = gaming.scan(session=db, actor=actor_for(request, user))
    db.commit()
    message = gettext("Scan done. Rings found: %(rings)s. Likely duplicates: %(pairs)s. People newly flagged: %(new)s.") % {
        "rings": result.rings, "pairs": result.duplicates, "new": result.flagged}
    return redirect(request, REVIEW, flash=message)


@router.get("/recognition/effect")
def effect_page(request: Request, db: DB, user: CurrentUser) -> Response:
    """Each badge's and reward's effect on contributions, against a matched comparison group."""
    report = effect.effects(session=db)
    return render(request, "recognition/effect.html", {"report": report, "tab": "effect"}, block="effect")
