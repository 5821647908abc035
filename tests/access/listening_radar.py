"""Who may call the listening_radar routes, as written here."""

from crm.deps import Access

P, S, W, A = Access.public, Access.signed_in, Access.writer, Access.admin

ACCESS: dict[tuple[str, str], Access] = {
    ("GET", "/listening"): S,
    ("GET", "/listening/widget"): S,
    ("GET", "/listening/extra"): S,
    ("GET", "/api/v1/radar"): S,
    ("GET", "/api/v1/radar/bursts"): S,
    ("GET", "/api/v1/radar/tone"): S,
}
