"""Input no record can hold is refused at the edge of every request, with a 4xx, never a 500.

Each form and schema checks its own fields and says which one is wrong; this is the net
beneath them, for whatever a person can type that reaches a route or the database:

- ids in addresses (``<int:...>``) beyond what the databases' INTEGER holds match no route
  (404), as an id that does not exist would;
- a part of an address with a NUL or of absurd length names nothing (404);
- a query or form value over ``MAX_FIELD_CHARS`` is refused (400);
- a JSON body over ``JSON_MAX_BYTES`` (413), or nested deeper than ``JSON_MAX_DEPTH``
  (400), is refused before anything parses it in earnest;
- a value the database itself refuses (PostgreSQL: a NUL in text, a string longer than its
  column, a number out of range) is a 400 rather than a 500, and a change that breaks a
  unique or other constraint no rule caught first a 409; both are logged, to be caught
  by a rule of their own.
"""

import json
import logging

import sqlalchemy as sa
from flask import Flask, current_app, request
from werkzeug.exceptions import BadRequest, Conflict, NotFound, RequestEntityTooLarge
from werkzeug.routing import IntegerConverter

logger = logging.getLogger(__name__)

# The largest value of a 32-bit INTEGER column (every id here), on SQLite and PostgreSQL.
MAX_ID = 2**31 - 1
# Far longer than any field of any form (the longest, a reminder's wording, allows 5,000).
MAX_FIELD_CHARS = 20_000
# Far longer than any code, token or name in an address.
MAX_PATH_PART_CHARS = 500
# No request the API documents comes near these.
JSON_MAX_BYTES = 1024 * 1024
JSON_MAX_DEPTH = 20


class InputRefused(BadRequest):
    """A 400 whose description is written for the person who sent the request."""

    tell_the_user = True


def digits_at_most(limit: int) -> str:
    """A regular expression matching the decimal numbers from 0 to ``limit``, and no others."""
    text = str(limit)
    width = len(text)
    alternatives = [rf"\d{{1,{width - 1}}}"] if width > 1 else []
    # Numbers as wide as the limit: the same first digits, then a smaller one, then any.
    for position, digit in enumerate(text):
        lowest = 1 if position == 0 else 0
        if int(digit) > lowest:
            rest = width - position - 1
            alternatives.append(
                f"{text[:position]}[{lowest}-{int(digit) - 1}]" + (rf"\d{{{rest}}}" if rest else "")
            )
    alternatives.append(text)
    return "(?:" + "|".join(alternatives) + ")"


class IdConverter(IntegerConverter):
    """``<int:...>`` for ids: a number the database's INTEGER cannot hold matches no route.

    Refused by the pattern, not after it: a route whose pattern matches but whose value is
    refused would answer 405 when another method's route has the same address.
    """

    regex = digits_at_most(MAX_ID)

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=False)


def json_depth(value) -> int:
    """How deeply arrays and objects nest in a parsed JSON value (a scalar is 0), iteratively."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


def _check_path() -> None:
    for value in (request.view_args or {}).values():
        if isinstance(value, str) and ("\x00" in value or len(value) > MAX_PATH_PART_CHARS):
            raise NotFound()


def _check_fields() -> None:
    for source in (request.args, request.form):
        for key, values in source.lists():
            if len(key) > MAX_FIELD_CHARS or any(len(v) > MAX_FIELD_CHARS for v in values):
                raise InputRefused(
                    f"A value sent is longer than {MAX_FIELD_CHARS:,} characters: "
                    "nothing has been saved"
                )


def _check_json() -> None:
    if request.content_length is not None and request.content_length > JSON_MAX_BYTES:
        raise RequestEntityTooLarge(
            f"The request body is over {JSON_MAX_BYTES // 1024} KB: send less at a time"
        )
    # Also limits a body sent without a length (chunked) as it is read.
    request.max_content_length = JSON_MAX_BYTES
    body = request.get_data(cache=True)
    try:
        parsed = json.loads(body)
    except RecursionError:
        parsed = None
        depth = JSON_MAX_DEPTH + 1
    except ValueError:
        return  # not JSON at all: the schema answers that, naming the body
    else:
        depth = json_depth(parsed)
    if depth > JSON_MAX_DEPTH:
        raise InputRefused(f"The JSON body nests more than {JSON_MAX_DEPTH} levels deep")


def guard_request() -> None:
    """Refuse, before any view runs, input that no form, schema or record could take."""
    if request.endpoint == "static":
        return
    _check_path()
    if request.method not in ("GET", "HEAD", "OPTIONS") and request.is_json:
        _check_json()
    _check_fields()


def refuse_unstorable(error: sa.exc.DataError):
    """Answer a value the database refused to hold as the client's error, not a crash."""
    from tracker.extensions import db

    db.session.rollback()
    logger.warning(
        "The database refused a value in %s %s: %s", request.method, request.path, error.orig
    )
    return current_app.handle_http_exception(
        InputRefused("A value sent cannot be stored: check it and try again")
    )


def refuse_conflict(error: sa.exc.IntegrityError):
    """Answer a change that clashed with a record saved already (or at the same moment) with
    a 409: the rule that should have said so first was missing, and it is logged to add."""
    from tracker.extensions import db

    db.session.rollback()
    logger.warning(
        "A change clashed with a saved record in %s %s: %s",
        request.method,
        request.path,
        error.orig,
    )
    return current_app.handle_http_exception(
        Conflict(
            "What you sent clashes with a record saved already, or saved at the same moment. "
            "Nothing has been saved: go back, check what you entered and try again."
        )
    )


def init_app(app: Flask) -> None:
    """Use the bounded id converter for ``<int:...>`` and guard every request."""
    # Before any route is added: a rule takes its converter when it is added.
    app.url_map.converters["int"] = IdConverter
    app.before_request(guard_request)
    app.register_error_handler(sa.exc.DataError, refuse_unstorable)
    app.register_error_handler(sa.exc.IntegrityError, refuse_conflict)
