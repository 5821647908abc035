"""Who may call the signals routes, as written here."""

from crm.deps import Access

P, S, W, A = Access.public, Access.signed_in, Access.writer, Access.admin

ACCESS: dict[tuple[str, str], Access] = {
    # pages
    ("GET", "/signals"): S,
    ("GET", "/signals/widget"): S,
    ("GET", "/signals/new"): W,
    ("POST", "/signals"): W,
    ("GET", "/signals/departments"): W,
    ("POST", "/signals/departments"): W,
    ("POST", "/signals/departments/{department_id}"): W,
    ("POST", "/signals/departments/{department_id}/delete"): W,
    ("GET", "/signals/sla"): S,
    ("POST", "/signals/sla"): W,
    ("GET", "/signals/{signal_id}"): S,
    ("POST", "/signals/{signal_id}"): W,
    ("POST", "/signals/{signal_id}/status"): W,
    ("POST", "/signals/{signal_id}/notes"): W,
    ("POST", "/signals/{signal_id}/items"): W,
    ("POST", "/signals/{signal_id}/close-loop"): W,
    # API
    ("GET", "/api/v1/signals"): S,
    ("POST", "/api/v1/signals"): W,
    ("GET", "/api/v1/signals/suggest-owner"): S,
    ("GET", "/api/v1/signals/{signal_id}"): S,
    ("PATCH", "/api/v1/signals/{signal_id}"): W,
    ("POST", "/api/v1/signals/{signal_id}/status"): W,
    ("POST", "/api/v1/signals/{signal_id}/items"): W,
    ("POST", "/api/v1/signals/{signal_id}/close-loop"): W,
    ("GET", "/api/v1/departments"): S,
    ("POST", "/api/v1/departments"): W,
    ("GET", "/api/v1/sla-targets"): S,
    ("PUT", "/api/v1/sla-targets"): W,
}
