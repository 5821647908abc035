"""Who may call the listening_delivery routes, as written here."""

from crm.deps import Access

P, S, W, A = Access.public, Access.signed_in, Access.writer, Access.admin

ACCESS: dict[tuple[str, str], Access] = {
    ("GET", "/listening/alerts/deliveries"): S,
    ("POST", "/listening/alerts/deliveries/{delivery_id}/retry"): W,
    ("POST", "/listening/alerts/deliveries/test"): W,
    ("GET", "/api/v1/alert-deliveries"): S,
    ("POST", "/api/v1/alert-deliveries/{delivery_id}/retry"): W,
    ("POST", "/api/v1/alert-rules/{rule_id}/test-delivery"): W,
}
