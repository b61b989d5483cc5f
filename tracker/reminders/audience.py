"""Who a reminder goes to: the participant, their setting's, provider's or DfE's people."""

from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.models import Claim, Role, User
from tracker.reminders.defaults import DFE, PARTICIPANT, PROVIDER, SETTING, RuleSettings


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str
    audience: str
    participant_id: int | None = None


class Directory:
    """The active accounts of settings, providers and DfE, read once per run."""

    def __init__(
        self,
        session: Session,
        *,
        setting_ids: list[int] | None = None,
        provider_ids: list[int] | None = None,
        dfe: bool = True,
    ) -> None:
        """Read the accounts of these settings and providers (all when None) and of DfE."""
        self.by_setting: dict[int, list[Recipient]] = defaultdict(list)
        self.by_provider: dict[int, list[Recipient]] = defaultdict(list)
        self.dfe: list[Recipient] = []
        wanted = [
            User.role == Role.SETTING
            if setting_ids is None
            else sa.and_(User.role == Role.SETTING, User.setting_id.in_(setting_ids)),
            User.role == Role.PROVIDER
            if provider_ids is None
            else sa.and_(User.role == Role.PROVIDER, User.provider_id.in_(provider_ids)),
        ]
        if dfe:
            wanted.append(User.role == Role.DFE)
        users = session.scalars(
            sa.select(User).where(User.is_active.is_(True), sa.or_(*wanted)).order_by(User.id)
        )
        for user in users:
            if user.role == Role.SETTING:
                name = user.full_name or user.setting.name
                self.by_setting[user.setting_id].append(Recipient(user.email, name, SETTING))
            elif user.role == Role.PROVIDER:
                name = user.full_name or user.provider.name
                self.by_provider[user.provider_id].append(Recipient(user.email, name, PROVIDER))
            else:
                self.dfe.append(Recipient(user.email, user.full_name or "colleague", DFE))

    def for_claim(self, rule: RuleSettings, claim: Claim) -> list[Recipient]:
        """Return who a reminder about one claim goes to, leaving out people who opted out."""
        recipients = []
        participant = claim.participant
        if PARTICIPANT in rule.audience and (
            rule.is_essential or participant.reminders_opted_out_dt is None
        ):
            # The details the claim's maker gave: those its reminders are about and go to.
            recipients.append(Recipient(claim.email, claim.full_name, PARTICIPANT, participant.id))
        if SETTING in rule.audience and claim.setting_id is not None:
            recipients += self.by_setting.get(claim.setting_id, [])
        if PROVIDER in rule.audience:
            recipients += self.by_provider.get(claim.cohort.provider_id, [])
        if DFE in rule.audience:
            recipients += self.dfe
        return recipients
