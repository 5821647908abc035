"""Who may call each foundation route (sign-in, people, settings, profiles API), as written here."""

from crm.deps import Access

P, S, W, A = Access.public, Access.signed_in, Access.writer, Access.admin

ACCESS = {
    ("GET", "/static"): P,
    ("GET", "/login"): P,
    ("POST", "/login"): P,
    ("POST", "/logout"): P,
    ("GET", "/"): S,
    ("GET", "/people"): S,
    ("GET", "/people/new"): W,
    ("GET", "/people/similar"): W,
    ("GET", "/people/identity-row"): W,
    ("POST", "/people"): W,
    ("GET", "/people/{profile_id}"): S,
    ("GET", "/people/{profile_id}/timeline"): S,
    ("GET", "/people/{profile_id}/edit"): W,
    ("POST", "/people/{profile_id}"): W,
    ("GET", "/people/{profile_id}/delete"): W,
    ("POST", "/people/{profile_id}/delete"): W,
    ("GET", "/settings"): S,
    ("POST", "/settings/users"): A,
    ("POST", "/settings/users/{user_id}/role"): A,
    ("POST", "/settings/users/{user_id}/active"): A,
    ("GET", "/settings/audit"): A,
    ("POST", "/settings/tokens"): S,
    ("POST", "/settings/tokens/{token_id}/revoke"): S,
    ("POST", "/settings/password"): S,
    ("POST", "/settings/sessions/revoke-others"): S,
    ("GET", "/api/docs"): S,
    ("GET", "/api/v1/openapi.json"): S,
    ("GET", "/api/v1/profiles"): S,
    ("POST", "/api/v1/profiles"): W,
    ("GET", "/api/v1/profiles/{profile_id}"): S,
    ("PATCH", "/api/v1/profiles/{profile_id}"): W,
    ("PUT", "/api/v1/profiles/{profile_id}"): W,
    ("DELETE", "/api/v1/profiles/{profile_id}"): W,
}
