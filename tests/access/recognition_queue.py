"""Who may call the recognition_queue routes, as written here."""

from crm.deps import Access

P, S, W, A = Access.public, Access.signed_in, Access.writer, Access.admin

ACCESS: dict[tuple[str, str], Access] = {
    ("GET", "/recognition"): S,
    ("POST", "/recognition/thank"): W,
    ("POST", "/recognition/award-points"): W,
    ("POST", "/recognition/award-badge"): W,
    ("GET", "/people/{profile_id}/points"): S,
    ("POST", "/people/{profile_id}/points/award"): W,
    ("POST", "/people/{profile_id}/points/{entry_id}/reverse"): W,
    ("GET", "/recognition/rules"): S,
    ("GET", "/recognition/rules/new"): W,
    ("POST", "/recognition/rules"): W,
    ("GET", "/recognition/rules/rescore"): W,
    ("POST", "/recognition/rules/rescore/apply"): W,
    ("GET", "/api/v1/profiles/{profile_id}/points"): S,
    ("POST", "/api/v1/points/award"): W,
    ("POST", "/api/v1/points/entries/{entry_id}/reverse"): W,
    ("GET", "/api/v1/points/rules"): S,
    ("POST", "/api/v1/points/rules"): W,
    ("GET", "/api/v1/points/queue"): S,
    ("POST", "/api/v1/points/thank"): W,
    ("POST", "/api/v1/points/rescore/preview"): W,
    ("POST", "/api/v1/points/rescore/apply"): W,
}
