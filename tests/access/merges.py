"""Who may call each route of duplicates, merges and the per-person export, as written here."""

from crm.deps import Access

P, S, W, A = Access.public, Access.signed_in, Access.writer, Access.admin

ACCESS = {
}
