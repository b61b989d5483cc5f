"""Lists a page at a time: flask-smorest's pagination, answered in the API's list body.

``Blueprint.paginate`` reads, checks and documents ``page`` and ``page_size`` and writes the
``X-Pagination`` header; ``list_page`` answers the page as every list has always been
answered, ``{"data": [...], "links": {"next": ...}, "meta": {page, page_size, total}}``.
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from flask import request, url_for
from flask_smorest import Blueprint
from flask_smorest.pagination import PaginationParameters

from tracker.database import count_rows
from tracker.extensions import db

PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
# The query parameters Blueprint.paginate reads (and the filter schemas leave to it).
PAGING_PARAMETERS = ("page", "page_size")


class PagedBlueprint(Blueprint):
    """A blueprint whose paged lists give 25 items unless asked for more, and at most 100."""

    DEFAULT_PAGINATION_PARAMETERS = {
        "page": 1,
        "page_size": PAGE_SIZE,
        "max_page_size": MAX_PAGE_SIZE,
    }


def list_page(
    query: sa.Select, pagination: PaginationParameters, present: Callable[[Sequence], list]
) -> dict:
    """Answer one page of a query, with the path of the next page when there is one."""
    total = count_rows(db.session, query)
    pagination.item_count = total  # flask-smorest's X-Pagination header is made from it
    rows: Sequence = []
    # A page past the end is empty: asking for it never puts a vast offset to the database.
    if pagination.first_item < total:
        rows = db.session.scalars(
            query.limit(pagination.page_size).offset(pagination.first_item)
        ).all()
    next_link = None
    if pagination.first_item + pagination.page_size < total:
        # A path, not a whole address: one built from the Host header could point anywhere.
        next_link = url_for(
            request.endpoint, **{**request.args.to_dict(), "page": pagination.page + 1}
        )
    return {
        "data": present(rows),
        "links": {"next": next_link},
        "meta": {"page": pagination.page, "page_size": pagination.page_size, "total": total},
    }
