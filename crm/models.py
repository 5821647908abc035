"""Imports every table so SQLModel.metadata is complete (Alembic and tests use this)."""

from crm.accounts.models import ApiToken, User, UserSession
from crm.audit.models import AuditEvent
from crm.interactions.models import Interaction, Relationship
from crm.profiles.models import Identity, Profile

__all__ = ["ApiToken", "AuditEvent", "Identity", "Interaction", "Profile", "Relationship", "User", "UserSession"]
