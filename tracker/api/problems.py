"""Errors as RFC 9457 problem details (application/problem+json), naming field and reason."""

import json
import logging
import math
import time
from http import HTTPStatus

import marshmallow as ma
import sqlalchemy as sa
from flask import current_app, request
from werkzeug.exceptions import HTTPException

from tracker.errors import DomainError
from tracker.extensions import db, limiter

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
# A body of a million unknown keys gets a short answer: the first few faults, each cut short.
MAX_ERRORS = 20
MAX_ERROR_TEXT = 200


class FieldErrorSchema(ma.Schema):
    field = ma.fields.String(
        required=True,
        metadata={"description": "The input at fault: a body field, query parameter or header"},
    )
    reason = ma.fields.String(required=True)


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details; ``errors`` names each field at fault and why."""

    type = ma.fields.String(required=True, metadata={"example": "about:blank"})
    title = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True)
    detail = ma.fields.String()
    errors = ma.fields.List(ma.fields.Nested(FieldErrorSchema))


class ApiProblem(Exception):
    """Raised anywhere in the API to answer with a problem; the handler renders it."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = [{"field": field, "reason": detail}] if field else []
        self.headers = headers or {}


def problem(
    status: int,
    detail: str | None = None,
    *,
    errors: list[dict] | None = None,
    headers: dict[str, str] | None = None,
):
    body: dict = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = [
            {key: _shorten(str(value)) for key, value in error.items()}
            for error in errors[:MAX_ERRORS]
        ]
        if len(errors) > MAX_ERRORS:
            body["detail"] = (
                f"{detail or HTTPStatus(status).phrase} ({len(errors)} faults; "
                f"the first {MAX_ERRORS} are listed)"
            )
    return current_app.response_class(
        json.dumps(body), status=status, mimetype=PROBLEM_JSON, headers=headers or {}
    )


def _shorten(text: str) -> str:
    return text if len(text) <= MAX_ERROR_TEXT else text[: MAX_ERROR_TEXT - 1] + "…"


def _field_errors(messages, prefix: str = ""):
    """Flatten webargs' nested messages ({location: {field: [reasons]}}) to field and reason."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = prefix if key == "_schema" else (f"{prefix}.{key}" if prefix else str(key))
            yield from _field_errors(value, name)
    elif isinstance(messages, list | tuple):
        for message in messages:
            yield from _field_errors(message, prefix)
    else:
        yield {"field": prefix or "body", "reason": str(messages)}


def _retry_after() -> str:
    current = limiter.current_limit
    seconds = current.window[0] - time.time() if current is not None else 60
    return str(max(1, math.ceil(seconds)))


def handle_http_exception(exc: HTTPException):
    headers = {
        key: value for key, value in exc.get_headers() if key.lower() not in ("content-type",)
    }
    errors = None
    data = getattr(exc, "data", None) or {}
    if "messages" in data:
        # webargs: {location: {field: [reasons]}}; the location is not part of the name.
        messages = data["messages"]
        errors = [
            error
            for location_messages in (messages.values() if isinstance(messages, dict) else [])
            for error in _field_errors(location_messages)
        ]
    if exc.code == 429:
        headers["Retry-After"] = _retry_after()
    if exc.code == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="api"'
    detail = exc.description if exc.code != 422 else "The request has fields that are not valid"
    return problem(exc.code or 500, detail, errors=errors, headers=headers)


def handle_api_problem(exc: ApiProblem):
    db.session.rollback()
    return problem(exc.status, exc.detail, errors=exc.errors, headers=exc.headers)


def handle_domain_error(exc: DomainError):
    db.session.rollback()
    errors = [{"field": exc.field or "body", "reason": exc.message}]
    return problem(422, exc.message, errors=errors)


def handle_integrity_error(exc: sa.exc.IntegrityError):
    db.session.rollback()
    logger.info("Request conflicted with a concurrent change: %s", exc.orig)
    return problem(409, "The request conflicts with a change made at the same time: send it again")


def handle_unstorable(exc: sa.exc.DataError):
    db.session.rollback()
    logger.warning(
        "The database refused a value in %s %s: %s", request.method, request.path, exc.orig
    )
    return problem(400, "A value sent cannot be stored: check it and try again")


def handle_unexpected(exc: Exception):
    db.session.rollback()
    logger.exception("Unexpected error answering %s %s", request.method, request.path)
    return problem(500, "Something went wrong: the error has been logged")


def register_handlers(blueprint) -> None:
    blueprint.register_error_handler(HTTPException, handle_http_exception)
    blueprint.register_error_handler(ApiProblem, handle_api_problem)
    blueprint.register_error_handler(DomainError, handle_domain_error)
    blueprint.register_error_handler(sa.exc.IntegrityError, handle_integrity_error)
    blueprint.register_error_handler(sa.exc.DataError, handle_unstorable)
    blueprint.register_error_handler(Exception, handle_unexpected)
