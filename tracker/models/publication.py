"""The public uptake figures as published: one snapshot a week, never computed live."""

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tracker.models.base import Base


class PublishedSnapshot(Base):
    """The public page's tables as published, already rounded and with small counts hidden.

    At most one per week (``week_of``, the Monday of the week in London, is unique), so
    publishing again in the same week changes nothing that a reader could compare.
    """

    __tablename__ = "published_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    week_of: Mapped[date] = mapped_column(unique=True)
    published_dt: Mapped[datetime]
    # The day (Europe/London) whose figures the snapshot holds.
    figures_on: Mapped[date]
    # Who published it: "the weekly schedule", "command line", or a DfE user's email address.
    published_by: Mapped[str] = mapped_column(sa.String(320))
    # What the page shows, exactly: the rule, headings, definitions and each programme's rows.
    figures: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
