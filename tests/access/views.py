"""Who may call each route of saved views, bulk actions and list exports, as written here."""

from crm.deps import Access

P, S, W, A = Access.public, Access.signed_in, Access.writer, Access.admin

ACCESS = {
}
