"""Who may call the recognition_rewards routes, as written here."""

from crm.deps import Access

P, S, W, A = Access.public, Access.signed_in, Access.writer, Access.admin

ACCESS: dict[tuple[str, str], Access] = {
    # the rewards catalogue and redeeming
    ("GET", "/recognition/rewards"): S,
    ("GET", "/recognition/rewards/people"): S,
    ("GET", "/recognition/rewards/new"): W,
    ("POST", "/recognition/rewards"): W,
    ("GET", "/recognition/rewards/{reward_id}/edit"): W,
    ("POST", "/recognition/rewards/{reward_id}"): W,
    ("POST", "/recognition/rewards/{reward_id}/deactivate"): W,
    ("POST", "/recognition/rewards/{reward_id}/activate"): W,
    ("POST", "/recognition/rewards/{reward_id}/redeem"): W,
    # the redemptions queue
    ("GET", "/recognition/redemptions"): S,
    ("POST", "/recognition/redemptions/{redemption_id}/approve"): W,
    ("POST", "/recognition/redemptions/{redemption_id}/reject"): W,
    ("POST", "/recognition/redemptions/{redemption_id}/fulfil"): W,
    # the points leaderboard
    ("GET", "/recognition/leaderboard"): S,
    # public links: managed by writers; the public pages need no sign-in
    ("GET", "/recognition/public"): S,
    ("POST", "/recognition/public"): W,
    ("POST", "/recognition/public/{link_id}/revoke"): W,
    ("GET", "/public/leaderboard/{token}"): P,
    ("GET", "/public/card/{token}"): P,
    # API
    ("GET", "/api/v1/rewards"): S,
    ("POST", "/api/v1/rewards"): W,
    ("GET", "/api/v1/rewards/{reward_id}"): S,
    ("PATCH", "/api/v1/rewards/{reward_id}"): W,
    ("GET", "/api/v1/redemptions"): S,
    ("POST", "/api/v1/redemptions"): W,
    ("POST", "/api/v1/redemptions/{redemption_id}/approve"): W,
    ("POST", "/api/v1/redemptions/{redemption_id}/reject"): W,
    ("POST", "/api/v1/redemptions/{redemption_id}/fulfil"): W,
    ("GET", "/api/v1/points/leaderboard"): S,
}
