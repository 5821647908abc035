"""Every action the audit log records, with the words pages use for it. One list: services record
these members, pages label them, and the audit page filters by their group."""

from __future__ import annotations

from enum import StrEnum

from crm.i18n import N_, gettext


class AuditAction(StrEnum):
    login_succeeded = "login.succeeded"
    login_failed = "login.failed"
    login_throttled = "login.throttled"
    logout = "logout"
    profile_create = "profile.create"
    profile_update = "profile.update"
    profile_delete = "profile.delete"
    user_create = "user.create"
    user_role = "user.role"
    user_activate = "user.activate"
    user_deactivate = "user.deactivate"
    user_password = "user.password"
    token_create = "token.create"
    token_revoke = "token.revoke"
    session_revoke_others = "session.revoke_others"
    profile_bulk_update = "profile.bulk_update"
    profile_export = "profile.export"
    interaction_create = "interaction.create"
    interaction_update = "interaction.update"
    interaction_delete = "interaction.delete"
    relationship_create = "relationship.create"
    relationship_update = "relationship.update"
    relationship_delete = "relationship.delete"
    view_create = "view.create"
    view_update = "view.update"
    view_delete = "view.delete"
    list_export = "export.list"
    import_start = "import.start"
    import_finish = "import.finish"
    import_cancel = "import.cancel"
    merge_create = "merge.create"
    merge_undo = "merge.undo"
    weights_create = "weights.create"
    weights_activate = "weights.activate"
    rank_recompute = "weights.recompute"
    campaign_create = "campaign.create"
    campaign_update = "campaign.update"
    campaign_delete = "campaign.delete"
    campaign_complete = "campaign.complete"
    campaign_kpi = "campaign.kpi"
    campaign_member_add = "campaign.member_add"
    campaign_member_stage = "campaign.member_stage"
    campaign_member_update = "campaign.member_update"
    campaign_member_remove = "campaign.member_remove"
    campaign_task = "campaign.task"
    campaign_quote = "campaign.quote"
    campaign_export = "campaign.export"
    points_rules = "points.rules"
    points_award = "points.award"
    points_reverse = "points.reverse"
    points_rescore = "points.rescore"
    points_hold = "points.hold_review"
    gaming_flag = "points.flag_review"
    gaming_scan = "points.flag"
    badge_create = "badge.create"
    badge_update = "badge.update"
    badge_award = "badge.award"
    badge_revoke = "badge.revoke"
    reward_create = "reward.create"
    reward_update = "reward.update"
    redemption_request = "redemption.request"
    redemption_decide = "redemption.decide"
    redemption_fulfil = "redemption.fulfil"
    recognition_thanks = "recognition.thanks"
    recognition_public = "recognition.public"
    topic_create = "topic.create"
    topic_update = "topic.update"
    topic_delete = "topic.delete"
    mention_capture = "mention.capture"
    sentiment_correct = "sentiment.correct"
    sentiment_words = "sentiment.words"
    alert_rule_create = "alert.rule_create"
    alert_rule_update = "alert.rule_update"
    alert_rule_delete = "alert.rule_delete"
    alert_act = "alert.act"
    signal_create = "signal.create"
    signal_update = "signal.update"
    signal_join = "signal.join"
    signal_reopen = "signal.reopen"
    signal_close_loop = "signal.close_loop"
    department_update = "signal.department"
    sla_update = "signal.sla"
    report_update = "report.update"
    report_export = "report.export"
    report_recipients = "report.recipients"

    @property
    def group(self) -> str:
        """The part before the dot: what the audit page filters by."""
        return self.value.split(".")[0]

    @property
    def label(self) -> str:
        """"Ada signed in", "Ada edited a person": the phrase after the actor, in the page's language."""
        return gettext(_LABELS[self])

    @property
    def short_label(self) -> str:
        """On a person's own history the object is implied: "Created", "Updated", "Deleted"."""
        return gettext(_SHORT_LABELS.get(self, _LABELS[self]))


_LABELS = {
    AuditAction.login_succeeded: N_("signed in"),
    AuditAction.login_failed: N_("failed to sign in"),
    AuditAction.login_throttled: N_("was throttled signing in"),
    AuditAction.logout: N_("signed out"),
    AuditAction.profile_create: N_("added a person"),
    AuditAction.profile_update: N_("edited a person"),
    AuditAction.profile_delete: N_("deleted a person"),
    AuditAction.user_create: N_("added a user"),
    AuditAction.user_role: N_("changed a role"),
    AuditAction.user_activate: N_("reactivated a user"),
    AuditAction.user_deactivate: N_("deactivated a user"),
    AuditAction.user_password: N_("changed their password"),
    AuditAction.token_create: N_("created an API token"),
    AuditAction.token_revoke: N_("revoked an API token"),
    AuditAction.session_revoke_others: N_("signed out their other sessions"),
    AuditAction.profile_bulk_update: N_("changed several people at once"),
    AuditAction.profile_export: N_("exported everything held about a person"),
    AuditAction.interaction_create: N_("logged an interaction"),
    AuditAction.interaction_update: N_("edited an interaction"),
    AuditAction.interaction_delete: N_("deleted an interaction"),
    AuditAction.relationship_create: N_("added a connection"),
    AuditAction.relationship_update: N_("edited a connection"),
    AuditAction.relationship_delete: N_("removed a connection"),
    AuditAction.view_create: N_("saved a view"),
    AuditAction.view_update: N_("changed a saved view"),
    AuditAction.view_delete: N_("deleted a saved view"),
    AuditAction.list_export: N_("exported a list of people"),
    AuditAction.import_start: N_("started an import"),
    AuditAction.import_finish: N_("finished an import"),
    AuditAction.import_cancel: N_("cancelled an import"),
    AuditAction.merge_create: N_("merged two people"),
    AuditAction.merge_undo: N_("undid a merge"),
    AuditAction.weights_create: N_("saved a new version of the score weights"),
    AuditAction.weights_activate: N_("activated a version of the score weights"),
    AuditAction.rank_recompute: N_("asked for the scores to be recomputed"),
    AuditAction.campaign_create: N_("created a campaign"),
    AuditAction.campaign_update: N_("edited a campaign"),
    AuditAction.campaign_delete: N_("deleted a campaign"),
    AuditAction.campaign_complete: N_("completed a campaign"),
    AuditAction.campaign_kpi: N_("changed a campaign's KPIs"),
    AuditAction.campaign_member_add: N_("added people to a campaign"),
    AuditAction.campaign_member_stage: N_("moved someone in a campaign's pipeline"),
    AuditAction.campaign_member_update: N_("edited a campaign member"),
    AuditAction.campaign_member_remove: N_("removed someone from a campaign"),
    AuditAction.campaign_task: N_("changed a campaign task"),
    AuditAction.campaign_quote: N_("changed a campaign's quotes"),
    AuditAction.campaign_export: N_("exported a campaign report"),
    AuditAction.points_rules: N_("saved a new version of the point rules"),
    AuditAction.points_award: N_("awarded points"),
    AuditAction.points_reverse: N_("reversed points"),
    AuditAction.points_rescore: N_("re-scored past interactions"),
    AuditAction.points_hold: N_("reviewed held points"),
    AuditAction.gaming_flag: N_("reviewed an anti-gaming flag"),
    AuditAction.gaming_scan: N_("was flagged by the anti-gaming scan"),
    AuditAction.badge_create: N_("created a badge"),
    AuditAction.badge_update: N_("edited a badge"),
    AuditAction.badge_award: N_("awarded a badge"),
    AuditAction.badge_revoke: N_("took back a badge"),
    AuditAction.reward_create: N_("added a reward"),
    AuditAction.reward_update: N_("edited a reward"),
    AuditAction.redemption_request: N_("requested a reward"),
    AuditAction.redemption_decide: N_("decided on a redemption"),
    AuditAction.redemption_fulfil: N_("fulfilled a redemption"),
    AuditAction.recognition_thanks: N_("thanked people"),
    AuditAction.recognition_public: N_("changed what is shown publicly"),
    AuditAction.topic_create: N_("added a listening topic"),
    AuditAction.topic_update: N_("edited a listening topic"),
    AuditAction.topic_delete: N_("deleted a listening topic"),
    AuditAction.mention_capture: N_("captured a mention"),
    AuditAction.sentiment_correct: N_("corrected a sentiment"),
    AuditAction.sentiment_words: N_("edited a sentiment word list"),
    AuditAction.alert_rule_create: N_("added an alert rule"),
    AuditAction.alert_rule_update: N_("edited an alert rule"),
    AuditAction.alert_rule_delete: N_("deleted an alert rule"),
    AuditAction.alert_act: N_("marked an alert"),
    AuditAction.signal_create: N_("opened a signal"),
    AuditAction.signal_update: N_("updated a signal"),
    AuditAction.signal_join: N_("joined mentions to a signal"),
    AuditAction.signal_reopen: N_("reopened a signal"),
    AuditAction.signal_close_loop: N_("closed the loop on a signal"),
    AuditAction.department_update: N_("changed a department"),
    AuditAction.sla_update: N_("changed SLA targets"),
    AuditAction.report_update: N_("edited a management report"),
    AuditAction.report_export: N_("exported a management report"),
    AuditAction.report_recipients: N_("changed who receives the report"),
}
_SHORT_LABELS = {
    AuditAction.profile_create: N_("Created"),
    AuditAction.profile_update: N_("Edited"),
    AuditAction.profile_delete: N_("Deleted"),
    AuditAction.profile_export: N_("Exported"),
    AuditAction.interaction_create: N_("Interaction logged"),
    AuditAction.interaction_update: N_("Interaction edited"),
    AuditAction.interaction_delete: N_("Interaction deleted"),
    AuditAction.relationship_create: N_("Connection added"),
    AuditAction.relationship_update: N_("Connection edited"),
    AuditAction.relationship_delete: N_("Connection removed"),
    AuditAction.merge_create: N_("Merged"),
    AuditAction.merge_undo: N_("Merge undone"),
}

# The audit page's filters: a group of actions and its name.
GROUPS = {
    "login": N_("Sign-ins"), "logout": N_("Sign-outs"), "profile": N_("People"), "user": N_("Users"),
    "token": N_("API tokens"), "session": N_("Sessions"), "interaction": N_("Interactions"),
    "relationship": N_("Connections"), "view": N_("Saved views"), "export": N_("Exports"), "import": N_("Imports"),
    "merge": N_("Merges"), "weights": N_("Scores"), "campaign": N_("Campaigns"),
    "points": N_("Points"), "badge": N_("Badges"), "reward": N_("Rewards"), "redemption": N_("Redemptions"),
    "recognition": N_("Recognition"), "topic": N_("Listening topics"), "mention": N_("Listening mentions"),
    "sentiment": N_("Sentiment"), "alert": N_("Alerts"), "signal": N_("Signals"), "report": N_("Reports"),
}
# What the dashboard's "recent changes" shows: changes to shared data, not one's own account
# (signing in, passwords, tokens, sessions).
_SHARED = ("profile", "interaction", "relationship", "import", "merge", "weights", "campaign", "points", "badge",
           "reward", "redemption", "recognition", "topic", "mention", "sentiment", "alert", "signal", "report")
CHANGES = frozenset(a for a in AuditAction if a.group in _SHARED) | {
    AuditAction.user_create, AuditAction.user_role, AuditAction.user_activate, AuditAction.user_deactivate}


def label_of(value: str) -> str:
    """The label of a stored action; an action this version does not know is shown as stored."""
    action = _known(value)
    return action.label if action else value


def short_label_of(value: str) -> str:
    action = _known(value)
    return action.short_label if action else value


def _known(value: str) -> AuditAction | None:
    try:
        return AuditAction(value)
    except ValueError:
        return None
