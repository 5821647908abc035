"""Settings: users and roles (admins), your API tokens and sessions (everyone)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from crm.accounts import service as accounts
from crm.accounts.models import Role, TokenIn, UserIn
from crm.audit import service as audit
from crm.audit.actions import GROUPS
from crm.deps import DB, AdminUser, CurrentUser, IdPath, actor_for
from crm.errors import Conflict, InvalidInput
from crm.i18n import gettext, ngettext
from crm.middleware import take_flash
from crm.templating import render
from crm.web.common import Form, field_errors, redirect, text

router = APIRouter(prefix="/settings")
NEW_TOKEN = "api_token"  # noqa: S105  (the flash kind that carries a new token to the page that shows it)



def _page(request: Request, db: DB, user: CurrentUser, **extra: object) -> Response:
    context = {
        "users": accounts.list_users(session=db) if user.is_admin else [],
        "roles": list(Role),
        "tokens": accounts.list_api_tokens(user.id or 0, session=db),
        "sessions": accounts.active_sessions(user.id or 0, session=db),
        "current_session_id": getattr(request.state, "session_id", None),
        "open_password": False,
        "values": {"role": "viewer"},
        "errors": {},
        "token_values": {"days": "90"},
        "token_errors": {},
        "new_token": None,
        **extra,
    }
    status = 422 if extra.get("errors") or extra.get("token_errors") else 200
    return render(request, "settings/index.html", context, status_code=status)


@router.get("")
def settings_page(request: Request, db: DB, user: CurrentUser) -> Response:
    # A token just created arrives once, in the one-time flash cookie, and is shown on this page only.
    return _page(request, db, user, new_token=take_flash(request.state, NEW_TOKEN))


@router.post("/users")
def create_user(request: Request, db: DB, user: AdminUser, form: Form) -> Response:
    values = {"email": text(form, "email"), "name": text(form, "name"), "role": text(form, "role") or "viewer"}
    try:
        data = UserIn.model_validate({**values, "password": str(form.get("password") or "")})
        created = accounts.create_user(data, session=db, actor=actor_for(request, user))
        db.commit()
    except ValidationError as exc:
        return _page(request, db, user, values=values, errors=field_errors(exc))
    except Conflict as exc:
        db.rollback()
        return _page(request, db, user, values=values, errors=exc.field_errors)
    return redirect(request, "/settings", flash=gettext("%(email)s can now sign in as %(role)s.") % {
        "email": created.email, "role": gettext(created.role.capitalize())})


@router.post("/users/{user_id}/role")
def change_role(request: Request, db: DB, user: AdminUser, user_id: IdPath, form: Form) -> Response:
    role = text(form, "role")
    if role not in Role.__members__:
        raise InvalidInput(gettext("Choose admin, manager or viewer."))
    changed = accounts.set_role(user_id, Role(role), session=db, actor=actor_for(request, user))
    db.commit()
    message = gettext("%(email)s is now %(role)s.") % {"email": changed.email, "role": gettext(changed.role.capitalize())}
    return redirect(request, "/settings", flash=message)


@router.post("/users/{user_id}/active")
def change_active(request: Request, db: DB, user: AdminUser, user_id: IdPath, form: Form) -> Response:
    active = text(form, "active") == "true"
    changed = accounts.set_active(user_id, active, session=db, actor=actor_for(request, user))
    db.commit()
    message = gettext("%(email)s was reactivated.") if active else gettext("%(email)s was deactivated and signed out everywhere.")
    return redirect(request, "/settings", flash=message % {"email": changed.email})


@router.post("/tokens")
def create_token(request: Request, db: DB, user: CurrentUser, form: Form) -> Response:
    values = {"name": text(form, "name"), "days": text(form, "days")}
    try:
        data = TokenIn.model_validate(values)
    except ValidationError as exc:
        return _page(request, db, user, token_errors=field_errors(exc), token_values=values)
    _, raw = accounts.create_api_token(user, data, session=db, actor=actor_for(request, user),
                                       signed_in_with=request.state.session_id)
    db.commit()
    # Redirect, so that reloading the page does not make a second token; the raw token (stored only
    # as a digest) rides once in the signed, HttpOnly flash cookie, which the next page clears.
    return redirect(request, "/settings#tokens", flash=raw, kind=NEW_TOKEN)


@router.post("/password")
def change_password(request: Request, db: DB, user: CurrentUser, form: Form) -> Response:
    try:
        accounts.change_password(user, str(form.get("current_password") or ""), str(form.get("new_password") or ""),
                                 str(form.get("confirm_password") or ""), session=db,
                                 keep_session_id=request.state.session_id, actor=actor_for(request, user))
    except InvalidInput as exc:
        return _page(request, db, user, errors=exc.field_errors, open_password=True)
    db.commit()
    return redirect(request, "/settings", flash=gettext("Password changed. Your other sessions were signed out."))


@router.post("/sessions/revoke-others")
def revoke_other_sessions(request: Request, db: DB, user: CurrentUser) -> Response:
    count = accounts.sign_out_elsewhere(user.id or 0, session=db, keep_session_id=request.state.session_id,
                                        actor=actor_for(request, user))
    db.commit()
    return redirect(request, "/settings#sessions", flash=ngettext(
        "Signed out of %(num)d other session.", "Signed out of %(num)d other sessions.", count) % {"num": count})


@router.get("/audit")
def audit_log(request: Request, db: DB, user: AdminUser, page: str = "1", action: str = "") -> Response:
    number = int(page) if page.isdigit() and 0 < int(page) < 1_000_000 else 1
    group = action if action in GROUPS else ""
    listing = audit.list_events(session=db, page=number, per_page=50, group=group)
    context = {"listing": listing, "action": group, "filters": GROUPS}
    return render(request, "settings/audit.html", context, block="events")


@router.post("/tokens/{token_id}/revoke")
def revoke_token(request: Request, db: DB, user: CurrentUser, token_id: IdPath) -> Response:
    accounts.revoke_api_token(token_id, session=db, user_id=user.id or 0, actor=actor_for(request, user))
    db.commit()
    return redirect(request, "/settings", flash=gettext("Token revoked."))
