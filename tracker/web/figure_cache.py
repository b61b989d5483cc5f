"""The dashboards' rendered figures, kept between requests under the version of the figures.

Working the figures out reads a few hundred kept counts (``tracker.figures``), but laying
them out as a page's tables and charts costs a worker far more than most pages. So the
rendered main content is kept in the app's cache (Flask-Caching: Redis shared by every
worker in production, each process's memory in development) under a key naming the page,
its filters, the viewer's role and today's date, together with the version of the figures
it shows and when it was worked out.

The version is the sum of the programmes' ledger sequences: every ledger operation (a
claim, withdrawal, deferral, move, declaration or promotion) bumps its programme's, under
the programme's lock, before it changes any place. Writes that move no place (sign-ins,
reminders, audit rows) leave it alone.

When the version has moved, the kept part is worked out again, except that:

* a part worked out less than ``FIGURES_MAX_AGE_SECONDS`` ago is shown as it is, so a busy
  hour of claims costs one working-out every so many seconds, not one per claim (the page
  says when its figures were worked out; 0 works them out again after every change);
* while one request is working a part out, the others show the part kept before, rather
  than all working out the same figures at once.

``CACHE_DEFAULT_TIMEOUT`` bounds how long a part is kept at all.
"""

import hashlib
import time
from collections.abc import Callable, Hashable
from typing import NamedTuple

import sqlalchemy as sa
from flask import current_app
from markupsafe import Markup

from tracker.extensions import cache, db
from tracker.models import Programme

# How long one request may take to work a part out before another may start again.
WORKING_OUT_SECONDS = 30


def clock() -> float:
    """Seconds since the epoch: shared by every worker (tests put their own in place)."""
    return time.time()


class Kept(NamedTuple):
    version: int
    worked_out_at: float
    part: str


def figures_version() -> int:
    """A number that moves whenever a ledger operation is committed: the sum of the
    programmes' ledger sequences."""
    return int(db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Programme.ledger_seq), 0))))


def kept_part(
    key: tuple[Hashable, ...], render: Callable[[float], str], *, version: int | None = None
) -> Markup:
    """The part kept under ``key`` if it is current enough, else ``render(now)``'s, kept.

    ``render`` is given the time it works the figures out at, for the page to say.
    ``version``: the figures' version when the caller has read the programmes already.
    """
    if version is None:
        version = figures_version()
    name = hashlib.sha256(repr(key).encode()).hexdigest()
    kept = _kept(cache.get(name))
    now = clock()
    if kept is not None:
        max_age = current_app.config.get("FIGURES_MAX_AGE_SECONDS", 0)
        if kept.version == version or now - kept.worked_out_at < max_age:
            return _markup(kept.part)
        if not cache.add(f"{name}:working", True, timeout=WORKING_OUT_SECONDS):
            # Another request is working the new figures out: show these meanwhile.
            return _markup(kept.part)
    try:
        part = render(now)
        cache.set(name, tuple(Kept(version, now, part)))
    finally:
        if kept is not None:
            cache.delete(f"{name}:working")
    return _markup(part)


def _kept(value) -> Kept | None:
    try:
        return Kept(*value) if value is not None else None
    except TypeError:  # kept by an earlier release in another shape
        return None


def _markup(part: str) -> Markup:
    return Markup(part)  # noqa: S704  (a rendered template, escaped as it was made)
