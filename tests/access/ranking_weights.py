"""Who may call each route of ranking_weights, as written here."""

from crm.deps import Access

P, S, W, A = Access.public, Access.signed_in, Access.writer, Access.admin

ACCESS: dict[tuple[str, str], Access] = {
    ("GET", "/ranking/weights"): S,
    ("GET", "/ranking/weights/new"): W,
    ("POST", "/ranking/weights"): W,
    ("GET", "/ranking/weights/{weight_set_id}"): S,
    ("GET", "/ranking/weights/{weight_set_id}/preview"): S,
    ("GET", "/ranking/weights/{weight_set_id}/activate"): W,
    ("POST", "/ranking/weights/{weight_set_id}/activate"): W,
    ("GET", "/people/{profile_id}/score"): S,
    ("GET", "/api/v1/ranking/weights"): S,
    ("POST", "/api/v1/ranking/weights"): W,
    ("GET", "/api/v1/ranking/weights/{weight_set_id}"): S,
    ("GET", "/api/v1/ranking/weights/{weight_set_id}/preview"): S,
    ("POST", "/api/v1/ranking/weights/{weight_set_id}/activate"): W,
    ("GET", "/api/v1/profiles/{profile_id}/score"): S,
    ("GET", "/api/v1/profiles/{profile_id}/score/history"): S,
}
