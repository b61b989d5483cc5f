"""The dashboards' rendered figures, kept between requests under the version of the figures.

Working the figures out reads a few hundred kept counts (``tracker.figures``), but laying
them out as a page's tables and charts costs a worker far more than most pages. So the
rendered main content is kept in the app's cache (Flask-Caching: Redis shared by every
worker in production, each process's memory in development) under a key naming the
version of the figures, the page, its filters, the viewer's role and today's date.

The version is the sum of the programmes' ledger sequences: every ledger operation (a
claim, withdrawal, deferral, move, declaration or promotion) bumps its programme's, under
the programme's lock, before it changes any place. So a change moves the key and shows on
the next view, while writes that move no place (sign-ins, reminders, audit rows) leave it
alone. ``CACHE_DEFAULT_TIMEOUT`` bounds how long a part is kept, for a change made without
a ledger operation.
"""

import hashlib
from collections.abc import Callable, Hashable

import sqlalchemy as sa
from markupsafe import Markup

from tracker.extensions import cache, db
from tracker.models import Programme


def figures_version() -> int:
    """A number that moves whenever a ledger operation is committed."""
    return int(db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Programme.ledger_seq), 0))))


def kept_part(key: tuple[Hashable, ...], render: Callable[[], str]) -> Markup:
    """The part kept under ``key`` at the current figures version, else ``render()``'s, kept."""
    name = hashlib.sha256(repr((figures_version(), *key)).encode()).hexdigest()
    part = cache.get(name)
    if part is None:
        part = render()
        cache.set(name, part)
    return Markup(part)  # noqa: S704  (a rendered template, escaped as it was made)
