"""Who may call the recognition_gaming routes, as written here."""

from crm.deps import Access

P, S, W, A = Access.public, Access.signed_in, Access.writer, Access.admin

ACCESS: dict[tuple[str, str], Access] = {
    # the review page: anyone signed in reads; managers decide
    ("GET", "/recognition/review"): S,
    ("POST", "/recognition/review/holds/grant"): W,
    ("POST", "/recognition/review/holds/reject"): W,
    ("POST", "/recognition/review/holds/{hold_id}/grant"): W,
    ("POST", "/recognition/review/holds/{hold_id}/reject"): W,
    ("POST", "/recognition/review/flags/{flag_id}/clear"): W,
    ("POST", "/recognition/review/flags/{flag_id}/confirm"): W,
    ("POST", "/recognition/review/scan"): W,
    ("GET", "/recognition/effect"): S,
    # API
    ("GET", "/api/v1/points/holds"): S,
    ("POST", "/api/v1/points/holds/{hold_id}/grant"): W,
    ("POST", "/api/v1/points/holds/{hold_id}/reject"): W,
    ("GET", "/api/v1/points/flags"): S,
    ("POST", "/api/v1/points/flags/{flag_id}/clear"): W,
    ("POST", "/api/v1/points/flags/{flag_id}/confirm"): W,
    ("POST", "/api/v1/points/scan"): W,
    ("GET", "/api/v1/recognition/effect"): S,
}
