"""Who may call the relevance route, as written here."""

from crm.deps import Access

P, S, W, A = Access.public, Access.signed_in, Access.writer, Access.admin

ACCESS = {
    ("GET", "/api/v1/ranking/relevance"): S,
}
