"""Who may call each route of saved views, bulk actions and list exports, as written here.

Saved views: anyone signed in may save, rename and delete their own private views (the service
refuses sharing to viewers and changes to someone else's view). Exports: anyone signed in, as they
can read every person already (each export is audited). Bulk changes: writers only."""

from crm.deps import Access

P, S, W, A = Access.public, Access.signed_in, Access.writer, Access.admin

ACCESS = {
    ("GET", "/people/views"): S,
    ("POST", "/people/views"): S,
    ("GET", "/people/views/bar"): S,
    ("GET", "/people/views/{view_id}"): S,
    ("POST", "/people/views/{view_id}"): S,
    ("GET", "/people/views/{view_id}/edit"): S,
    ("POST", "/people/views/{view_id}/query"): S,
    ("GET", "/people/views/{view_id}/delete"): S,
    ("POST", "/people/views/{view_id}/delete"): S,
    ("GET", "/people/views/{view_id}/export"): S,
    ("GET", "/people/export"): S,
    ("POST", "/people/export"): S,
    ("POST", "/people/bulk"): W,
    ("POST", "/people/bulk/review"): W,
    ("POST", "/people/bulk/apply"): W,
    ("GET", "/api/v1/views"): S,
    ("POST", "/api/v1/views"): S,
    ("GET", "/api/v1/views/{view_id}"): S,
    ("PATCH", "/api/v1/views/{view_id}"): S,
    ("DELETE", "/api/v1/views/{view_id}"): S,
    ("GET", "/api/v1/exports/people"): S,
    ("POST", "/api/v1/bulk/people"): W,
}
