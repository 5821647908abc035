"""ASGI middleware: security headers, the per-browser CSRF cookie, flash messages, locale."""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import cookie_parser
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crm.i18n import current_locale, pick_locale
from crm.security import csrf_token_for, new_token

CSRF_COOKIE = "crm_csrf"
SESSION_COOKIE = "crm_session"
FLASH_COOKIE = "crm_flash"

SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
    ),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


class FlashSerializer:
    def __init__(self, secret: str) -> None:
        self._s = URLSafeSerializer(secret, salt="flash")

    def dumps(self, messages: list[dict[str, str]]) -> str:
        return str(self._s.dumps(messages))

    def loads(self, raw: str) -> list[dict[str, str]]:
        try:
            data = self._s.loads(raw)
        except BadSignature:
            return []
        return [m for m in data if isinstance(m, dict)] if isinstance(data, list) else []


def add_flash(response: Response, request_state: Any, message: str, kind: str = "success") -> None:
    """Queue a message for the next full page this browser sees (typically after a 303)."""
    serializer: FlashSerializer = request_state.flash_serializer
    pending = [*getattr(request_state, "pending_flashes", []), {"message": message, "kind": kind}]
    request_state.pending_flashes = pending
    response.set_cookie(FLASH_COOKIE, serializer.dumps(pending), httponly=True, samesite="lax", path="/",
                        secure=request_state.secure_cookies)


def take_flash(request_state: Any, kind: str) -> str | None:
    """Take a flash of `kind` out of this page's flashes (a one-time value a page shows its own way,
    such as a new API token); the flash cookie is cleared as for any shown flash."""
    flashes = getattr(request_state, "flashes", [])
    taken = next((f["message"] for f in flashes if f.get("kind") == kind), None)
    request_state.flashes = [f for f in flashes if f.get("kind") != kind]
    return taken


class SecurityMiddleware:
    def __init__(self, app: ASGIApp, *, secret_key: str, secure_cookies: bool) -> None:
        self.app = app
        self.secret_key = secret_key
        self.secure_cookies = secure_cookies
        self.flash = FlashSerializer(secret_key)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers_in = Headers(scope=scope)
        cookies = cookie_parser(headers_in.get("cookie", ""))
        csrf_cookie = cookies.get(CSRF_COOKIE) or ""
        fresh_cookie = "" if len(csrf_cookie) >= 20 else new_token()
        csrf_cookie = fresh_cookie or csrf_cookie
        state = scope.setdefault("state", {})
        # The CSRF token is bound to the sign-in session when there is one, so it changes at every
        # login and a token read before signing in (or in another session) is worth nothing after.
        session_cookie = cookies.get(SESSION_COOKIE, "")[:100]
        binding = f"session:{session_cookie}" if session_cookie else f"browser:{csrf_cookie}"
        state["csrf_binding"] = binding
        state["csrf_token"] = csrf_token_for(self.secret_key, binding)
        state["flash_serializer"] = self.flash
        state["secure_cookies"] = self.secure_cookies
        had_flash = FLASH_COOKIE in cookies
        state["flashes"] = self.flash.loads(cookies[FLASH_COOKIE]) if had_flash else []
        token = current_locale.set(pick_locale(headers_in.get("accept-language", "")))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault("cache-control", "no-store")
                secure = "; Secure" if self.secure_cookies else ""
                if fresh_cookie:
                    headers.append("set-cookie", f"{CSRF_COOKIE}={fresh_cookie}; HttpOnly; Path=/; SameSite=Lax{secure}")
                if had_flash and state.get("flashes_shown") and not state.get("pending_flashes"):
                    headers.append("set-cookie", f"{FLASH_COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax{secure}")
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            current_locale.reset(token)

