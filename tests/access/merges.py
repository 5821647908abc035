"""Who may call each route of duplicates, merges and the per-person export, as written here."""

from crm.deps import Access

P, S, W, A = Access.public, Access.signed_in, Access.writer, Access.admin

ACCESS = {
    ("GET", "/people/duplicates"): S,
    ("POST", "/people/duplicates/dismiss"): W,
    ("GET", "/people/{profile_id}/merge"): W,
    ("POST", "/people/{profile_id}/merge"): W,
    ("GET", "/merges"): W,
    ("POST", "/merges/{merge_id}/undo"): W,
    ("GET", "/people/{profile_id}/export"): S,
    ("GET", "/api/v1/merges"): W,
    ("POST", "/api/v1/merges"): W,
    ("GET", "/api/v1/merges/{merge_id}"): W,
    ("POST", "/api/v1/merges/{merge_id}/undo"): W,
    ("GET", "/api/v1/duplicates"): S,
    ("GET", "/api/v1/profiles/{profile_id}/export"): S,
}
