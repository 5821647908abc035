"""Who may call the listening_alerts routes, as written here."""

from crm.deps import Access

P, S, W, A = Access.public, Access.signed_in, Access.writer, Access.admin

ACCESS: dict[tuple[str, str], Access] = {
    ("GET", "/listening/alerts"): S,
    ("POST", "/listening/alerts/read-all"): S,
    ("GET", "/listening/alerts/{alert_id}"): S,
    ("POST", "/listening/alerts/{alert_id}/act"): W,
    ("GET", "/listening/alerts/rules"): S,
    ("GET", "/listening/alerts/rules/new"): W,
    ("POST", "/listening/alerts/rules"): W,
    ("POST", "/listening/alerts/backtest"): W,
    ("GET", "/listening/alerts/rules/{rule_id}/edit"): W,
    ("POST", "/listening/alerts/rules/{rule_id}"): W,
    ("POST", "/listening/alerts/rules/{rule_id}/rotate"): W,
    ("GET", "/listening/alerts/rules/{rule_id}/delete"): W,
    ("POST", "/listening/alerts/rules/{rule_id}/delete"): W,
    ("GET", "/listening/alerts/rules/{rule_id}/backtest"): S,
    ("GET", "/api/v1/alert-rules"): S,
    ("POST", "/api/v1/alert-rules"): W,
    ("POST", "/api/v1/alert-rules/backtest"): W,
    ("GET", "/api/v1/alert-rules/{rule_id}"): S,
    ("PATCH", "/api/v1/alert-rules/{rule_id}"): W,
    ("DELETE", "/api/v1/alert-rules/{rule_id}"): W,
    ("GET", "/api/v1/alert-rules/{rule_id}/backtest"): S,
    ("GET", "/api/v1/alerts"): S,
    ("GET", "/api/v1/alerts/{alert_id}"): S,
    ("POST", "/api/v1/alerts/{alert_id}/act"): W,
}
