"""Who may call each route of identity entry helpers and profile completeness, as written here."""

from crm.deps import Access

P, S, W, A = Access.public, Access.signed_in, Access.writer, Access.admin

ACCESS = {
    ("GET", "/people/identity-fill"): W,
    ("GET", "/people/identity-links"): W,
}
