"""The migrations build exactly the schema the models describe, with the reference data."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tracker.extensions import db
from tracker.models import LocalAuthority, Milestone, Programme, Region


def test_models_and_migrations_agree(app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)

    assert differences == []


def test_migrations_load_every_local_authority_with_its_region(session):
    las = session.scalars(sa.select(LocalAuthority)).all()

    assert len(las) == 153
    assert session.scalar(sa.select(sa.func.count()).select_from(Region)) == 9
    by_code = {la.la_code: la for la in las}
    assert by_code["370"].name == "Barnsley"
    assert (by_code["370"].ons_code, by_code["370"].former_ons_code) == ("E08000038", "E08000016")
    assert by_code["373"].former_ons_code == "E08000019"
    assert by_code["420"].region.name == "South West"


def test_migrations_load_the_three_programmes_and_their_milestones(session):
    milestones = {
        p.code: [m.code for m in p.milestones] for p in session.scalars(sa.select(Programme))
    }

    assert milestones == {
        "npq-senco": ["started", "retained-1", "retained-2", "completed"],
        "ey-senco-l3": ["started", "mid-point", "portfolio-submitted", "completed"],
        "ep-doctorate": ["year-1", "year-2", "year-3"],
    }
    assert session.scalar(sa.select(sa.func.count()).select_from(Milestone)) == 11
