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
}
_SHORT_LABELS = {
    AuditAction.profile_create: N_("Created"),
    AuditAction.profile_update: N_("Edited"),
    AuditAction.profile_delete: N_("Deleted"),
}

# The audit page's filters: a group of actions and its name.
GROUPS = {
    "login": N_("Sign-ins"), "logout": N_("Sign-outs"), "profile": N_("People"), "user": N_("Users"),
    "token": N_("API tokens"), "session": N_("Sessions"),
}
# What the dashboard's "recent changes" shows: changes to shared data, not one's own account
# (signing in, passwords, tokens, sessions).
CHANGES = frozenset(a for a in AuditAction if a.group == "profile") | {
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
