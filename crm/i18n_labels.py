"""Strings that reach a template as data and are translated there with a variable (``_(title)``,
``value|label``), so the extractor cannot see them where they are used. They are listed here,
wrapped in the no-op marker ``N_()``, so that ``pybabel extract`` puts them in the catalogue.

tests/unit/test_i18n.py checks that this list keeps up with the enums, the error titles and the
dashboard headlines it mirrors.
"""

from __future__ import annotations

from crm.i18n import N_

# The `label` filter: enum value -> words (employee_advocate -> "Employee advocate"), then gettext.
PROFILE_ROLES = (
    N_("Influencer"),
    N_("Evangelist"),
    N_("Moderator"),
    N_("Employee advocate"),
    N_("Customer"),
    N_("Journalist"),
    N_("Partner"),
    # TRANSLATORS: a person's role, and also a platform ("other platform"); one word for both.
    N_("Other"),
)

PROFILE_STATUSES = (
    N_("Prospect"),
    # TRANSLATORS: a person's status, and also the "Active" column of the users table.
    N_("Active"),
    N_("Inactive"),
    N_("Do not contact"),
)

PLATFORMS = (
    N_("X"),
    N_("Instagram"),
    N_("Youtube"),
    N_("Tiktok"),
    N_("Linkedin"),
    N_("Github"),
    N_("Discourse"),
    N_("Reddit"),
    N_("Discord"),
    N_("Slack"),
    N_("Blog"),
    N_("Email"),
    # "Other" is listed with the roles.
)

CONSENT_BASES = (
    # TRANSLATORS: the legal basis for processing a person's data (GDPR art. 6).
    N_("Consent"),
    N_("Contract"),
    N_("Legitimate interest"),
)

INTERACTION_KINDS = (
    N_("Post"),
    N_("Mention"),
    N_("Reply"),
    N_("Forum answer"),
    N_("Review"),
    N_("Talk"),
    N_("Article"),
    N_("Video"),
    N_("Referral"),
    N_("Event attendance"),
    N_("Feedback"),
    N_("Complaint"),
    N_("Support request"),
    N_("Bug report"),
    N_("Outreach email"),
    N_("Outreach dm"),
    N_("Outreach meeting"),
    N_("Note"),
)

# Relationship kinds, shown on a person's page as "Knows → Ana".
RELATIONSHIP_KINDS = (
    N_("Knows"),
    N_("Follows"),
    N_("Mentions"),
    N_("Replies to"),
    N_("Collaborates"),
    N_("Referred"),
    # TRANSLATORS: a relationship between two people: "Colleague → Ana".
    N_("Colleague"),
)

USER_ROLES = (
    N_("Admin"),
    N_("Manager"),
    N_("Viewer"),
)

# A profile's change history shows its audit action through `label`: profile.create -> "Create".
AUDIT_ACTIONS = (
    # TRANSLATORS: shown as "<this> by <who>" in a person's change history: "Created by ana@…".
    N_("Create"),
    # TRANSLATORS: shown as "<this> by <who>" in a person's change history: "Updated by ana@…".
    N_("Update"),
    N_("Delete"),
)

# crm/web/errors.py TITLES (and its fallback), shown by errors/error.html as _(title).
ERROR_TITLES = (
    N_("That request did not make sense"),
    N_("Please sign in"),
    N_("You cannot do that"),
    N_("Nothing here"),
    N_("Not allowed"),
    N_("That clashes with something"),
    N_("Please check what you entered"),
    N_("Slow down"),
    N_("Busy for a moment"),
    N_("Something went wrong on our side"),
    N_("Error"),
)

# crm/interactions/service.py headlines(), shown by dashboard/index.html as _(h.label).
HEADLINES = (
    N_("Contributions"),
    N_("People contributing"),
    N_("People added"),
)

# crm/campaigns/models.py: campaign statuses, pipeline stages and KPI metrics (the `label` filter;
# "Active" is a profile status too).
CAMPAIGN_WORDS = (
    N_("Draft"),
    N_("Planning"),
    N_("Completed"),
    N_("Archived"),
    N_("Candidate"),
    N_("Shortlisted"),
    N_("Contacted"),
    N_("Negotiating"),
    N_("Confirmed"),
    N_("Content live"),
    N_("Declined"),
    N_("Reach"),
    N_("Engagements"),
    N_("Contributions"),
    N_("Signups"),
    N_("Custom"),
)

# crm/recognition/models.py: entry kinds, hold and flag states, reward categories, redemption states and
# recognition kinds (the `label` filter).
RECOGNITION_WORDS = (
    N_("Earned"),
    N_("Awarded"),
    N_("Reversal"),
    N_("Spent"),
    N_("Refund"),
    N_("Pending"),
    N_("Granted"),
    N_("Rejected"),
    N_("Void"),
    N_("Burst"),
    N_("Ring"),
    N_("Duplicate"),
    N_("Open"),
    N_("Cleared"),
    N_("Confirmed"),
    N_("Swag"),
    N_("Gift"),
    N_("Experience"),
    N_("Discount"),
    N_("Donation"),
    N_("Shout out"),
    N_("Requested"),
    N_("Approved"),
    N_("Fulfilled"),
    N_("Thanks"),
    N_("Points"),
    N_("Badge"),
    N_("Reward"),
)

LISTENING_WORDS = (
    N_("Acted"),
    N_("Advocate"),
    N_("Brand"),
    N_("Champion"),
    N_("Closed"),
    N_("Competitor"),
    N_("Contributor"),
    N_("Corrected"),
    N_("Detractor"),
    N_("Dismissed"),
    N_("Employee"),
    N_("Estimated"),
    N_("Expected"),
    N_("High"),
    N_("In progress"),
    N_("Low"),
    N_("Month"),
    N_("New"),
    N_("Normal"),
    N_("Praise"),
    N_("Product"),
    N_("Product feedback"),
    N_("Quarter"),
    N_("Resolved"),
    N_("Sales lead"),
    N_("Seen"),
    N_("Sent"),
    N_("Stranger"),
    N_("Triaged"),
    N_("Undelivered"),
    N_("Urgent"),
    N_("Waiting"),
    N_("Webhook"),
    N_("Negative"),
    N_("Neutral"),
    N_("Positive"),
    N_("Unknown"),
    N_("Opened"),
    N_("Joined"),
    N_("Reopened"),
    N_("Journalist"),
    N_("Email"),
    N_("Pending"),
    N_("Other"),
    N_("Complaint"),
    N_("Support request"),
    N_("Bug report"),
)


ALL = (
    PROFILE_ROLES
    + PROFILE_STATUSES
    + PLATFORMS
    + CONSENT_BASES
    + INTERACTION_KINDS
    + RELATIONSHIP_KINDS
    + USER_ROLES
    + AUDIT_ACTIONS
    + ERROR_TITLES
    + HEADLINES
    + CAMPAIGN_WORDS
    + RECOGNITION_WORDS
    + LISTENING_WORDS
)
