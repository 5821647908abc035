"""Who may call the campaign_discovery routes, as written here."""

from crm.deps import Access

P, S, W, A = Access.public, Access.signed_in, Access.writer, Access.admin

ACCESS: dict[tuple[str, str], Access] = {
    ("GET", "/campaigns/{campaign_id}/discover"): S,
    ("POST", "/campaigns/{campaign_id}/discover/add"): W,
    ("GET", "/campaigns/{campaign_id}/roster"): S,
    ("POST", "/campaigns/{campaign_id}/roster/add"): W,
    ("GET", "/campaigns/{campaign_id}/intro/{profile_id}"): S,
    ("GET", "/api/v1/campaigns/{campaign_id}/candidates"): S,
    ("GET", "/api/v1/campaigns/{campaign_id}/roster"): S,
    ("GET", "/api/v1/campaigns/{campaign_id}/intro/{profile_id}"): S,
}
