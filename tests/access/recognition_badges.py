"""Who may call the recognition_badges routes, as written here."""

from crm.deps import Access

P, S, W, A = Access.public, Access.signed_in, Access.writer, Access.admin

ACCESS: dict[tuple[str, str], Access] = {
    # pages
    ("GET", "/recognition/badges"): S,
    ("GET", "/recognition/badges/new"): W,
    ("POST", "/recognition/badges"): W,
    ("GET", "/recognition/badges/{badge_id}"): S,
    ("GET", "/recognition/badges/{badge_id}/picker"): S,
    ("GET", "/recognition/badges/{badge_id}/edit"): W,
    ("POST", "/recognition/badges/{badge_id}/edit"): W,
    ("POST", "/recognition/badges/{badge_id}/award"): W,
    ("GET", "/recognition/badges/{badge_id}/revoke"): W,
    ("POST", "/recognition/badges/{badge_id}/revoke"): W,
    ("POST", "/recognition/badges/{badge_id}/evaluate"): W,
    # API
    ("GET", "/api/v1/badges"): S,
    ("POST", "/api/v1/badges"): W,
    ("GET", "/api/v1/badges/{badge_id}"): S,
    ("PATCH", "/api/v1/badges/{badge_id}"): W,
    ("GET", "/api/v1/badges/{badge_id}/holders"): S,
    ("POST", "/api/v1/badges/{badge_id}/award"): W,
    ("DELETE", "/api/v1/badges/{badge_id}/holders/{profile_id}"): W,
    ("GET", "/api/v1/profiles/{profile_id}/badges"): S,
}
