"""Who may call each route of the graph views, as written here."""

from crm.deps import Access

P, S, W, A = Access.public, Access.signed_in, Access.writer, Access.admin

ACCESS = {
}
