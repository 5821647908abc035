"""Who may call each route of the timeline, interactions and relationships, as written here."""

from crm.deps import Access

P, S, W, A = Access.public, Access.signed_in, Access.writer, Access.admin

ACCESS = {
    ("GET", "/people/{profile_id}/interactions/new"): W,
    ("POST", "/people/{profile_id}/interactions"): W,
    ("GET", "/people/{profile_id}/interactions/{interaction_id}"): S,
    ("GET", "/people/{profile_id}/interactions/{interaction_id}/edit"): W,
    ("POST", "/people/{profile_id}/interactions/{interaction_id}"): W,
    ("GET", "/people/{profile_id}/interactions/{interaction_id}/delete"): W,
    ("POST", "/people/{profile_id}/interactions/{interaction_id}/delete"): W,
    ("POST", "/people/{profile_id}/interactions/undo/{event_id}"): W,
    ("GET", "/people/{profile_id}/picker"): S,
    ("GET", "/people/{profile_id}/connections"): S,
    ("POST", "/people/{profile_id}/relationships"): W,
    ("POST", "/people/{profile_id}/relationships/{relationship_id}/delete"): W,
    ("GET", "/api/v1/profiles/{profile_id}/interactions"): S,
    ("POST", "/api/v1/profiles/{profile_id}/interactions"): W,
    ("GET", "/api/v1/interactions/{interaction_id}"): S,
    ("PATCH", "/api/v1/interactions/{interaction_id}"): W,
    ("DELETE", "/api/v1/interactions/{interaction_id}"): W,
    ("GET", "/api/v1/profiles/{profile_id}/relationships"): S,
    ("POST", "/api/v1/profiles/{profile_id}/relationships"): W,
    ("DELETE", "/api/v1/relationships/{relationship_id}"): W,
}
