"""Who may call the listening_report routes, as written here."""

from crm.deps import Access

P, S, W, A = Access.public, Access.signed_in, Access.writer, Access.admin

ACCESS: dict[tuple[str, str], Access] = {
    ("GET", "/listening/report"): S,
    ("GET", "/listening/report/print"): S,
    ("GET", "/listening/report.csv"): S,
    ("GET", "/listening/report/judgement"): W,
    ("POST", "/listening/report/judgement"): W,
    ("POST", "/listening/report/quotes"): W,
    ("POST", "/listening/report/recipients"): W,
    ("POST", "/listening/report/recipients/{recipient_id}/delete"): W,
    ("GET", "/api/v1/reports/{period}/{start}"): S,
    ("PUT", "/api/v1/reports/{period}/{start}"): W,
    ("GET", "/api/v1/report-recipients"): S,
    ("POST", "/api/v1/report-recipients"): W,
    ("DELETE", "/api/v1/report-recipients/{recipient_id}"): W,
}
