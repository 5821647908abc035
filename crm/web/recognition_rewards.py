"""HTML routes: the rewards catalogue (/recognition/rewards), redeeming for a person, the redemptions
queue (/recognition/redemptions), the points leaderboard (/recognition/leaderboard), the public links
(/recognition/public) and the public pages themselves (/public/..., no sign-in)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from crm.accounts.models import User
from crm.deps import DB, CurrentUser, IdPath, PublicUser, WriterUser, actor_for, get_settings
from crm.errors import Conflict, DomainError, InvalidInput
from crm.i18n import N_, gettext
from crm.profiles.models import ProfileRole
from crm.recognition import boards, public, rewards
from crm.recognition.boards import PointsPeriod, PointsQuery
from crm.recognition.models import PublicLinkKind, RedemptionStatus, RewardCategory
from crm.recognition.public import PublicLinkIn
from crm.recognition.rewards import DecisionIn, FulfilIn, RedeemForm, RewardIn
from crm.templating import is_fragment_request, render
from crm.web.common import Form, field_errors, input_errors, redirect, text
from crm.web.forms import as_input, default_values, forgiving, shown_values, typed_values

router = APIRouter()

PERIODS = {
    PointsPeriod.all: N_("Lifetime"),
    PointsPeriod.d30: N_("Last 30 days"),
    PointsPeriod.d90: N_("Last 90 days"),
    PointsPeriod.d365: N_("Last 365 days"),
}
STATUS_TABS = (
    ("requested", N_("Waiting for a decision")),
    ("approved", N_("To fulfil")),
    ("fulfilled", N_("Fulfilled")),
    ("rejected", N_("Rejected")),
    ("all", N_("All")),
)
# What robots and caches are told about the public pages (the page's <meta> says it too).
PUBLIC_HEADERS = {"X-Robots-Tag": "noindex, nofollow", "Cache-Control": "no-store"}

ProfileParam = Annotated[int | None, Query(ge=1, le=2**31 - 1)]


# ---- the catalogue -------------------------------------------------------------------------------


def _catalogue_context(db: Any, profile_id: int | None, show: str, **extra: Any) -> dict[str, Any]:
    chosen = rewards.redeemer(profile_id, session=db) if profile_id else None
    return {"cards": rewards.catalogue(session=db, include_inactive=show == "all"), "chosen": chosen, "show": show,
            "values": {}, **extra}


@router.get("/recognition/rewards")
def rewards_page(request: Request, db: DB, user: CurrentUser, profile_id: ProfileParam = None,
                 show: str = "active") -> Response:
    show = "all" if show == "all" else "active"
    return render(request, "recognition/rewards.html", _catalogue_context(db, profile_id, show))


@router.get("/recognition/rewards/people")
def rewards_people(request: Request, db: DB, user: CurrentUser,
                   q: Annotated[str, Query(max_length=200)] = "") -> Response:
    """While a name is typed in the rewards page's "redeem for" box: matching people and their points."""
    if not is_fragment_request(request):
        return redirect(request, "/recognition/rewards")
    return render(request, "recognition/rewards_people.html", {"found": rewards.find_people(q, session=db), "q": q})


def _reward_form(request: Request, db: Any, values: dict[str, Any], errors: dict[str, str], reward: Any,
                 status_code: int = 200) -> Response:
    context = {"values": values, "errors": errors, "reward": reward,
               "categories": [c.value for c in RewardCategory]}
    return render(request, "recognition/reward_form.html", context, block="reward_form", status_code=status_code)


def _save_reward(request: Request, db: Any, user: User, form: FormData, reward_id: int | None) -> Response:
    values = typed_values(RewardIn, form)
    try:
        try:
            data = RewardIn.model_validate(as_input(RewardIn, values))
        except ValidationError as exc:
            raise InvalidInput(gettext("Please correct the fields marked below."), field_errors=field_errors(exc)) from None
        actor = actor_for(request, user)
        if reward_id is None:
            reward = rewards.create_reward(data, session=db, actor=actor)
        else:
            reward = rewards.update_reward(reward_id, data, session=db, actor=actor)
        db.commit()
    except (InvalidInput, Conflict) as exc:
        db.rollback()
        existing = rewards.get_reward(reward_id, session=db) if reward_id else None
        return _reward_form(request, db, values, input_errors(exc), existing, status_code=422)
    message = gettext("%(name)s added.") if reward_id is None else gettext("%(name)s saved.")
    return redirect(request, "/recognition/rewards", flash=message % {"name": reward.name})


@router.get("/recognition/rewards/new")
def new_reward(request: Request, db: DB, user: WriterUser) -> Response:
    return _reward_form(request, db, shown_values(RewardIn, default_values(RewardIn)), {}, None)


@router.post("/recognition/rewards")
def create_reward(request: Request, db: DB, user: WriterUser, form: Form) -> Response:
    return _save_reward(request, db, user, form, None)


@router.get("/recognition/rewards/{reward_id}/edit")
def edit_reward(request: Request, db: DB, user: WriterUser, reward_id: IdPath) -> Response:
    reward = rewards.get_reward(reward_id, session=db)
    return _reward_form(request, db, shown_values(RewardIn, reward.model_dump()), {}, reward)


@router.post("/recognition/rewards/{reward_id}")
def update_reward(request: Request, db: DB, user: WriterUser, reward_id: IdPath, form: Form) -> Response:
    return _save_reward(request, db, user, form, reward_id)


@router.post("/recognition/rewards/{reward_id}/deactivate")
def deactivate_reward(request: Request, db: DB, user: WriterUser, reward_id: IdPath) -> Response:
    reward = rewards.set_active(reward_id, False, session=db, actor=actor_for(request, user))
    db.commit()
    return redirect(request, "/recognition/rewards",
                    flash=gettext("%(name)s is no longer offered. Its redemptions are kept.") % {"name": reward.name})


@router.post("/recognition/rewards/{reward_id}/activate")
def activate_reward(request: Request, db: DB, user: WriterUser, reward_id: IdPath) -> Response:
    reward = rewards.set_active(reward_id, True, session=db, actor=actor_for(request, user))
    db.commit()
    return redirect(request, "/recognition/rewards", flash=gettext("%(name)s is offered again.") % {"name": reward.name})


@router.post("/recognition/rewards/{reward_id}/redeem")
def redeem(request: Request, db: DB, user: WriterUser, reward_id: IdPath, form: Form) -> Response:
    """Redeem for a person (the form's profile_id). A refusal (out of stock, too few points, a second
    click) shows the catalogue again with the reason, nothing spent."""
    raw = {"profile_id": text(form, "profile_id"), "shipping": text(form, "shipping")}
    try:
        try:
            data = RedeemForm.model_validate(raw)
        except ValidationError:
            raise InvalidInput(gettext("Choose the person to redeem the reward for.")) from None
        redemption = rewards.redeem(reward_id, data.profile_id, session=db, actor=actor_for(request, user),
                                    shipping=data.shipping)
        db.commit()
    except DomainError as exc:
        db.rollback()
        chosen = raw["profile_id"]
        profile_id = int(chosen) if chosen.isdigit() and 0 < int(chosen) < 2**31 else None
        try:
            context = _catalogue_context(db, profile_id, "active")
        except DomainError:  # an unknown person: the catalogue without one
            context = _catalogue_context(db, None, "active")
        context.update(error=exc.message, values={"shipping": raw["shipping"], "reward_id": reward_id})
        return render(request, "recognition/rewards.html", context, status_code=exc.status_code)
    if redemption.needs_approval:
        message = gettext("Redeemed: it waits for approval (%(why)s)") % {"why": redemption.why_approval}
    else:
        message = gettext("Redeemed and approved: it can be fulfilled now.")
    return redirect(request, f"/recognition/redemptions?{urlencode({'status': redemption.status})}", flash=message)


# ---- redemptions -------------------------------------------------------------------------------


@router.get("/recognition/redemptions")
def redemptions_page(request: Request, db: DB, user: CurrentUser, status: str = "requested",
                     profile_id: ProfileParam = None, page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    status = status if status in dict(STATUS_TABS) else "requested"
    chosen = None if status == "all" else RedemptionStatus(status)
    listing = rewards.redemptions(session=db, status=chosen, profile_id=profile_id, page=page,
                                  per_page=get_settings(request).page_size)
    params = {"status": status, **({"profile_id": str(profile_id)} if profile_id else {})}
    context = {"listing": listing, "status": status, "tabs": STATUS_TABS, "profile_id": profile_id,
               "person": rewards.redeemer(profile_id, session=db) if profile_id else None,
               "base": "/recognition/redemptions?" + urlencode(params),
               "tab_url": lambda s: "/recognition/redemptions?" + urlencode(
                   {"status": s, **({"profile_id": str(profile_id)} if profile_id else {})})}
    return render(request, "recognition/redemptions.html", context, block="queue")


def _decided(request: Request, db: Any, user: User, redemption_id: int, action: str, form: FormData) -> Response:
    actor = actor_for(request, user)
    try:
        if action == "fulfil":
            fulfil = FulfilIn.model_validate({"tracking": text(form, "tracking"), "note": text(form, "note")})
            rewards.fulfil(redemption_id, fulfil.tracking, fulfil.note, session=db, actor=actor)
            message = gettext("Marked fulfilled.")
        else:
            note = DecisionIn.model_validate({"note": text(form, "note")}).note
            if action == "approve":
                rewards.approve(redemption_id, note, session=db, actor=actor)
                message = gettext("Approved.")
            else:
                rewards.reject(redemption_id, note, session=db, actor=actor)
                message = gettext("Rejected: the points were refunded.")
        db.commit()
    except (ValidationError, Conflict, InvalidInput) as exc:
        db.rollback()
        error = (gettext("The note or tracking text is too long.") if isinstance(exc, ValidationError)
                 else exc.message)
        status_code = 422 if isinstance(exc, ValidationError | InvalidInput) else 409
        if not is_fragment_request(request):
            return redirect(request, "/recognition/redemptions", flash=error, kind="error")
        row = rewards.redemption_row(redemption_id, session=db)
        return render(request, "recognition/redemption_row.html", {"row": row, "error": error},
                      status_code=status_code)
    if not is_fragment_request(request):
        return redirect(request, "/recognition/redemptions", flash=message)
    row = rewards.redemption_row(redemption_id, session=db)
    return render(request, "recognition/redemption_row.html", {"row": row, "done": message})


@router.post("/recognition/redemptions/{redemption_id}/approve")
def approve_redemption(request: Request, db: DB, user: WriterUser, redemption_id: IdPath, form: Form) -> Response:
    return _decided(request, db, user, redemption_id, "approve", form)


@router.post("/recognition/redemptions/{redemption_id}/reject")
def reject_redemption(request: Request, db: DB, user: WriterUser, redemption_id: IdPath, form: Form) -> Response:
    return _decided(request, db, user, redemption_id, "reject", form)


@router.post("/recognition/redemptions/{redemption_id}/fulfil")
def fulfil_redemption(request: Request, db: DB, user: WriterUser, redemption_id: IdPath, form: Form) -> Response:
    return _decided(request, db, user, redemption_id, "fulfil", form)


# ---- the points leaderboard ----------------------------------------------------------------------


def board_url(query: PointsQuery, **changes: Any) -> str:
    values: dict[str, Any] = {"period": query.period, "topic": query.topic, "role": query.role,
                              "include_team": query.include_team, "page": query.page, **changes}
    shown: dict[str, str] = {}
    for key, value in values.items():
        value = getattr(value, "value", value)
        if value in (None, "", False) or (key == "page" and value == 1) or (key == "period" and value == "all"):
            continue
        shown[key] = "true" if value is True else str(value)
    return "/recognition/leaderboard" + ("?" + urlencode(shown) if shown else "")


@router.get("/recognition/leaderboard")
def leaderboard_page(request: Request, db: DB, user: CurrentUser) -> Response:
    raw = {k: v for k, v in request.query_params.items() if k != "per_page"}
    query = forgiving(PointsQuery, raw).model_copy(update={"per_page": get_settings(request).page_size})
    board = boards.leaderboard(query, session=db)
    query = board.query
    context = {"board": board, "query": query, "periods": PERIODS, "roles": list(ProfileRole), "board_url": board_url}
    return render(request, "recognition/leaderboard.html", context, block="board")


# ---- public links (managed by writers) and the public pages --------------------------------------


def _links_context(request: Request, db: Any, **extra: Any) -> dict[str, Any]:
    return {"links": public.links(session=db), "featured": public.featured_people(session=db),
            "site": str(request.base_url).rstrip("/"), "path_of": public.path_of, "errors": {}, "values": {}, **extra}


@router.get("/recognition/public")
def public_links_page(request: Request, db: DB, user: CurrentUser) -> Response:
    return render(request, "recognition/public_links.html", _links_context(request, db), block="links")


@router.post("/recognition/public")
def create_public_link(request: Request, db: DB, user: WriterUser, form: Form) -> Response:
    values = {"kind": text(form, "kind"), "profile_id": text(form, "profile_id") or None}
    try:
        try:
            data = PublicLinkIn.model_validate(values)
        except ValidationError as exc:
            raise InvalidInput(gettext("Please correct the fields marked below."), field_errors=field_errors(exc)) from None
        link = public.create_link(data, session=db, actor=actor_for(request, user))
        db.commit()
    except (InvalidInput, Conflict) as exc:
        db.rollback()
        errors = input_errors(exc)
        if "__all__" in errors and "profile_id" not in errors and values["kind"] == PublicLinkKind.card.value:
            errors["profile_id"] = errors["__all__"]
        context = _links_context(request, db, errors=errors, values=values)
        return render(request, "recognition/public_links.html", context, block="links", status_code=422)
    message = (gettext("Public leaderboard link created.") if link.kind == PublicLinkKind.leaderboard.value
               else gettext("Card link created."))
    return redirect(request, "/recognition/public", flash=message)


@router.post("/recognition/public/{link_id}/revoke")
def revoke_public_link(request: Request, db: DB, user: WriterUser, link_id: IdPath) -> Response:
    public.revoke_link(link_id, session=db, actor=actor_for(request, user))
    db.commit()
    return redirect(request, "/recognition/public", flash=gettext("The link was revoked: its address no longer works."))


@router.get("/public/leaderboard/{token}")
def public_leaderboard(request: Request, db: DB, user: PublicUser, token: str) -> Response:
    board = public.public_board(token, session=db)
    return render(request, "recognition/public_leaderboard.html", {"board": board}, headers=PUBLIC_HEADERS)


@router.get("/public/card/{token}")
def public_card(request: Request, db: DB, user: PublicUser, token: str) -> Response:
    card = public.public_card(token, session=db)
    return render(request, "recognition/public_card.html", {"card": card}, headers=PUBLIC_HEADERS)

