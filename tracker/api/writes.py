"""The edge of every write: one commit per request, and safe retries with Idempotency-Key."""

import functools
import json

import sqlalchemy as sa
from flask import current_app, request

from tracker import idempotency
from tracker.api.auth import current_token
from tracker.api.problems import ApiProblem
from tracker.errors import DomainError
from tracker.extensions import db
from tracker.models import Cohort, CohortStatus

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_PARAMETER = {
    "in": "header",
    "name": IDEMPOTENCY_HEADER,
    "required": False,
    "description": (
        "Any unique string (a UUID is best). A retry with the same key and the same body "
        "gets the first answer again and changes nothing; the same key with another body "
        "or path is refused with 422. Only successful answers are kept."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": idempotency.MAX_KEY_LENGTH},
}
# Headers kept with an answer, so a replay carries them too.
KEPT_HEADERS = ("Location",)


def _idempotency_key() -> str | None:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None or request.method != "POST":
        return None
    if not 1 <= len(key) <= idempotency.MAX_KEY_LENGTH:
        raise ApiProblem(
            422,
            f"An Idempotency-Key must be 1 to {idempotency.MAX_KEY_LENGTH} characters",
            field=IDEMPOTENCY_HEADER,
        )
    return key


def _replay(record, fingerprint: str):
    if not idempotency.is_same_request(
        record, method=request.method, path=request.path, fingerprint=fingerprint
    ):
        raise ApiProblem(
            422,
            "This Idempotency-Key was already used for a different request",
            field=IDEMPOTENCY_HEADER,
        )
    response = current_app.response_class(
        json.dumps(record.response_body),
        status=record.status_code,
        mimetype="application/json",
        headers=record.response_headers,
    )
    response.headers["Idempotent-Replayed"] = "true"
    return response


def refuse_reopening(cohort: Cohort, status: str | None) -> None:
    """A cancelled cohort stays cancelled: its claims were moved or withdrawn to cancel it."""
    # The ledger's update_cohort does not refuse this on this branch; once it does, as it
    # does on main (cohorts.NEXT_STATUSES, with these words), this check can go.
    if cohort.status == CohortStatus.CANCELLED and status not in (None, CohortStatus.CANCELLED):
        raise ApiProblem(422, f"A cancelled cohort cannot be made {status}", field="status")


def write(view):
    """Commit what the view changed, once; with an Idempotency-Key, answer a retry as before."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        session = db.session
        key = _idempotency_key()
        fingerprint = idempotency.request_fingerprint(request.get_data())
        if key is not None:
            earlier = idempotency.find_answer(session, current_token(), key)
            if earlier is not None:
                return _replay(earlier, fingerprint)
        try:
            response = view(*args, **kwargs)
            if key is not None and 200 <= response.status_code < 300:
                idempotency.keep_answer(
                    session,
                    current_token(),
                    key,
                    method=request.method,
                    path=request.path,
                    fingerprint=fingerprint,
                    status_code=response.status_code,
                    body=response.get_json(),
                    headers={h: response.headers[h] for h in KEPT_HEADERS if h in response.headers},
                )
            session.commit()
        except (DomainError, sa.exc.IntegrityError):
            session.rollback()
            # The same request may have been answered meanwhile (a retry sent while the first
            # was still running): give its answer rather than this one's refusal.
            if key is not None:
                earlier = idempotency.find_answer(session, current_token(), key)
                if earlier is not None:
                    return _replay(earlier, fingerprint)
            raise
        except BaseException:
            session.rollback()
            raise
        return response

    return wrapper
