"""The typed models, one module per aggregate; import them from here."""

from tracker.models.api import ApiToken, IdempotencyRecord
from tracker.models.audit import AuditEvent
from tracker.models.base import Base
from tracker.models.claim import (
    LIVE_CLAIM_INDEX,
    LIVE_STATUSES,
    ONE_FUNDED_PLACE_INDEX,
    Claim,
    ClaimStatus,
    Declaration,
)
from tracker.models.cohort import Cohort, CohortStatus
from tracker.models.figures import (
    COUNT_TABLES,
    AreaClaimCount,
    CohortClaimCount,
    ProviderClaimCount,
    ReasonClaimCount,
    SettingClaimCount,
    WeeklyClaimCount,
)
from tracker.models.organisation import Allocation, Provider, Setting, SettingKind
from tracker.models.participant import ConflictField, Participant, ParticipantConflict
from tracker.models.programme import Milestone, Programme, ProgrammeTarget, RegionQuota
from tracker.models.publication import PublishedSnapshot
from tracker.models.reference import LocalAuthority, Region
from tracker.models.reminder import OutboxMessage, OutboxStatus, ReminderRule
from tracker.models.sign_in import SignInAttempt, SignInOutcome
from tracker.models.user import Role, User
from tracker.models.user_session import UserSession

__all__ = [
    "COUNT_TABLES",
    "LIVE_CLAIM_INDEX",
    "LIVE_STATUSES",
    "ONE_FUNDED_PLACE_INDEX",
    "Allocation",
    "ApiToken",
    "AreaClaimCount",
    "AuditEvent",
    "Base",
    "Claim",
    "ClaimStatus",
    "Cohort",
    "ConflictField",
    "CohortClaimCount",
    "CohortStatus",
    "Declaration",
    "IdempotencyRecord",
    "LocalAuthority",
    "Milestone",
    "OutboxMessage",
    "OutboxStatus",
    "Participant",
    "ParticipantConflict",
    "Programme",
    "ProgrammeTarget",
    "Provider",
    "ProviderClaimCount",
    "PublishedSnapshot",
    "ReasonClaimCount",
    "Region",
    "RegionQuota",
    "ReminderRule",
    "Role",
    "Setting",
    "SettingClaimCount",
    "SettingKind",
    "SignInAttempt",
    "SignInOutcome",
    "User",
    "UserSession",
    "WeeklyClaimCount",
]
