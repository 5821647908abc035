"""Who may call each route of the timeline, interactions and relationships, as written here."""

from crm.deps import Access

P, S, W, A = Access.public, Access.signed_in, Access.writer, Access.admin

ACCESS = {
}
