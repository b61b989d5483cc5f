"""Error pages in GOV.UK style, for every HTTP error the pages can meet."""

import math

from flask import Blueprint, render_template
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from tracker.api import is_api_request
from tracker.extensions import db

bp = Blueprint("errors", __name__)

# Codes with a page of their own; any other error gets the general page.
PAGES = {
    400: "errors/400.html",
    403: "errors/403.html",
    404: "errors/404.html",
    405: "errors/405.html",
    429: "errors/429.html",
    500: "errors/500.html",
}


# Registered for HTTPException rather than for each code: Flask prefers an app handler for
# a code over a blueprint's handler for HTTPException, which would take the API's errors.
@bp.app_errorhandler(HTTPException)
def http_error(error: HTTPException):
    if is_api_request():
        # This handler is the application's one for HTTPException: the API answers in kind.
        from tracker.api.problems import handle_http_exception

        return handle_http_exception(error)
    code = error.code or 500
    if code < 400:
        return error
    context: dict = {
        "error": error,
        "csrf_failed": isinstance(error, CSRFError),
        # What was wrong with the request, where it was written for the person who sent it.
        "reason": error.description if getattr(error, "tell_the_user", False) else None,
    }
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    if code >= 500:
        # The request may have died inside a transaction, or the database may be down: show
        # the page without anything that needs it (who is signed in, their navigation).
        db.session.rollback()
        context["minimal_layout"] = True
    if isinstance(error, RateLimitExceeded):
        wait_seconds = error.limit.limit.get_expiry()
        context["wait_minutes"] = math.ceil(wait_seconds / 60)
        headers["Retry-After"] = str(wait_seconds)
    return render_template(PAGES.get(code, "errors/other.html"), **context), code, headers
