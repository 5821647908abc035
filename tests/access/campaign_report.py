"""Who may call the campaign_report routes, as written here."""

from crm.deps import Access

P, S, W, A = Access.public, Access.signed_in, Access.writer, Access.admin

ACCESS: dict[tuple[str, str], Access] = {
    ("GET", "/campaigns/{campaign_id}/deliverables"): S,
    ("POST", "/campaigns/{campaign_id}/deliverables"): W,
    ("GET", "/campaigns/{campaign_id}/deliverables/{interaction_id}/edit"): W,
    ("POST", "/campaigns/{campaign_id}/deliverables/{interaction_id}"): W,
    ("GET", "/campaigns/{campaign_id}/quotes"): S,
    ("POST", "/campaigns/{campaign_id}/quotes"): W,
    ("POST", "/campaigns/{campaign_id}/quotes/{quote_id}/delete"): W,
    ("GET", "/campaigns/{campaign_id}/report"): S,
    ("GET", "/campaigns/{campaign_id}/report.csv"): S,
    ("GET", "/campaigns/{campaign_id}/complete"): W,
    ("POST", "/campaigns/{campaign_id}/complete"): W,
    ("GET", "/api/v1/campaigns/{campaign_id}/report"): S,
    ("GET", "/api/v1/campaigns/{campaign_id}/deliverables"): S,
    ("POST", "/api/v1/campaigns/{campaign_id}/deliverables"): W,
    ("GET", "/api/v1/campaigns/{campaign_id}/quotes"): S,
    ("POST", "/api/v1/campaigns/{campaign_id}/quotes"): W,
    ("DELETE", "/api/v1/campaigns/{campaign_id}/quotes/{quote_id}"): W,
    ("POST", "/api/v1/campaigns/{campaign_id}/complete"): W,
}
