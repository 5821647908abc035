"""Sign in and sign out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from crm.accounts import service as accounts
from crm.db import session_scope
from crm.deps import DB, SESSION_COOKIE, PublicUser, actor_for, client_ip, get_engine, get_settings, session_policy
from crm.errors import AuthenticationFailed, RateLimited
from crm.i18n import gettext
from crm.templating import render
from crm.web.common import Form, redirect, safe_next, text

router = APIRouter()


@router.get("/login")
def login_page(request: Request, user: PublicUser, next: str = "/") -> Response:
    if user is not None:
        return redirect(request, safe_next(next))
    return render(request, "auth/login.html", {"values": {"email": ""}, "next": safe_next(next), "error": None})


@router.post("/login")
def login(request: Request, user: PublicUser, form: Form) -> Response:
    """No request session here: the service runs its own short transactions so that the slow
    password check holds no database lock (see accounts.login)."""
    settings = get_settings(request)
    email, password, next_url = text(form, "email"), str(form.get("password") or ""), safe_next(text(form, "next"))
    limits = accounts.LoginLimits(per_account_and_address=settings.login_max_failures,
                                  per_account=settings.login_account_max_failures,
                                  per_address=settings.login_ip_max_failures, window_minutes=settings.login_window_minutes)
    engine = get_engine(request)
    try:
        _, token = accounts.login(
            email, password, transaction=lambda: session_scope(engine, write=True), ip=client_ip(request),
            user_agent=request.headers.get("user-agent", ""), limits=limits, policy=session_policy(settings),
        )
    except (AuthenticationFailed, RateLimited) as exc:
        context = {"values": {"email": email[:accounts.MAX_STORED_EMAIL]}, "next": next_url, "error": exc.message}
        return render(request, "auth/login.html", context, status_code=exc.status_code)
    response = redirect(request, next_url)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=settings.secure_cookies,
                        max_age=settings.session_absolute_hours * 3600, path="/")
    return response


@router.post("/logout")
def logout(request: Request, db: DB, user: PublicUser) -> Response:
    """Public, so that signing out of an already-expired session still clears the cookie."""
    accounts.end_session(request.cookies.get(SESSION_COOKIE), session=db, actor=actor_for(request, user))
    db.commit()
    response = redirect(request, "/login", flash=gettext("You are signed out."))
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
