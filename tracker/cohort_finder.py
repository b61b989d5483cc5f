"""Finding open cohorts to claim places in, and how many funded places each has left.

Places left are read with the ledger's own counts (``places.Capacity``), a handful of
GROUP BY queries per programme whatever the number of cohorts shown.
"""

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from tracker.models import Claim, Cohort, CohortStatus, LocalAuthority, Programme, Setting
from tracker.places import Capacity, Placement, held_at_setting


@dataclass(frozen=True)
class CohortSearch:
    """What a setting is looking for; None means any."""

    programme_ids: tuple[int, ...] | None = None
    region_id: int | None = None
    local_authority_id: int | None = None
    starts_from: date | None = None


def programmes_open_to(session: Session, setting: Setting) -> list[Programme]:
    """The programmes whose places the staff of this setting may claim."""
    programmes = session.scalars(sa.select(Programme).order_by(Programme.name))
    return [p for p in programmes if setting.kind.value in (p.eligible_setting_kinds or [])]


def open_cohorts(search: CohortSearch) -> sa.Select:
    """Select the open cohorts matching a search, soonest first.

    Cohorts carry no place of their own, so an area finds the cohorts that already train
    staff from that area.
    """
    query = (
        sa.select(Cohort)
        .options(joinedload(Cohort.programme), joinedload(Cohort.provider))
        .where(Cohort.status == CohortStatus.OPEN)
    )
    if search.programme_ids is not None:
        query = query.where(Cohort.programme_id.in_(search.programme_ids))
    if search.starts_from is not None:
        query = query.where(Cohort.starts_on >= search.starts_from)
    if search.local_authority_id is not None or search.region_id is not None:
        from_area = sa.select(Claim.cohort_id).join(
            LocalAuthority, Claim.local_authority_id == LocalAuthority.id
        )
        if search.local_authority_id is not None:
            from_area = from_area.where(LocalAuthority.id == search.local_authority_id)
        else:
            from_area = from_area.where(LocalAuthority.region_id == search.region_id)
        query = query.where(Cohort.id.in_(from_area))
    return query.order_by(Cohort.starts_on, Cohort.name, Cohort.id)


def places_left(
    session: Session, cohorts: list[Cohort], *, setting: Setting | None = None
) -> dict[int, int]:
    """Funded places each cohort could still give: the least room at any cap level.

    With a setting, a region quota covering the setting's region counts too. The places
    one setting may hold are not counted here: see ``places_setting_may_add``.
    """
    by_programme: dict[int, list[Cohort]] = {}
    for cohort in cohorts:
        by_programme.setdefault(cohort.programme_id, []).append(cohort)
    area = setting.local_authority_id if setting is not None else None
    left: dict[int, int] = {}
    for programme_cohorts in by_programme.values():
        capacity = Capacity.load(
            session,
            programme_cohorts[0].programme,
            cohort_ids=[c.id for c in programme_cohorts],
            setting_ids=[],
        )
        for cohort in programme_cohorts:
            left[cohort.id] = capacity.places_left(Placement(cohort.id, None, area))
    return left


def places_setting_may_add(
    session: Session, setting: Setting, programmes: list[Programme]
) -> dict[int, int]:
    """How many more funded places the setting may hold, on each programme that limits it."""
    held = dict(
        session.execute(
            sa.select(Claim.programme_id, sa.func.count())
            .where(Claim.setting_id == setting.id, held_at_setting())
            .group_by(Claim.programme_id)
        ).all()
    )
    return {
        p.id: max(0, p.places_per_setting - held.get(p.id, 0))
        for p in programmes
        if p.places_per_setting is not None
    }
