"""Finding open cohorts to claim places in, and how many funded places each has left.

Places left are read with the ledger's own counts (``places.Capacity``), a handful of
GROUP BY queries per programme whatever the number of cohorts shown.
"""

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from tracker.access import CLAIM_AREA, claims_in_area
from tracker.models import Claim, Cohort, CohortStatus, LocalAuthority, Programme, Setting
from tracker.places import SETTING, WAITING_REASONS, Capacity, Placement, held_at_setting


@dataclass(frozen=True)
class CohortSearch:
    """What a setting is looking for; None means any."""

    programme_ids: tuple[int, ...] | None = None
    region_id: int | None = None
    local_authority_id: int | None = None
    starts_from: date | None = None


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
        from_area = sa.select(Claim.cohort_id)
        if search.local_authority_id is not None:
            from_area = from_area.where(claims_in_area(search.local_authority_id))
        else:
            from_area = from_area.join(LocalAuthority, LocalAuthority.id == CLAIM_AREA).where(
                LocalAuthority.region_id == search.region_id
            )
        query = query.where(Cohort.id.in_(from_area))
    return query.order_by(Cohort.starts_on, Cohort.name, Cohort.id)


@dataclass(frozen=True)
class Availability:
    """Whether a claim made now by one setting in one cohort would be funded, and if not why.

    ``places_left``: funded places the cohort could still give (the least room at any cap
    but the setting's own limit); ``blocker``: the ledger's cap level with no room for this
    setting's claim (None: a claim now is funded), as the ledger would record it on the claim.
    """

    places_left: int
    blocker: str | None

    @property
    def reason(self) -> str | None:
        """Why a claim would wait, in the ledger's words."""
        return WAITING_REASONS[self.blocker] if self.blocker else None

    @property
    def setting_is_full(self) -> bool:
        return self.blocker == SETTING


def availability(
    session: Session, cohorts: list[Cohort], *, setting: Setting
) -> dict[int, Availability]:
    """What a claim by ``setting`` in each cohort would get now, read with the ledger's
    counts (``places.Capacity``): a few GROUP BY queries per programme, however many cohorts.
    A region quota covering the setting's region counts, and so do the places the setting
    may hold at once."""
    by_programme: dict[int, list[Cohort]] = {}
    for cohort in cohorts:
        by_programme.setdefault(cohort.programme_id, []).append(cohort)
    found: dict[int, Availability] = {}
    for programme_cohorts in by_programme.values():
        capacity = Capacity.load(
            session,
            programme_cohorts[0].programme,
            cohort_ids=[c.id for c in programme_cohorts],
            setting_ids=[setting.id],
        )
        for cohort in programme_cohorts:
            placement = Placement(cohort.id, setting.id, setting.local_authority_id)
            found[cohort.id] = Availability(
                capacity.places_left(placement), capacity.blocker(placement)
            )
    return found


def places_held_by_setting(
    session: Session, setting: Setting, programmes: list[Programme]
) -> dict[int, int]:
    """Funded places the setting holds now, on each programme (absent: none)."""
    return dict(
        session.execute(
            sa.select(Claim.programme_id, sa.func.count())
            .where(
                Claim.setting_id == setting.id,
                Claim.programme_id.in_([p.id for p in programmes]),
                held_at_setting(),
            )
            .group_by(Claim.programme_id)
        ).all()
    )


def places_setting_may_add(
    session: Session, setting: Setting, programmes: list[Programme]
) -> dict[int, int]:
    """How many more funded places the setting may hold, on each programme that limits it."""
    held = places_held_by_setting(session, setting, programmes)
    return {
        p.id: max(0, p.places_per_setting - held.get(p.id, 0))
        for p in programmes
        if p.places_per_setting is not None
    }
