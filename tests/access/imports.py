"""Who may call each route of imports and jobs, as written here."""

from crm.deps import Access

P, S, W, A = Access.public, Access.signed_in, Access.writer, Access.admin

ACCESS = {
}
