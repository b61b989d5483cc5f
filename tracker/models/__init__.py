"""The typed models, one module per aggregate; import them from here."""

from tracker.models.api import ApiToken, IdempotencyRecord
from tracker.models.audit import AuditEvent
from tracker.models.base import Base
from tracker.models.claim import LIVE_CLAIM_INDEX, LIVE_STATUSES, Claim, ClaimStatus, Declaration
from tracker.models.cohort import Cohort, CohortStatus
from tracker.models.organisation import Allocation, Provider, Setting, SettingKind
from tracker.models.participant import Participant
from tracker.models.programme import Milestone, Programme, ProgrammeTarget, RegionQuota
from tracker.models.reference import LocalAuthority, Region
from tracker.models.reminder import OutboxMessage, OutboxStatus, ReminderRule
from tracker.models.user import Role, User
from tracker.models.user_session import UserSession

__all__ = [
    "LIVE_CLAIM_INDEX",
    "LIVE_STATUSES",
    "Allocation",
    "ApiToken",
    "AuditEvent",
    "Base",
    "Claim",
    "ClaimStatus",
    "Cohort",
    "CohortStatus",
    "Declaration",
    "IdempotencyRecord",
    "LocalAuthority",
    "Milestone",
    "OutboxMessage",
    "OutboxStatus",
    "Participant",
    "Programme",
    "ProgrammeTarget",
    "Provider",
    "Region",
    "RegionQuota",
    "ReminderRule",
    "Role",
    "Setting",
    "SettingKind",
    "User",
    "UserSession",
]
