"""Who may call each route of ranking_boards, as written here."""

from crm.deps import Access

P, S, W, A = Access.public, Access.signed_in, Access.writer, Access.admin

ACCESS: dict[tuple[str, str], Access] = {
    ("GET", "/ranking"): S,
    ("POST", "/ranking/recompute"): W,
    ("GET", "/ranking/jobs/{job_id}"): S,
    ("GET", "/ranking/export.csv"): S,
    ("GET", "/api/v1/ranking/leaderboard"): S,
    ("GET", "/api/v1/ranking/rising"): S,
    ("GET", "/api/v1/ranking/slipping"): S,
    ("GET", "/api/v1/ranking/runs"): S,
    ("POST", "/api/v1/ranking/recompute"): W,
    ("GET", "/api/v1/ranking/jobs/{job_id}"): S,
}
