"""Sign in and sign out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from crm.accounts import service as accounts
from crm.deps import DB, SESSION_COOKIE, actor_for, client_ip, get_settings, session_policy
from crm.errors import AuthenticationFailed, RateLimited
from crm.i18n import gettext
from crm.templating import render
from crm.web.common import Form, redirect, safe_next, text

router = APIRouter()


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    if getattr(request.state, "user", None):
        return redirect(request, safe_next(next))
    return render(request, "auth/login.html", {"values": {"email": ""}, "next": safe_next(next), "error": None})


@router.post("/login")
def login(request: Request, db: DB, form: Form) -> Response:
    settings = get_settings(request)
    email, password, next_url = text(form, "email"), str(form.get("password") or ""), safe_next(text(form, "next"))
    limits = accounts.LoginLimits(settings.login_max_failures, settings.login_ip_max_failures, settings.login_window_minutes)
    ip = client_ip(request)
    try:
        user = accounts.authenticate(email, password, session=db, ip=ip, limits=limits)
    except (AuthenticationFailed, RateLimited) as exc:
        db.commit()  # the failure itself is recorded: it is what the rate limit counts
        context = {"values": {"email": email}, "next": next_url, "error": exc.message}
        return render(request, "auth/login.html", context, status_code=exc.status_code)
    token = accounts.start_session(user, session=db, ip=ip, user_agent=request.headers.get("user-agent", ""),
                                   policy=session_policy(settings))
    db.commit()
    response = redirect(request, next_url)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=settings.secure_cookies,
                        max_age=settings.session_absolute_hours * 3600, path="/")
    return response


@router.post("/logout")
def logout(request: Request, db: DB) -> Response:
    accounts.end_session(request.cookies.get(SESSION_COOKIE), session=db, actor=actor_for(request, request.state.user))
    db.commit()
    response = redirect(request, "/login", flash=gettext("You are signed out."))
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response

