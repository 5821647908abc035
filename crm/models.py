"""Imports every table so SQLModel.metadata is complete (Alembic and tests use this)."""

from crm.accounts.models import ApiToken, User, UserSession
from crm.audit.models import AuditEvent
from crm.campaigns.models import Campaign, CampaignKpi, CampaignMember, CampaignQuote, CampaignTask
from crm.graph.models import GraphPartition
from crm.imports.models import ImportMapping, ImportRejection, ImportUpload
from crm.interactions.models import Interaction, Relationship
from crm.jobs.models import Job
from crm.listening.models import (
    Alert,
    AlertDelivery,
    AlertRule,
    Department,
    InboxRead,
    ManagementReport,
    Mention,
    ReportRecipient,
    SentimentLexicon,
    Signal,
    SignalItem,
    SlaTarget,
    Topic,
)
from crm.merges.models import DuplicateDismissal, MergeRecord  # noqa: F401  (DuplicateDismissal: metadata only)
from crm.profiles.models import Identity, Profile
from crm.ranking.models import ScoreRun, ScoreSnapshot, WeightSet
from crm.recognition.models import (
    Badge,
    BadgeAward,
    GamingFlag,
    PointEntry,
    PointHold,
    PointRuleSet,
    PublicLink,
    Recognition,
    Redemption,
    Reward,
)
from crm.views.models import SavedView

__all__ = [
    "ApiToken", "AuditEvent", "Campaign", "CampaignKpi", "CampaignMember", "CampaignQuote", "CampaignTask",
    "GraphPartition", "Identity", "ImportMapping", "ImportRejection", "ImportUpload",
    "Interaction", "Job", "MergeRecord", "Profile", "Relationship", "SavedView", "ScoreRun", "ScoreSnapshot", "User",
    "UserSession", "WeightSet", "Badge", "BadgeAward", "GamingFlag", "PointEntry", "PointHold", "PointRuleSet",
    "PublicLink", "Recognition", "Redemption", "Reward", "Alert", "AlertDelivery", "AlertRule", "Department",
    "InboxRead", "ManagementReport", "Mention", "ReportRecipient", "SentimentLexicon", "Signal", "SignalItem",
    "SlaTarget", "Topic",
]
