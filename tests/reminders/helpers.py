"""Records the reminder tests need: funded claims, and the accounts reminders go to."""

import itertools
from datetime import date

from sqlalchemy.orm import Session

from tests import factories
from tracker import places
from tracker.accounts import create_user
from tracker.models import Claim, Cohort, Provider, Role, Setting, User
from tracker.progress import record_declaration

_numbers = itertools.count(1)


def funded_claim(
    session: Session,
    cohort: Cohort,
    *,
    setting: Setting | None = None,
    email: str | None = None,
    full_name: str | None = None,
) -> Claim:
    n = next(_numbers)
    if setting is None and cohort.programme.eligible_setting_kinds:
        setting = factories.create_setting(session)
    outcome = places.claim_place(
        session,
        cohort,
        full_name=full_name or f"Participant {n}",
        email=email or f"participant{n}@example.com",
        setting=setting,
    )
    return outcome.claim


def declare(session: Session, claim: Claim, code: str, on: date) -> None:
    record_declaration(session, claim, milestone_code=code, declared_on=on, today=on)


def setting_user(session: Session, setting: Setting) -> User:
    return create_user(
        session,
        email=f"setting{next(_numbers)}@example.com",
        role=Role.SETTING,
        organisation=setting.urn,
        full_name="Sam Setting",
    )


def provider_user(session: Session, provider: Provider) -> User:
    return create_user(
        session,
        email=f"provider{next(_numbers)}@example.com",
        role=Role.PROVIDER,
        organisation=provider.ukprn,
        full_name="Pat Provider",
    )


def dfe_user(session: Session) -> User:
    return create_user(
        session, email=f"dfe{next(_numbers)}@example.com", role=Role.DFE, full_name="Dee DfE"
    )
