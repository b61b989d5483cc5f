"""Parts of pages that take many queries to work out and are asked for often: the dashboards.

A part is kept, rendered, in the worker's memory with the version of the data it was made
from, and served again only while both hold:

- the data has not changed since: the version is the newest ``audit_events`` id, and every
  change to the service's records writes an audit row in its own transaction (see
  ``tracker.audit``), so a committed change moves the version and the next request works
  the figures out again;
- it is younger than ``PAGE_CACHE_SECONDS`` (60 by default): a backstop for what the
  version cannot see, such as a transaction that took a lower id but committed after a
  higher one. So a change shows at once, and always within a minute.

Each worker process keeps its own parts (at most ``PAGE_CACHE_ENTRIES``, the least
recently used go first), so nothing here needs another service to run. Only parts that
are the same for everyone allowed to see them are kept: the key names whatever they
depend on (the page, its filters, the day, the viewer's role).
"""

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

import sqlalchemy as sa
from flask import current_app
from markupsafe import Markup

from tracker.extensions import db
from tracker.models import AuditEvent


class RenderedParts:
    """A bounded, thread-safe store of rendered parts, each with its data version and age."""

    def __init__(self, max_age: float, max_entries: int) -> None:
        self.max_age = max_age
        self.max_entries = max_entries
        self._parts: OrderedDict[Hashable, tuple[int | None, float, Markup]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, version: int | None) -> Markup | None:
        with self._lock:
            found = self._parts.get(key)
            if found is None:
                return None
            made_from, made_at, part = found
            if made_from != version or time.monotonic() - made_at >= self.max_age:
                del self._parts[key]
                return None
            self._parts.move_to_end(key)
            return part

    def put(self, key: Hashable, version: int | None, part: Markup) -> None:
        if self.max_age <= 0:
            return
        with self._lock:
            self._parts[key] = (version, time.monotonic(), part)
            self._parts.move_to_end(key)
            while len(self._parts) > self.max_entries:
                self._parts.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._parts.clear()


def data_version() -> int | None:
    """The newest audit row's id: it moves whenever a change to the records is committed."""
    return db.session.scalar(sa.select(sa.func.max(AuditEvent.id)))


def parts() -> RenderedParts:
    app = current_app._get_current_object()
    store = app.extensions.get("page_cache")
    if store is None:
        store = app.extensions.setdefault(
            "page_cache",
            RenderedParts(
                max_age=float(app.config["PAGE_CACHE_SECONDS"]),
                max_entries=int(app.config.get("PAGE_CACHE_ENTRIES", 200)),
            ),
        )
    return store


def cached_part(key: Hashable, render: Callable[[], str]) -> Markup:
    """The part kept under ``key`` if the data has not changed since, else ``render()``'s."""
    store = parts()
    version = data_version()
    part = store.get(key, version)
    if part is None:
        part = Markup(render())  # noqa: S704  (a rendered template, escaped as it was made)
        store.put(key, version, part)
    return part
