"""What each role may read and change, as query scopes.

Pages and the API load an organisation's records through these scopes and nowhere else,
so each rule of access is written once. A record outside a user's scope is not found
(404), on the pages and in the API alike: an id tells no one what another organisation
holds. Whole parts of the service are for some roles only: each audience's blueprint
names its roles (``require_role``), and the API is for providers and DfE (``API_ROLES``).

==================  ===========================  ===========================  ==============
role                cohorts                      claims (with the person's    settings
                                                 details as the claim gives)
==================  ===========================  ===========================  ==============
DfE                 all: read, change            all: read, change            all
provider            its own: read, change        those in its cohorts: read,  all (to name
                                                 change                       where people
                                                                              work)
setting             on programmes open to its    its own: read, withdraw      its own
                    kind: read, claim places in
local authority     none                         in its area: read            in its area
==================  ===========================  ===========================  ==============

A person's own record (``Participant``) and the conflicts between organisations' copies
of their details are DfE's alone: an organisation sees a person only in a claim it may read.
Declarations go with their claim. Targets, allocations, region quotas, reminders, accounts
and the audit trail are DfE's to read and change, on its own pages; a provider reads its
own allocations, and anyone with a token the programmes.
"""

from collections.abc import Callable

import sqlalchemy as sa
from flask import abort
from flask_login import current_user
from sqlalchemy.orm import Session

from tracker.extensions import login_manager
from tracker.input_guard import MAX_ID
from tracker.models import Claim, Cohort, Programme, Role, Setting, User

# The API serves training providers and DfE; settings and local authorities use the pages.
API_ROLES = (Role.PROVIDER, Role.DFE)


def require_role(*roles: Role) -> Callable:
    """Make a ``before_request`` check: signed in first, then with one of these roles."""

    def check():
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if current_user.role not in roles:
            abort(403)
        return None

    return check


# -- a local authority's area ------------------------------------------------------------
# The one definition, for pages, the API and the figures alike. A setting is in the area
# of its local authority. A claim is in the area where its place counts, which the ledger
# records on the claim as it is made (places.check_place): the local authority of the
# claim's setting, or, on programmes without settings (EP trainees), of the placement.

CLAIM_AREA = Claim.local_authority_id
SETTING_AREA = Setting.local_authority_id


def claims_in_area(local_authority_id: int) -> sa.ColumnElement[bool]:
    return CLAIM_AREA == local_authority_id  # noqa: SIM300  (a column, not a constant)


def settings_in_area(local_authority_id: int) -> sa.ColumnElement[bool]:
    return SETTING_AREA == local_authority_id  # noqa: SIM300  (a column, not a constant)


def may_read_area(user: User, local_authority_id: int) -> bool:
    """Whether a user may read a local authority's figures: DfE any, a local authority its own."""
    if user.role == Role.DFE:
        return True
    return user.role == Role.LOCAL_AUTHORITY and user.local_authority_id == local_authority_id


# -- scopes --------------------------------------------------------------------------------


def programmes_open_to(session: Session, setting: Setting) -> list[Programme]:
    """The programmes whose places the staff of this setting may claim."""
    programmes = session.scalars(sa.select(Programme).order_by(Programme.name))
    return [p for p in programmes if setting.kind.value in (p.eligible_setting_kinds or [])]


def cohorts(session: Session, user: User, *, to_change: bool = False) -> sa.Select:
    """Select the cohorts a user may read, or with ``to_change`` those it may change."""
    query = sa.select(Cohort)
    match user.role:
        case Role.DFE:
            return query
        case Role.PROVIDER:
            return query.where(Cohort.provider_id == user.provider_id)
        case Role.SETTING if not to_change:
            # To find one and claim places in it for its staff.
            open_to = [p.id for p in programmes_open_to(session, user.setting)]
            return query.where(Cohort.programme_id.in_(open_to))
    return query.where(sa.false())


def claims(session: Session, user: User, *, to_change: bool = False) -> sa.Select:
    """Select the claims a user may read, or with ``to_change`` those it may change."""
    query = sa.select(Claim)
    match user.role:
        case Role.DFE:
            return query
        case Role.PROVIDER:
            own_cohorts = cohorts(session, user).with_only_columns(Cohort.id)
            return query.where(Claim.cohort_id.in_(own_cohorts))
        case Role.SETTING:
            return query.where(Claim.setting_id == user.setting_id)
        case Role.LOCAL_AUTHORITY if not to_change:
            return query.where(claims_in_area(user.local_authority_id))
    return query.where(sa.false())


def settings(session: Session, user: User) -> sa.Select:
    """Select the settings a user may read (no one changes them)."""
    query = sa.select(Setting)
    match user.role:
        case Role.DFE | Role.PROVIDER:
            return query
        case Role.SETTING:
            return query.where(Setting.id == user.setting_id)
        case Role.LOCAL_AUTHORITY:
            return query.where(settings_in_area(user.local_authority_id))
    return query.where(sa.false())


def find_cohort(
    session: Session, user: User, cohort_id: int, *, to_change: bool = False
) -> Cohort | None:
    """Return the cohort with this id if the user may read it (or change it), else None."""
    if not 1 <= cohort_id <= MAX_ID:
        return None
    scope = cohorts(session, user, to_change=to_change)
    return session.scalar(scope.where(Cohort.id == cohort_id))


def find_claim(
    session: Session, user: User, claim_id: int, *, to_change: bool = False
) -> Claim | None:
    """Return the claim with this id if the user may read it (or change it), else None."""
    if not 1 <= claim_id <= MAX_ID:
        return None
    return session.scalar(claims(session, user, to_change=to_change).where(Claim.id == claim_id))
