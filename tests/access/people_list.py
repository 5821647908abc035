"""Who may call each route of the people list: search, filters, global search (segments work), as written here."""

from crm.deps import Access

P, S, W, A = Access.public, Access.signed_in, Access.writer, Access.admin

ACCESS = {
    # GET /people and GET /api/v1/profiles (with the filters) are in tests/access/core.py.
    ("GET", "/search"): S,
}
