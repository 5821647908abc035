"""Who may call each route of the graph views, as written here."""

from crm.deps import Access

P, S, W, A = Access.public, Access.signed_in, Access.writer, Access.admin

ACCESS = {
    ("GET", "/people/{profile_id}/graph.json"): S,
    ("GET", "/people/{profile_id}/network"): S,
    ("GET", "/graph"): S,
    ("GET", "/graph.json"): S,
    ("GET", "/api/v1/profiles/{profile_id}/graph"): S,
    ("GET", "/api/v1/graph/communities"): S,
}
